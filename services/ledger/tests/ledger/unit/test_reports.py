"""As-of answers from dated entries: ageing, invoice state, statement, CRF metrics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arshield_ledger.domain.reports import (
    EntryRow,
    ageing,
    cash_on_account,
    collection_metrics,
    instalment_balances,
    invoice_as_of,
    statement,
)

from .factories import LedgerDriver, dispute, invoice, payment

pytestmark = pytest.mark.unit
D = Decimal


def history() -> tuple[list[EntryRow], dict[tuple[str, int], date]]:
    acc = LedgerDriver()
    changes = [
        acc.issue(invoice("a", 100, date(2025, 1, 31), issued_on=date(2025, 1, 1))),
        acc.issue(
            invoice(
                "b",
                300,
                date(2025, 3, 31),
                issued_on=date(2025, 1, 1),
                instalments=(
                    (1, date(2025, 1, 31), 100),
                    (2, date(2025, 2, 28), 100),
                    (3, date(2025, 3, 31), 100),
                ),
            )
        ),
        acc.receive_payment(payment("p1", 60, date(2025, 2, 10), allocations=(("a", 60),))),
        acc.raise_dispute(dispute("d1", "b", 100, date(2025, 3, 1))),
        acc.receive_payment(payment("p2", 500, date(2025, 4, 15), allocations=(("a", 40),))),
    ]
    entries = [
        EntryRow(e.invoice_id, e.seq, e.currency, e.effective_on, e.kind, e.amount, e.ref, e.detail)
        for c in changes
        for e in c.entries
    ]
    dues = {(i.invoice_id, p.seq): p.due_on for i in acc.invoices.values() for p in i.instalments}
    return entries, dues


def test_ageing_as_of_past_dates() -> None:
    entries, dues = history()
    # 2025-03-05: a has 40 left, 33 days late; b's instalments 100 (33 days), 100 (5), 100 current.
    report = ageing(instalment_balances("b", entries, dues, date(2025, 3, 5)), date(2025, 3, 5))[
        "EUR"
    ]
    assert {k: v for k, v in report.buckets.items() if v} == {
        "current": D(100),
        "1-30": D(100),
        "31-60": D(140),
    }
    assert report.disputed == D(300)
    assert report.overdue == D(240)
    # Before any payment: both invoices whole, nothing past due on 2025-01-31.
    early = ageing(instalment_balances("b", entries, dues, date(2025, 1, 31)), date(2025, 1, 31))
    assert early["EUR"].total == D(400)
    assert early["EUR"].overdue == D(0)


def test_invoice_state_as_of() -> None:
    entries, dues = history()
    a = [e for e in entries if e.invoice_id == "a"]
    assert invoice_as_of(a, {0: date(2025, 1, 31)}, date(2025, 2, 1)).status == "overdue"
    mid = invoice_as_of(a, {0: date(2025, 1, 31)}, date(2025, 2, 10))
    assert (mid.status, mid.outstanding, mid.paid) == ("overdue", D(40), D(60))
    done = invoice_as_of(a, {0: date(2025, 1, 31)}, date(2025, 4, 30))
    assert (done.status, done.settled_on) == ("paid", date(2025, 4, 15))
    b = [e for e in entries if e.invoice_id == "b"]
    b_dues = {s: d for (i, s), d in dues.items() if i == "b"}
    assert invoice_as_of(b, b_dues, date(2025, 3, 2)).status == "disputed"
    assert invoice_as_of(b, b_dues, date(2025, 1, 15)).status == "open"


def test_statement_and_cash_on_account() -> None:
    entries, _ = history()
    [eur] = statement(entries, date(2025, 2, 1), date(2025, 4, 30)).values()
    assert eur.opening == D(400)
    # p2: 40 to a, 300 oldest-first would go to b but b is disputed, so 460 stays on account.
    assert [(line.kind, line.amount) for line in eur.lines] == [
        ("payment", D(-60)),
        ("payment", D(-40)),
        ("payment_on_account", D(-460)),
    ]
    assert eur.closing == D(-160)
    assert cash_on_account(entries, date(2025, 4, 30)) == {"EUR": D(460)}


def test_crf_metrics() -> None:
    m = collection_metrics(
        currency="EUR",
        start=date(2025, 1, 1),
        end=date(2025, 3, 31),
        credit_sales=D(9000),
        opening_receivables=D(1000),
        closing_receivables=D(3000),
        closing_current=D(2000),
    )
    # DSO 3000/9000*90 = 30; best 2000/9000*90 = 20; ADD 10; CEI (1000+9000-3000)/(1000+9000-2000)
    assert (m.dso, m.best_possible_dso, m.average_days_delinquent) == (
        D("30.00"),
        D("20.00"),
        D("10.00"),
    )
    assert m.cei == D("87.50")
    empty = collection_metrics(
        currency="EUR",
        start=date(2025, 1, 1),
        end=date(2025, 1, 31),
        credit_sales=D(0),
        opening_receivables=D(0),
        closing_receivables=D(0),
        closing_current=D(0),
    )
    assert (empty.dso, empty.cei) == (None, None)
