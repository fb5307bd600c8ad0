"""Writing an invoice off as a bad debt (DOMAIN.md, Ledger: invoice states include `written off`;
issue: a write-off operation, reflected in ageing and metrics), each figure computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arshield_ledger.domain.commands import WriteOffInvoice
from arshield_ledger.domain.reports import (
    EntryRow,
    ageing,
    collection_metrics,
    instalment_balances,
    invoice_as_of,
)

from .factories import Decided, LedgerDriver, invoice, payment

pytestmark = pytest.mark.unit
D = Decimal
DUE = date(2025, 1, 31)


def write_off(invoice_id: str, on: date) -> WriteOffInvoice:
    return WriteOffInvoice(invoice_id, on, "buyer dissolved, nothing left to recover")


def rows(changes: list[Decided]) -> list[EntryRow]:
    return [
        EntryRow(e.invoice_id, e.seq, e.currency, e.effective_on, e.kind, e.amount, e.ref, e.detail)
        for c in changes
        for e in c.entries
    ]


def test_what_is_left_unpaid_leaves_the_receivables_and_what_was_paid_stays_paid() -> None:
    """1,000 EUR due 01-31, 300 paid on 02-10, the rest written off on 06-30: a `written_off` entry
    of -700, outstanding 0, status `written_off` (not paid, not settled, no days late)."""
    acc = LedgerDriver()
    changes = [
        acc.issue(invoice("i", 1000, DUE)),
        acc.receive_payment(payment("p", 300, date(2025, 2, 10), allocations=(("i", 300),))),
    ]
    changes.append(acc.run(write_off("i", date(2025, 6, 30))))
    written = changes[-1]
    assert [(e.kind, e.amount, e.effective_on) for e in written.entries] == [
        ("written_off", D(-700), date(2025, 6, 30))
    ]
    assert [(b.status, b.outstanding) for b in written.balances] == [("written_off", D(0))]
    assert not written.settled
    inv = acc.invoices["i"]
    assert (inv.status, inv.paid, inv.outstanding, inv.settled_on, inv.days_late) == (
        "written_off",
        D(300),
        D(0),
        None,
        None,
    )
    assert acc.run(write_off("i", date(2025, 7, 1))).empty  # once is enough


def test_ageing_and_the_invoice_as_of_a_date_before_and_after_the_write_off() -> None:
    """As of 06-29 the 700 is in the 90+ bucket (149 days past due) and the invoice is overdue; as
    of 06-30 the ageing is empty and the invoice is written off."""
    acc = LedgerDriver()
    changes = [
        acc.issue(invoice("i", 1000, DUE)),
        acc.receive_payment(payment("p", 300, date(2025, 2, 10), allocations=(("i", 300),))),
        acc.run(write_off("i", date(2025, 6, 30))),
    ]
    entries, dues = rows(changes), {("i", 0): DUE}
    before, after = date(2025, 6, 29), date(2025, 6, 30)
    assert ageing(instalment_balances("b", entries, dues, before), before)["EUR"].buckets[
        "90+"
    ] == D(700)
    assert ageing(instalment_balances("b", entries, dues, after), after) == {}
    assert invoice_as_of(entries, {0: DUE}, before).status == "overdue"
    assert invoice_as_of(entries, {0: DUE}, after).status == "written_off"


def test_cei_does_not_count_a_write_off_as_collected() -> None:
    """Period 01-01..06-30 (181 days): sales 1,000, opening 0, closing 0 (300 collected, 700
    written off). CEI = (0 + 1000 - 0 - 700) / (0 + 1000 - 0) x 100 = 30.00, where counting the
    write-off as collected would say 100.00; DSO 0.00."""
    m = collection_metrics(
        currency="EUR",
        start=date(2025, 1, 1),
        end=date(2025, 6, 30),
        credit_sales=D(1000),
        opening_receivables=D(0),
        closing_receivables=D(0),
        closing_current=D(0),
        written_off=D(700),
    )
    assert (m.cei, m.dso, m.written_off, m.days) == (D("30.00"), D("0.00"), D(700), 181)


def test_a_payment_naming_a_written_off_invoice_is_a_recovery_kept_as_unallocated_cash() -> None:
    """After the write-off, 200 arrives naming the invoice: an anomaly says it is a recovery, and
    the 200 goes to the buyer's other open invoice (oldest due first), 500 -> 300."""
    acc = LedgerDriver()
    acc.issue(invoice("i", 1000, DUE))
    acc.issue(invoice("j", 500, date(2025, 8, 31), issued_on=date(2025, 7, 1)))
    acc.run(write_off("i", date(2025, 6, 30)))
    paid = acc.receive_payment(payment("p", 200, date(2025, 7, 15), allocations=(("i", 200),)))
    assert [a.kind for a in paid.anomalies] == ["payment_to_written_off_invoice"]
    assert (acc.invoices["i"].outstanding, acc.invoices["j"].outstanding) == (D(0), D(300))


def test_a_write_off_arriving_before_its_invoice_waits_for_it() -> None:
    acc = LedgerDriver()
    early = acc.run(write_off("i", date(2025, 6, 30)))
    assert [a.kind for a in early.anomalies] == ["fact_before_invoice"]
    arrived = acc.issue(invoice("i", 1000, DUE))
    assert acc.invoices["i"].status == "written_off"
    assert [(e.kind, e.amount) for e in arrived.entries][-1] == ("written_off", D(-1000))


def test_a_paid_invoice_is_not_written_off() -> None:
    acc = LedgerDriver()
    acc.issue(invoice("i", 100, DUE))
    acc.receive_payment(payment("p", 100, date(2025, 2, 1), allocations=(("i", 100),)))
    refused = acc.run(write_off("i", date(2025, 6, 30)))
    assert [a.kind for a in refused.anomalies] == ["write_off_of_closed_invoice"]
    assert acc.invoices["i"].status == "paid"
