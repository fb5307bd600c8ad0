"""A partly disputed invoice: only the disputed amount is excluded, the undisputed part stays
insured and counts toward the notification, the claim and the indemnity (DOMAIN.md).

A 6,000 due D (2025-03-31) and B 4,000 due D+30 under an insurer's cover of 8,000; the buyer
disputes 2,500 of A on D+10.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from arshield_insurance_claims.domain import events as ev
from arshield_insurance_claims.domain.commands import RaiseDispute, ResolveDispute
from arshield_insurance_claims.domain.cover import assess, exposure

from .harness import Buyer, D, invoice

pytestmark = pytest.mark.unit


def days(n: int) -> timedelta:
    return timedelta(days=n)


def partly_disputed() -> Buyer:
    buyer = Buyer()
    buyer.cover("8000", date(2025, 1, 1))
    buyer.track(invoice("A", "6000", due_on=D), invoice("B", "4000", due_on=D + days(30)))
    buyer.do(RaiseDispute("A", "DSP-1", Decimal(2500)), D + days(10))
    return buyer


def test_only_the_disputed_amount_is_uninsured() -> None:
    buyer = partly_disputed()
    a, b = assess(buyer.state, buyer.policy)
    # A: 6,000 outstanding, 2,500 disputed, 3,500 insured; B: 4,000 within the 4,500 left
    assert (a.invoice_id, a.insured, a.reasons) == ("A", True, ())
    assert (a.outstanding, a.disputed, a.insured_amount) == (6000, 2500, 3500)
    assert (b.invoice_id, b.insured_amount, b.disputed) == ("B", 4000, 0)
    split = exposure(buyer.state, buyer.policy)
    assert (split.outstanding, split.insured, split.uninsured) == (10000, 7500, 2500)


def test_the_undisputed_part_counts_toward_notification_claim_and_indemnity() -> None:
    buyer = partly_disputed()
    buyer.days(D, D + days(181))
    # A stays the oldest insured invoice: its deadlines run from D, not from B's D+30
    ((on, stop),) = buyer.of(ev.StopSupplyRequired)
    assert on == stop.stop.required_on == D + days(60)
    assert stop.stop.invoice_id == "A"
    ((_, notified),) = buyer.of(ev.OverdueNotified)
    assert notified.notification.invoice_ids == ("A", "B")
    assert notified.notification.amount == Decimal(10000)  # the insurer hears of all of it
    assert notified.notification.deadline_on == D + days(75)
    ((filed_on, filed),) = buyer.of(ev.ClaimFiled)
    claim = filed.claim
    assert filed_on == claim.date_of_loss == D + days(180)
    assert claim.invoice_ids == ("A", "B")
    assert claim.insured_outstanding == Decimal(7500)  # 3,500 of A + 4,000 of B
    assert claim.claimed_indemnity == Decimal("6750.00")  # min(7,500, 8,000) x 90 %


def test_disputes_add_up_and_a_resolved_one_returns_its_amount_to_cover() -> None:
    buyer = partly_disputed()
    buyer.do(RaiseDispute("A", "DSP-2", Decimal(1000)))
    a, b = assess(buyer.state, buyer.policy)
    assert (a.disputed, a.insured_amount, b.insured_amount) == (3500, 2500, 4000)
    buyer.do(ResolveDispute("A", "DSP-1"))
    a, b = assess(buyer.state, buyer.policy)
    # 1,000 still disputed: A insured for 5,000, B for the 3,000 the cover leaves
    assert (a.disputed, a.insured_amount, b.insured_amount) == (1000, 5000, 3000)
    buyer.do(ResolveDispute("A", "DSP-2"))
    assert not buyer.state.invoices["A"].disputed
    a, _ = assess(buyer.state, buyer.policy)
    assert (a.disputed, a.insured_amount) == (0, 6000)


def test_a_dispute_of_the_whole_outstanding_or_without_an_amount_leaves_nothing_insured() -> None:
    buyer = partly_disputed()
    buyer.do(RaiseDispute("B", "DSP-3", Decimal(4500)))  # more than B's 4,000
    buyer.do(RaiseDispute("A"))  # no amount: the whole invoice
    a, b = assess(buyer.state, buyer.policy)
    assert (a.reasons, a.disputed, a.insured_amount) == (("disputed",), 6000, 0)
    assert (b.reasons, b.disputed, b.insured_amount) == (("disputed",), 4000, 0)


def test_a_reissued_invoice_keeps_its_open_disputes() -> None:
    buyer = partly_disputed()
    buyer.track(invoice("A", "6000", due_on=D))
    assert buyer.state.invoices["A"].disputes == {"DSP-1": Decimal(2500)}
    a, _ = assess(buyer.state, buyer.policy)
    assert a.insured_amount == 3500
