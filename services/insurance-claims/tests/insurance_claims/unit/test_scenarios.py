"""The issue's hand-computed scenarios on the pure domain, every date and amount asserted.

The oldest invoice A is due D = 2025-03-31 with the policy's defaults (MEP 60 days, notification
15 days after MEP expiry, waiting period the later of 180 days after the due date and 90 days
after MEP expiry, indemnity 90 %, maximum credit period 120 days, reduction notice 30 days).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from arshield_insurance_claims.domain import events as ev
from arshield_insurance_claims.domain.commands import (
    AggregateBudget,
    InsuranceError,
    NoteInsolvency,
    RaiseDispute,
    ReceivePayment,
    SettleClaim,
)
from arshield_insurance_claims.domain.cover import assess, cover_amount, exposure
from arshield_insurance_claims.domain.day import deadlines

from .harness import Buyer, D, invoice, policy

pytestmark = pytest.mark.unit


def days(n: int) -> timedelta:
    return timedelta(days=n)


def protracted_default() -> Buyer:
    """A 6,000 due D and B 4,000 due D+30 under an insurer's cover of 8,000; 1,000 paid on
    2025-05-15 (before any default) and 500 on 2025-07-01 (after the notification)."""
    buyer = Buyer()
    buyer.cover("8000", date(2025, 1, 1))
    buyer.track(invoice("A", "6000", due_on=D), invoice("B", "4000", due_on=D + days(30)))
    buyer.days(D, date(2025, 5, 14))
    buyer.do(ReceivePayment("P1", Decimal(1000), "EUR", date(2025, 5, 15)), date(2025, 5, 15))
    buyer.days(date(2025, 5, 15), date(2025, 6, 30))
    buyer.do(ReceivePayment("P2", Decimal(500), "EUR", date(2025, 7, 1)), date(2025, 7, 1))
    buyer.days(date(2025, 7, 1), date(2025, 10, 1))
    return buyer


def test_stop_supply_at_mep_expiry_d_plus_60() -> None:
    buyer = protracted_default()
    ((on, stop),) = buyer.of(ev.StopSupplyRequired)
    assert on == stop.stop.required_on == D + days(60) == date(2025, 5, 30)
    assert stop.stop.reason == "maximum_extension_period_expired"
    assert stop.stop.invoice_id == "A"


def test_notification_at_mep_expiry_due_by_d_plus_75() -> None:
    buyer = protracted_default()
    ((_, notified),) = buyer.of(ev.OverdueNotified)
    n = notified.notification
    assert n.notified_on == date(2025, 5, 30)
    assert n.deadline_on == D + days(75) == date(2025, 6, 14)
    assert n.in_time
    assert notified.forfeited == ()
    assert n.invoice_ids == ("A", "B")  # both past due on 2025-05-30
    assert n.amount == Decimal(9000)  # 10,000 less the 1,000 paid to A on 2025-05-15
    assert n.oldest_due_on == D


def test_claim_at_the_later_of_d_plus_180_and_mep_plus_90_with_indemnity_90_percent() -> None:
    buyer = protracted_default()
    ((on, filed),) = buyer.of(ev.ClaimFiled)
    claim = filed.claim
    # D+180 = 2025-09-27 is later than MEP expiry + 90 = 2025-08-28
    assert claim.date_of_loss == claim.filed_on == on == D + days(180) == date(2025, 9, 27)
    assert claim.ground == "protracted_default"
    # payments before the date of loss went to the oldest invoice: A 6,000 - 1,000 - 500
    assert buyer.state.invoices["A"].outstanding == Decimal(4500)
    assert buyer.state.invoices["B"].outstanding == Decimal(4000)
    # A 4,500 insured in full, B 3,500 within what the 8,000 cover leaves
    assert claim.insured_outstanding == Decimal(8000)
    assert claim.total_outstanding == Decimal(8500)
    assert claim.cover == Decimal(8000)
    assert claim.claimed_indemnity == Decimal("7200.00")  # 90 % of min(8,000, 8,000)
    assert claim.invoice_ids == ("A", "B")
    refs = [e.ref for e in claim.evidence]
    assert refs[:2] == ["invoice:N-A", "invoice:N-B"]
    assert refs[-1].startswith("notification:ntf_")


def test_payment_before_the_loss_is_oldest_first_and_after_it_pro_rata() -> None:
    buyer = protracted_default()
    ((_, before),) = buyer.of(ev.RecoveryAllocated)  # P1 came before any default: no recovery
    assert before.recovery.method == "oldest_first"
    assert before.recovery.to_insured == Decimal(500)
    buyer.do(ReceivePayment("P3", Decimal(850), "EUR", date(2025, 10, 10)), date(2025, 10, 10))
    after = buyer.of(ev.RecoveryAllocated)[-1][1].recovery
    assert after.method == "pro_rata"
    assert after.claim_id == buyer.state.claim.claim_id  # type: ignore[union-attr]
    # the insurer bears 7,200 of the 8,500 lost: 850 x 7,200 / 8,500
    assert after.to_insurer == Decimal("720.00")
    assert after.to_insured == Decimal("130.00")


def test_claim_outcome_has_one_effect_and_a_contradiction_is_refused() -> None:
    buyer = protracted_default()
    claim_id = buyer.state.claim.claim_id  # type: ignore[union-attr]
    paid = SettleClaim(claim_id, "paid", Decimal("7200.00"), date(2025, 10, 20))
    assert len(buyer.do(paid)) == 1
    assert buyer.do(paid) == []
    assert buyer.state.claim.status == "paid"  # type: ignore[union-attr]
    with pytest.raises(InsuranceError, match="already settled"):
        buyer.do(SettleClaim(claim_id, "rejected", Decimal(0), date(2025, 10, 21), "late"))


def test_deadline_worklist_for_the_oldest_invoice() -> None:
    buyer = Buyer()
    buyer.cover("8000", date(2025, 1, 1))
    buyer.track(invoice("A", "6000", due_on=D))
    buyer.days(D, D + days(10))
    items = {d.kind: d for d in deadlines(buyer.state, buyer.policy)}
    assert items["stop_supply"].due_on == date(2025, 5, 30)
    assert items["overdue_notification"].due_on == date(2025, 6, 14)
    assert items["collection_handover"].due_on == date(2025, 6, 29)
    assert items["claim"].due_on == date(2025, 9, 27)
    assert items["claim"].status(D + days(10)) == "upcoming"
    assert items["claim"].status(date(2025, 9, 28)) == "missed"


def test_a_reduction_notified_on_n_applies_to_deliveries_from_n_plus_30() -> None:
    buyer = Buyer()
    buyer.cover("10000", date(2025, 1, 1))
    n = date(2025, 3, 1)
    (reduced,) = buyer.cover("4000", n, decision="reduced")
    assert isinstance(reduced, ev.CoverRecorded)
    assert reduced.record.effective_on == n + days(30) == date(2025, 3, 31)
    assert reduced.previous == Decimal(10000)
    covers = buyer.state.covers
    assert cover_amount(covers, date(2025, 3, 30)) == Decimal(10000)
    assert cover_amount(covers, date(2025, 3, 31)) == Decimal(4000)
    # bitemporal: before the notice nobody knew of the reduction
    assert cover_amount(covers, date(2025, 3, 31), known_on=date(2025, 2, 28)) == Decimal(10000)
    buyer.track(
        invoice("OLD", "3000", due_on=date(2025, 5, 29), delivered_on=date(2025, 3, 30)),
        invoice("NEW", "3000", due_on=date(2025, 5, 30), delivered_on=date(2025, 3, 31)),
    )
    by_id = {a.invoice_id: a for a in assess(buyer.state, buyer.policy)}
    assert by_id["OLD"].cover_on_delivery == Decimal(10000)
    assert by_id["OLD"].insured_amount == Decimal(3000)
    assert by_id["NEW"].cover_on_delivery == Decimal(4000)
    assert by_id["NEW"].insured_amount == Decimal(1000)  # 4,000 less the 3,000 already insured
    assert exposure(buyer.state, buyer.policy).uninsured == Decimal(2000)


def test_an_invoice_with_150_day_terms_is_uninsured() -> None:
    buyer = Buyer()
    buyer.cover("50000", date(2025, 1, 1))
    buyer.track(
        invoice("LONG", "5000", due_on=date(2025, 7, 30), terms=150),
        invoice("OK", "5000", due_on=date(2025, 5, 1), terms=120),
    )
    by_id = {a.invoice_id: a for a in assess(buyer.state, buyer.policy)}
    assert not by_id["LONG"].insured
    assert by_id["LONG"].reasons == ("terms_beyond_max_credit_period",)
    assert by_id["LONG"].insured_amount == 0
    assert by_id["OK"].insured
    assert by_id["OK"].insured_amount == Decimal(5000)


def test_disputed_and_after_stop_supply_deliveries_are_uninsured() -> None:
    buyer = Buyer()
    buyer.cover("50000", date(2025, 1, 1))
    buyer.track(invoice("A", "1000", due_on=D))
    buyer.days(D, D + days(60))
    buyer.track(
        invoice("LATE", "1000", due_on=D + days(120), delivered_on=D + days(61)),
        invoice("DISPUTED", "1000", due_on=D + days(30)),
    )
    buyer.do(RaiseDispute("DISPUTED"))
    by_id = {a.invoice_id: a for a in assess(buyer.state, buyer.policy)}
    assert by_id["LATE"].reasons == ("delivered_after_stop_supply",)
    assert by_id["DISPUTED"].reasons == ("disputed",)


def test_a_late_notification_is_flagged_and_forfeits_the_cover_on_its_invoices() -> None:
    buyer = Buyer()
    buyer.cover("8000", date(2025, 1, 1))
    buyer.track(invoice("A", "6000", due_on=D))
    buyer.day(D + days(1))
    buyer.day(D + days(80))  # no business day between: the deadline D+75 passed unseen
    ((_, notified),) = buyer.of(ev.OverdueNotified)
    assert notified.notification.deadline_on == D + days(75)
    assert notified.notification.notified_on == D + days(80)
    assert not notified.notification.in_time
    assert notified.forfeited == ("A",)
    (a,) = assess(buyer.state, buyer.policy)
    assert a.reasons == ("late_notification",)
    assert a.insured_amount == 0
    buyer.days(D + days(81), D + days(200))
    assert buyer.of(ev.ClaimFiled) == []
    assert buyer.state.claim_skipped == "nothing_insured"


def test_insolvency_notifies_within_7_days_and_claims_at_once() -> None:
    buyer = Buyer()
    buyer.cover("8000", date(2025, 1, 1))
    buyer.track(invoice("A", "6000", due_on=D), invoice("B", "4000", due_on=D + days(30)))
    buyer.days(D, D + days(9))
    buyer.do(NoteInsolvency(date(2025, 4, 10), "court:2025-IN-77"))
    learned = D + days(12)
    buyer.day(learned)
    (stop,) = [e for _, e in buyer.of(ev.StopSupplyRequired)]
    assert stop.stop.reason == "insolvency"
    assert stop.stop.required_on == learned
    ((_, notified),) = buyer.of(ev.OverdueNotified)
    assert notified.notification.ground == "insolvency"
    assert notified.notification.deadline_on == learned + days(7)
    assert notified.notification.notified_on == learned
    assert notified.notification.invoice_ids == ("A", "B")
    ((on, filed),) = buyer.of(ev.ClaimFiled)
    assert on == learned == filed.claim.filed_on
    assert filed.claim.ground == "insolvency"
    assert filed.claim.date_of_loss == date(2025, 4, 10)
    assert filed.claim.insured_outstanding == Decimal(8000)
    assert filed.claim.claimed_indemnity == Decimal("7200.00")


def test_nothing_below_the_claim_threshold_and_within_the_aggregate_limit() -> None:
    small = Buyer()
    small.cover("8000", date(2025, 1, 1))
    small.track(invoice("A", "500", due_on=D))  # 90 % = 450 < 500
    small.do(NoteInsolvency(D))
    small.day(D + days(1))
    assert small.of(ev.ClaimFiled) == []
    assert small.state.claim_skipped == "below_claim_threshold"

    capped = Buyer(budget=AggregateBudget({"POL-1": Decimal(1000)}))
    capped.cover("8000", date(2025, 1, 1))
    capped.track(invoice("A", "6000", due_on=D))
    capped.do(NoteInsolvency(D))
    capped.day(D + days(1))
    ((_, filed),) = capped.of(ev.ClaimFiled)
    assert filed.claim.claimed_indemnity == Decimal(1000)


def test_discretionary_limit_within_its_ceiling_lapses_once_the_insurer_decides() -> None:
    buyer = Buyer()
    with pytest.raises(InsuranceError, match="at most 20000"):
        buyer.cover("25000", date(2025, 1, 1), decided_by="insured", decision="discretionary")
    buyer.cover("15000", date(2025, 1, 1), decided_by="insured", decision="discretionary")
    buyer.cover("5000", date(2025, 2, 1), decision="partial")
    assert cover_amount(buyer.state.covers, date(2025, 1, 15)) == Decimal(15000)
    assert cover_amount(buyer.state.covers, date(2025, 2, 10)) == Decimal(5000)
    with pytest.raises(InsuranceError, match="insurer has decided"):
        buyer.cover("9000", date(2025, 3, 1), decided_by="insured", decision="discretionary")


def test_a_claim_under_a_discretionary_limit_pays_its_own_percentage() -> None:
    buyer = Buyer(policy=policy())
    buyer.cover("10000", date(2025, 1, 1), decided_by="insured", decision="discretionary")
    buyer.track(invoice("A", "6000", due_on=D))
    buyer.do(NoteInsolvency(D))
    buyer.day(D + days(1))
    ((_, filed),) = buyer.of(ev.ClaimFiled)
    assert filed.claim.indemnity_percentage == Decimal(60)
    assert filed.claim.claimed_indemnity == Decimal("3600.00")


def test_a_recorded_decision_read_back_changes_nothing() -> None:
    buyer = Buyer()
    (first,) = buyer.cover("8000", date(2025, 1, 1), decision_id="dec-x")
    assert buyer.cover("8000", date(2025, 1, 1), decision_id="dec-x") == []
    assert isinstance(first, ev.CoverRecorded)


def test_a_withdrawal_in_force_requires_a_stop_supply_and_leaves_earlier_shipments_insured() -> (
    None
):
    buyer = Buyer()
    buyer.cover("8000", date(2025, 1, 1))
    buyer.track(invoice("A", "3000", due_on=date(2025, 5, 30), delivered_on=date(2025, 3, 30)))
    buyer.days(date(2025, 1, 2), date(2025, 2, 28))
    (withdrawn,) = buyer.cover("0", date(2025, 3, 1), decision="withdrawn")
    assert withdrawn.record.effective_on == date(2025, 3, 31)
    buyer.days(date(2025, 3, 1), date(2025, 4, 5))
    ((on, stop),) = buyer.of(ev.StopSupplyRequired)
    assert on == stop.stop.required_on == date(2025, 3, 31)
    assert stop.stop.reason == "cover_withdrawn"
    (a,) = assess(buyer.state, buyer.policy)
    assert a.insured_amount == Decimal(3000)  # shipped before the withdrawal took effect
