"""Invariants of the buyer account over any sequence of facts (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_ledger.domain.decide import Refused

from .factories import (
    STATE,
    Decided,
    LedgerDriver,
    cancel,
    credit_note,
    dispute,
    invoice,
    payment,
    resolve,
)

pytestmark = pytest.mark.unit
D = Decimal
START = date(2025, 1, 1)
INVOICE_IDS = [f"i{n}" for n in range(6)]
CURRENCIES = ["EUR", "GBP"]
# An invoice id always has the same currency, so a generated sequence exercises mismatches only
# where a payment or credit note names an invoice in another currency (which must be refused).
INVOICE_CURRENCY = {i: CURRENCIES[n % 2] for n, i in enumerate(INVOICE_IDS)}

day = st.integers(0, 200).map(lambda n: START + timedelta(days=n))
money = st.integers(1, 500).map(D) | st.decimals("0.01", "500", places=2)


@st.composite
def facts(draw: st.DrawFn) -> list[Any]:
    out: list[Any] = []
    for n in range(draw(st.integers(1, 30))):
        kind = draw(
            st.sampled_from(
                [
                    "invoice",
                    "invoice",
                    "payment",
                    "payment",
                    "credit",
                    "dispute",
                    "resolve",
                    "tick",
                    "cancel",
                ]
            )
        )
        invoice_id = draw(st.sampled_from(INVOICE_IDS))
        currency = INVOICE_CURRENCY[invoice_id]
        if kind == "invoice":
            issued = draw(day)
            amount = draw(st.integers(1, 1000))
            if draw(st.booleans()):
                due = issued + timedelta(days=draw(st.integers(0, 90)))
                out.append(invoice(invoice_id, amount, due, issued, currency))
            else:
                first = amount // 2 or amount
                parts: tuple[tuple[int, date, int], ...] = (
                    (1, issued + timedelta(days=30), first),
                )
                if amount - first:
                    parts += ((2, issued + timedelta(days=60), amount - first),)
                out.append(
                    invoice(
                        invoice_id, amount, issued + timedelta(days=60), issued, currency, parts
                    )
                )
        elif kind == "payment":
            pay_currency = draw(st.sampled_from(CURRENCIES))
            paid = draw(money)
            allocations: tuple[tuple[str, Any], ...] = ()
            if draw(st.booleans()):
                allocations = ((invoice_id, min(paid, draw(money))),)
            out.append(payment(f"p{n}", paid, draw(day), pay_currency, allocations))
        elif kind == "credit":
            out.append(
                credit_note(
                    f"c{n}",
                    invoice_id,
                    draw(money),
                    draw(day),
                    draw(st.sampled_from([currency, currency, "GBP"])),
                )
            )
        elif kind == "dispute":
            out.append(dispute(f"d{invoice_id}", invoice_id, draw(money), draw(day), currency))
        elif kind == "resolve":
            out.append(resolve(f"d{invoice_id}", invoice_id, draw(day)))
        elif kind == "cancel":
            out.append(cancel(invoice_id, draw(day)))
        else:
            out.append(draw(day))
    return out


def apply(account: LedgerDriver, fact: Any) -> Decided | None:
    handlers = {
        "IssueInvoice": account.issue,
        "ReceivePayment": account.receive_payment,
        "IssueCreditNote": account.issue_credit_note,
        "RaiseDispute": account.raise_dispute,
        "ResolveDispute": account.resolve_dispute,
        "CancelInvoice": account.cancel_invoice,
    }
    try:
        if isinstance(fact, date):
            return account.start_business_day(fact)
        changes: Decided = handlers[type(fact).__name__](fact)  # type: ignore[operator]
        return changes
    except Refused:
        return None


def replay(sequence: list[Any]) -> tuple[LedgerDriver, dict[str, Decimal], list[Decided]]:
    account = LedgerDriver()
    received: dict[str, Decimal] = defaultdict(lambda: D(0))
    all_changes = []
    for fact in sequence:
        before = account.state
        changes = apply(account, fact)
        if changes is None:
            assert account.state == before, "a refused fact changed the account"
            continue
        all_changes.append(changes)
        if type(fact).__name__ == "ReceivePayment" and not changes.empty:
            received[fact.currency] += fact.amount
    return account, received, all_changes


@settings(max_examples=300, deadline=None)
@given(facts())
def test_amounts_always_reconcile(sequence: list[Any]) -> None:
    account, received, all_changes = replay(sequence)
    entries = [e for c in all_changes for e in c.entries]
    anomalies = [a for c in all_changes for a in c.anomalies]
    for currency in CURRENCIES:
        invoices = [
            i
            for i in account.invoices.values()
            if i.currency == currency and i.cancelled_on is None
        ]
        outstanding = sum((i.outstanding for i in invoices), D(0))
        issued = sum((i.amount for i in invoices), D(0))
        credited = sum((i.credited for i in invoices), D(0))
        unapplied = account.unapplied(currency)
        # Sum of outstanding == issued - paid - credited, with cash on account accounted.
        assert outstanding - unapplied == issued - received[currency] - credited
        # The dated entries (the time-travel read model) say the same.
        assert sum((e.amount for e in entries if e.currency == currency), D(0)) == (
            outstanding - unapplied
        )
    for inv in account.invoices.values():
        assert all(part.outstanding >= 0 for part in inv.instalments)
        assert inv.outstanding <= inv.amount - inv.credited
        if inv.cancelled_on is None:
            # Closed by payment is `paid`, closed by credit notes alone is `credited`.
            assert (inv.status in ("paid", "credited")) == (inv.outstanding == 0)
            assert (inv.status == "credited") == (inv.outstanding == 0 and inv.paid == 0)
        if inv.settled_on is not None:
            assert inv.outstanding == 0
            assert inv.status == "paid"
            assert inv.days_late is not None
    # DOMAIN.md (Ledger): cash on account is applied to open invoices; none waits beside one.
    for currency, purse in account.cash.items():
        if any(c.earmarked_for is None for c in purse):
            assert not [
                i.invoice_id
                for i in account.invoices.values()
                if i.currency == currency and i.open and not i.disputes
            ]
    # Money held beyond what is owed exists only with a recorded judgement call naming it.
    recorded = {a.ref for a in anomalies}
    for purse in account.cash.values():
        for cash in purse:
            assert cash.amount > 0
            assert cash.ref in recorded


@settings(max_examples=150, deadline=None)
@given(facts())
def test_facts_delivered_twice_change_nothing(sequence: list[Any]) -> None:
    once, _, _ = replay(sequence)
    twice, _, _ = replay([f for fact in sequence for f in (fact, fact)])
    assert twice.invoices == once.invoices
    assert twice.cash == once.cash
    assert twice.entry_no == once.entry_no


@settings(max_examples=150, deadline=None)
@given(facts())
def test_the_state_codec_restores_the_state_exactly(sequence: list[Any]) -> None:
    account, _, _ = replay(sequence)
    stored = STATE.dump_json(account.state)  # as the kernel stores it
    restored = STATE.validate_json(stored)
    assert restored == account.state
    assert STATE.dump_json(restored) == stored
