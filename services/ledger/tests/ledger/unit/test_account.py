"""The buyer account's rules, example by example."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arshield_ledger.domain.decide import Refused
from arshield_ledger.domain.events import InstalmentAnnouncedOverdue

from .factories import (
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


def account() -> LedgerDriver:
    return LedgerDriver()


def test_payment_applies_to_named_invoice_then_oldest_due_first() -> None:
    acc = account()
    acc.issue(invoice("late", 100, date(2025, 3, 1)))
    acc.issue(invoice("early", 100, date(2025, 2, 1)))
    acc.issue(invoice("named", 100, date(2025, 4, 1)))
    changes = acc.receive_payment(
        payment("p1", 150, date(2025, 1, 20), allocations=(("named", 60),))
    )
    assert acc.invoices["named"].outstanding == D(40)
    assert acc.invoices["early"].outstanding == D(10)
    assert acc.invoices["late"].outstanding == D(100)
    assert {b.invoice_id: b.status for b in changes.balances} == {
        "named": "partially_paid",
        "early": "partially_paid",
    }
    assert not changes.unapplied


def test_unapplied_cash_waits_for_a_matching_invoice() -> None:
    acc = account()
    changes = acc.receive_payment(payment("p1", 80, date(2025, 1, 5)))
    assert [(u.payment_id, u.amount) for u in changes.unapplied] == [("p1", D(80))]
    assert [a.kind for a in changes.anomalies] == ["unapplied_cash"]
    assert acc.unapplied("EUR") == D(80)
    # A GBP invoice does not match EUR cash.
    acc.issue(invoice("gbp", 50, date(2025, 2, 1), currency="GBP"))
    assert acc.invoices["gbp"].outstanding == D(50)
    changes = acc.issue(invoice("eur", 100, date(2025, 2, 10), issued_on=date(2025, 1, 10)))
    assert acc.invoices["eur"].outstanding == D(20)
    assert acc.unapplied("EUR") == D(0)
    assert [(b.outstanding, b.status) for b in changes.balances] == [(D(20), "partially_paid")]
    # The cash is applied no earlier than the invoice exists.
    applied = [e for e in changes.entries if e.kind == "unapplied_cash"]
    assert [(e.effective_on, e.amount) for e in applied] == [(date(2025, 1, 10), D(-80))]


def test_payment_naming_an_unknown_invoice_is_kept_for_it() -> None:
    acc = account()
    acc.issue(invoice("other", 100, date(2025, 2, 1)))
    acc.receive_payment(payment("p1", 100, date(2025, 2, 3), allocations=(("future", 100),)))
    assert acc.invoices["other"].outstanding == D(100)  # earmarked cash is not spread
    changes = acc.issue(invoice("future", 100, date(2025, 3, 1), issued_on=date(2025, 1, 15)))
    assert acc.invoices["future"].outstanding == D(0)
    [settled] = changes.settled
    assert (settled.settled_on, settled.days_late) == (date(2025, 2, 3), 0)


def test_settled_with_days_late() -> None:
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 2, 1)))
    acc.receive_payment(payment("p1", 40, date(2025, 2, 5), allocations=(("i1", 40),)))
    changes = acc.receive_payment(payment("p2", 60, date(2025, 2, 15), allocations=(("i1", 60),)))
    [settled] = changes.settled
    assert (settled.settled_on, settled.days_late, settled.amount) == (
        date(2025, 2, 15),
        14,
        D(100),
    )
    assert acc.invoices["i1"].status == "paid"


def test_overpayment_is_recorded_and_kept_on_account() -> None:
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 2, 1)))
    changes = acc.receive_payment(payment("p1", 130, date(2025, 1, 20), allocations=(("i1", 130),)))
    assert acc.invoices["i1"].outstanding == D(0)
    assert acc.unapplied("EUR") == D(30)
    assert {a.kind for a in changes.anomalies} == {
        "allocation_exceeds_outstanding",
        "unapplied_cash",
    }


def test_payment_in_another_currency_than_the_named_invoice_is_refused() -> None:
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 2, 1)))
    with pytest.raises(Refused, match="GBP"):
        acc.receive_payment(payment("p1", 100, date(2025, 1, 20), "GBP", (("i1", 100),)))
    assert acc.invoices["i1"].outstanding == D(100)
    assert "p1" not in acc.seen


def test_credit_note_rules() -> None:
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 2, 1)))
    with pytest.raises(Refused, match="exceeds"):
        acc.issue_credit_note(credit_note("c1", "i1", 101, date(2025, 1, 10)))
    with pytest.raises(Refused, match="GBP"):
        acc.issue_credit_note(credit_note("c1", "i1", 10, date(2025, 1, 10), currency="GBP"))
    acc.receive_payment(payment("p1", 70, date(2025, 1, 12), allocations=(("i1", 70),)))
    # 50 credited on 30 outstanding: the excess 20 becomes a credit on account.
    changes = acc.issue_credit_note(credit_note("c1", "i1", 50, date(2025, 1, 15)))
    assert acc.invoices["i1"].outstanding == D(0)
    assert acc.unapplied("EUR") == D(20)
    assert [a.kind for a in changes.anomalies] == ["credit_exceeds_outstanding"]
    with pytest.raises(Refused, match="creditable"):
        acc.issue_credit_note(credit_note("c2", "i1", 51, date(2025, 1, 16)))


def test_credit_note_before_its_invoice_is_applied_when_it_arrives() -> None:
    acc = account()
    changes = acc.issue_credit_note(credit_note("c1", "i1", 30, date(2025, 1, 3)))
    assert [a.kind for a in changes.anomalies] == ["fact_before_invoice"]
    acc.issue(invoice("i1", 100, date(2025, 2, 1), issued_on=date(2025, 1, 5)))
    assert acc.invoices["i1"].outstanding == D(70)
    assert acc.invoices["i1"].credited == D(30)


def test_reissue_identical_is_a_no_op_and_different_is_refused() -> None:
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 2, 1)))
    assert acc.issue(invoice("i1", 100, date(2025, 2, 1))).empty
    with pytest.raises(Refused, match="different content"):
        acc.issue(invoice("i1", 101, date(2025, 2, 1)))
    acc.receive_payment(payment("p1", 10, date(2025, 1, 2)))
    assert acc.receive_payment(payment("p1", 10, date(2025, 1, 2))).empty
    with pytest.raises(Refused, match="different content"):
        acc.receive_payment(payment("p1", 11, date(2025, 1, 2)))


def test_instalments_fall_due_one_by_one_and_overdue_crosses_buckets() -> None:
    acc = account()
    acc.issue(
        invoice(
            "i1",
            300,
            date(2025, 3, 31),
            instalments=(
                (1, date(2025, 1, 31), 100),
                (2, date(2025, 2, 28), 100),
                (3, date(2025, 3, 31), 100),
            ),
        )
    )
    assert acc.start_business_day(date(2025, 1, 31)).empty
    changes = acc.start_business_day(date(2025, 2, 1))
    assert [(o.seq, o.days_overdue, o.bucket) for o in changes.overdue] == [(1, 1, "1-30")]
    assert [(b.status, b.outstanding) for b in changes.balances] == [("overdue", D(300))]
    assert acc.start_business_day(date(2025, 2, 2)).empty  # once per bucket
    # Paying the first instalment leaves the invoice not overdue (the others are not yet due).
    changes = acc.receive_payment(payment("p1", 100, date(2025, 2, 10), allocations=(("i1", 100),)))
    assert [b.status for b in changes.balances] == ["partially_paid"]
    changes = acc.start_business_day(date(2025, 3, 3))
    assert [(o.seq, o.bucket) for o in changes.overdue] == [(2, "1-30")]
    # A tick that skips buckets announces the current one only.
    changes = acc.start_business_day(date(2025, 6, 30))
    assert [(o.seq, o.days_overdue, o.bucket) for o in changes.overdue] == [
        (2, 122, "90+"),
        (3, 91, "90+"),
    ]
    assert acc.start_business_day(date(2025, 12, 31)).empty


def test_invoice_without_instalments_reports_no_instalment_seq_and_all_buckets() -> None:
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 1, 31)))
    seen = []
    for day in range(1, 130):
        changes = acc.start_business_day(
            date(2025, 1, 31).fromordinal(date(2025, 1, 31).toordinal() + day)
        )
        seen += [(o.seq, o.days_overdue, o.bucket) for o in changes.overdue]
    assert seen == [(None, 1, "1-30"), (None, 31, "31-60"), (None, 61, "61-90"), (None, 91, "90+")]


def test_a_disputed_invoice_is_announced_overdue_flagged_disputed() -> None:
    """The insurer must hear of a disputed overdue invoice (its notification deadline runs), so
    the ledger announces it, flagged; dunning pauses on the dispute by its own rule."""
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 1, 31)))
    changes = acc.raise_dispute(dispute("d1", "i1", 100, date(2025, 1, 31)))
    assert [b.status for b in changes.balances] == ["disputed"]
    changes = acc.start_business_day(date(2025, 2, 10))
    assert [(o.days_overdue, o.bucket) for o in changes.overdue] == [(10, "1-30")]
    assert [e.disputed for e in changes.events if isinstance(e, InstalmentAnnouncedOverdue)] == [
        True
    ]
    assert acc.invoices["i1"].status == "disputed"  # the status keeps the dispute
    changes = acc.resolve_dispute(resolve("d1", "i1", date(2025, 2, 12)))
    assert [b.status for b in changes.balances] == ["overdue"]
    assert acc.start_business_day(date(2025, 2, 13)).empty  # announced once per bucket
    changes = acc.start_business_day(date(2025, 3, 3))
    assert [(o.days_overdue, o.bucket) for o in changes.overdue] == [(31, "31-60")]
    assert [e.disputed for e in changes.events if isinstance(e, InstalmentAnnouncedOverdue)] == [
        False
    ]
    # A repeated resolution changes nothing.
    assert acc.resolve_dispute(resolve("d1", "i1", date(2025, 2, 12))).empty


def test_cancellation_releases_applied_cash_to_the_account() -> None:
    acc = account()
    acc.issue(invoice("i1", 100, date(2025, 2, 1)))
    acc.receive_payment(payment("p1", 40, date(2025, 1, 10), allocations=(("i1", 40),)))
    changes = acc.cancel_invoice(cancel("i1", date(2025, 1, 20)))
    assert acc.invoices["i1"].status == "cancelled"
    assert acc.invoices["i1"].outstanding == D(0)
    assert acc.unapplied("EUR") == D(40)
    assert [a.kind for a in changes.anomalies] == ["cancelled_after_payment"]
    assert [(b.status, b.outstanding) for b in changes.balances] == [("cancelled", D(0))]
    assert not changes.settled
    assert sum(e.amount for e in changes.entries) == D(-100)
    assert acc.cancel_invoice(cancel("i1", date(2025, 1, 20))).empty
