"""Interest never accrues on money already paid (hypothesis)."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_latepay import ReferenceRates
from arshield_ledger.domain.decide import Refused
from arshield_ledger.domain.interest import InvoiceTerms, invoice_interest
from arshield_ledger.domain.reports import EntryRow, instalment_balances

from .factories import Decided, LedgerDriver, credit_note, invoice, payment

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()
ISSUED = date(2025, 1, 1)
CENT = Decimal("0.01")


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    amount = draw(st.integers(10, 5000))
    count = draw(st.integers(1, 3))
    share = amount // count
    parts = tuple(
        (
            n + 1,
            ISSUED + timedelta(days=30 * (n + 1)),
            share if n < count - 1 else amount - share * n,
        )
        for n in range(count)
    )
    facts: list[Any] = []
    for n in range(draw(st.integers(0, 6))):
        on = ISSUED + timedelta(days=draw(st.integers(0, 250)))
        paid = (
            draw(st.integers(1, amount))
            if draw(st.booleans())
            else draw(st.decimals("0.01", str(amount), places=2))
        )
        kind = draw(st.sampled_from(["named", "unnamed", "credit"]))
        if kind == "credit":
            facts.append(credit_note(f"c{n}", "i", min(D(paid), D(amount) / 4), on))
        else:
            named = (("i", paid),) if kind == "named" else ()
            facts.append(payment(f"p{n}", paid, on, allocations=named))
    facts.sort(key=lambda f: f.received_on if hasattr(f, "received_on") else f.issued_on)
    return {
        "amount": amount,
        "parts": parts if count > 1 else (),
        "due": parts[-1][1],
        "facts": facts,
        "jurisdiction": draw(st.sampled_from(["DE", "EU", "FR", "UK", "CN"])),
        "as_of": ISSUED + timedelta(days=draw(st.integers(31, 400))),
    }


@settings(max_examples=150, deadline=None)
@given(histories())
def test_interest_never_accrues_on_money_already_paid(history: dict[str, Any]) -> None:
    """DOMAIN.md (Ledger): a payment reduces the principal that bears interest from the day it
    arrives. For any payments (named or not, before or after the due dates, with credit notes),
    every day of every interest period bears interest on no more than the instalment's unpaid
    amount at the end of the day before (`arshield_latepay`'s day convention), so the interest is
    never more than the interest on the outstanding balance day by day."""
    acc = LedgerDriver()
    changes: list[Decided] = [
        acc.issue(
            invoice("i", history["amount"], history["due"], ISSUED, instalments=history["parts"])
        )
    ]
    for fact in history["facts"]:
        if hasattr(fact, "received_on"):
            changes.append(acc.receive_payment(fact))
        else:
            with contextlib.suppress(Refused):  # beyond what is still creditable: changes nothing
                changes.append(acc.issue_credit_note(fact))
    entries = [
        EntryRow(e.invoice_id, e.seq, e.currency, e.effective_on, e.kind, e.amount, e.ref, e.detail)
        for c in changes
        for e in c.entries
    ]
    inv = acc.invoices["i"]
    due_dates = {p.seq: p.due_on for p in inv.instalments}
    as_of: date = history["as_of"]
    terms = InvoiceTerms("EUR", inv.amount, ISSUED, history["jurisdiction"], None)
    answer = invoice_interest(
        terms, [e for e in entries if e.invoice_id == "i"], due_dates, as_of, RATES
    )
    assert answer.claim is not None

    def unpaid(due_on: date, end_of: date) -> Decimal:
        """The instalment's outstanding as the ledger's as-of read model states it."""
        lines = instalment_balances(
            "b", entries, {("i", s): d for s, d in due_dates.items()}, end_of
        )
        return sum((b.outstanding for b in lines if b.due_on == due_on), D(0))

    day_by_day = D(0)
    for period in answer.claim.periods:
        for n in range(period.days):
            day = period.start + timedelta(days=n)
            owed = unpaid(period.due_on, day - timedelta(days=1))
            assert period.principal <= owed, (period, day, owed)
            day_by_day += owed * period.annual_rate / (100 * 365)
    assert answer.claim.interest <= day_by_day.quantize(CENT, ROUND_HALF_UP)
    if inv.outstanding == 0 and all(
        e.effective_on <= min(due_dates.values()) for e in entries if e.amount < 0
    ):
        assert answer.claim.interest == 0  # everything paid or credited by the first due date
