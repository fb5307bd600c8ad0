"""A small two-tenant history with everything the ledger must handle, in business order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arshield_cli.clock import tick
from arshield_events.erp import (
    ContractTerms,
    CreditNoteIssued,
    DisputeRaised,
    DisputeResolved,
    Instalment,
    InvoiceCancelled,
    InvoiceIssued,
    PaymentReceived,
)
from arshield_events.money import Money

from .harness import event

T1, T2 = "acme", "globex"
START, END = date(2025, 1, 1), date(2025, 5, 31)


def m(amount: str, currency: str = "EUR") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


def inv(
    invoice_id: str,
    buyer: str,
    amount: str,
    issued: date,
    due: date,
    currency: str = "EUR",
    parts: tuple[tuple[int, date, str], ...] = (),
    jurisdiction: str | None = "DE",
) -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=invoice_id,
        invoice_number=f"N-{invoice_id}",
        buyer_id=buyer,
        issued_on=issued,
        due_on=due,
        amount=m(amount, currency),
        payment_terms_days=(due - issued).days,
        instalments=tuple(Instalment(seq=s, due_on=d, amount=m(a, currency)) for s, d, a in parts),
        contract_terms=ContractTerms(
            jurisdiction=jurisdiction,
            late_interest="statutory",  # type: ignore[arg-type,unused-ignore]
            retention_of_title=True,
        )
        if jurisdiction
        else None,
    )


def pay(
    payment_id: str,
    buyer: str,
    amount: str,
    on: date,
    currency: str = "EUR",
    alloc: tuple[tuple[str, str], ...] = (),
) -> PaymentReceived:
    return PaymentReceived(
        payment_id=payment_id,
        buyer_id=buyer,
        amount=m(amount, currency),
        received_on=on,
        allocations=tuple({"invoice_id": i, "amount": m(a, currency)} for i, a in alloc),  # type: ignore[misc,unused-ignore]
    )


@dataclass
class Scenario:
    """(business date, tenant, subject, payload, event id) in business order."""

    facts: list[tuple[date, str, str, Any, str | None]] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)

    def add(
        self, on: date, tenant: str, buyer: str, payload: Any, event_id: str | None = None
    ) -> None:
        self.facts.append((on, tenant, buyer, payload, event_id))


def build() -> Scenario:
    s = Scenario()
    d = date
    # acme / b1: an invoice paid late in two parts; one with three instalments, credit, dispute.
    s.add(d(2025, 1, 2), T1, "b1", inv("i1", "b1", "1000.00", d(2025, 1, 2), d(2025, 2, 1)))
    s.add(
        d(2025, 1, 5),
        T1,
        "b1",
        inv(
            "i2",
            "b1",
            "900.00",
            d(2025, 1, 5),
            d(2025, 4, 5),
            parts=(
                (1, d(2025, 2, 5), "300.00"),
                (2, d(2025, 3, 5), "300.00"),
                (3, d(2025, 4, 5), "300.00"),
            ),
        ),
    )
    s.add(
        d(2025, 1, 10),
        T1,
        "b1",
        CreditNoteIssued(
            credit_note_id="c1",
            invoice_id="i2",
            buyer_id="b1",
            amount=m("100.00"),
            issued_on=d(2025, 1, 10),
        ),
    )
    # A payment naming an invoice the ledger does not know yet, then the invoice.
    s.add(
        d(2025, 1, 20),
        T1,
        "b1",
        pay("p0", "b1", "250.00", d(2025, 1, 20), alloc=(("i3", "250.00"),)),
    )
    s.add(d(2025, 1, 22), T1, "b1", inv("i3", "b1", "250.00", d(2025, 1, 18), d(2025, 2, 17)))
    s.add(
        d(2025, 2, 10),
        T1,
        "b1",
        pay("p1", "b1", "400.00", d(2025, 2, 10), alloc=(("i1", "400.00"),)),
    )
    s.add(
        d(2025, 2, 12),
        T1,
        "b1",
        DisputeRaised(
            dispute_id="d1",
            invoice_id="i2",
            buyer_id="b1",
            disputed_amount=m("300.00"),
            reason="short delivery",
            raised_on=d(2025, 2, 12),
        ),
    )
    # Unallocated: oldest due first (i1's rest 600, then i2).
    s.add(d(2025, 3, 20), T1, "b1", pay("p2", "b1", "700.00", d(2025, 3, 20)))
    s.add(
        d(2025, 3, 25),
        T1,
        "b1",
        DisputeResolved(
            dispute_id="d1",
            invoice_id="i2",
            buyer_id="b1",
            outcome="rejected",
            resolved_on=d(2025, 3, 25),
        ),
    )
    s.add(d(2025, 4, 1), T1, "b1", inv("i4", "b1", "80.00", d(2025, 4, 1), d(2025, 5, 1)))
    s.add(
        d(2025, 4, 3),
        T1,
        "b1",
        InvoiceCancelled(
            invoice_id="i4", buyer_id="b1", reason="issued twice", cancelled_on=d(2025, 4, 3)
        ),
    )
    # acme / b2: GBP, UK terms, overpaid; then the surplus meets the next invoice.
    s.add(
        d(2025, 1, 3),
        T1,
        "b2",
        inv("g1", "b2", "5000.00", d(2025, 1, 3), d(2025, 1, 31), "GBP", jurisdiction="UK"),
    )
    s.add(d(2025, 3, 2), T1, "b2", pay("q1", "b2", "5200.00", d(2025, 3, 2), "GBP"))
    s.add(
        d(2025, 3, 15),
        T1,
        "b2",
        inv("g2", "b2", "500.00", d(2025, 3, 15), d(2025, 4, 14), "GBP", jurisdiction=None),
    )
    # acme / b3: never pays (crosses every overdue bucket); a credit note before its invoice.
    s.add(
        d(2025, 1, 4),
        T1,
        "b3",
        CreditNoteIssued(
            credit_note_id="c3",
            invoice_id="k1",
            buyer_id="b3",
            amount=m("50.00"),
            issued_on=d(2025, 1, 4),
        ),
    )
    s.add(d(2025, 1, 6), T1, "b3", inv("k1", "b3", "2500.00", d(2025, 1, 6), d(2025, 1, 20)))
    # globex: the same invoice id as acme's, another tenant's business.
    s.add(d(2025, 1, 2), T2, "x1", inv("i1", "x1", "70.00", d(2025, 1, 2), d(2025, 1, 30)))
    # globex / b4: cash on account while the only invoice is disputed; the dispute is rejected
    # after the due date and the cash settles it as of its arrival (never announced overdue);
    # the rest meets the next invoice, which is then paid and cancelled (the cash comes back).
    s.add(d(2025, 2, 1), T2, "b4", inv("e1", "b4", "200.00", d(2025, 2, 1), d(2025, 3, 1)))
    s.add(
        d(2025, 2, 15),
        T2,
        "b4",
        DisputeRaised(
            dispute_id="d4",
            invoice_id="e1",
            buyer_id="b4",
            disputed_amount=m("200.00"),
            reason="wrong quantity",
            raised_on=d(2025, 2, 15),
        ),
    )
    s.add(d(2025, 2, 20), T2, "b4", pay("p4", "b4", "250.00", d(2025, 2, 20)))
    s.add(
        d(2025, 3, 10),
        T2,
        "b4",
        DisputeResolved(
            dispute_id="d4",
            invoice_id="e1",
            buyer_id="b4",
            outcome="rejected",
            resolved_on=d(2025, 3, 10),
        ),
    )
    s.add(d(2025, 4, 1), T2, "b4", inv("e2", "b4", "80.00", d(2025, 4, 1), d(2025, 5, 1)))
    s.add(
        d(2025, 4, 10),
        T2,
        "b4",
        pay("p5", "b4", "30.00", d(2025, 4, 10), alloc=(("e2", "30.00"),)),
    )
    s.add(
        d(2025, 4, 20),
        T2,
        "b4",
        InvoiceCancelled(
            invoice_id="e2", buyer_id="b4", reason="returned", cancelled_on=d(2025, 4, 20)
        ),
    )
    # globex / b5: a dispute upheld with a credit note that corrects the invoice.
    s.add(d(2025, 1, 15), T2, "b5", inv("e3", "b5", "1000.00", d(2025, 1, 15), d(2025, 2, 14)))
    s.add(
        d(2025, 2, 10),
        T2,
        "b5",
        DisputeRaised(
            dispute_id="d5",
            invoice_id="e3",
            buyer_id="b5",
            disputed_amount=m("400.00"),
            reason="price",
            raised_on=d(2025, 2, 10),
        ),
    )
    s.add(
        d(2025, 3, 1),
        T2,
        "b5",
        CreditNoteIssued(
            credit_note_id="cn5",
            invoice_id="e3",
            buyer_id="b5",
            amount=m("400.00"),
            issued_on=d(2025, 3, 1),
        ),
    )
    s.add(
        d(2025, 3, 1),
        T2,
        "b5",
        DisputeResolved(
            dispute_id="d5",
            invoice_id="e3",
            buyer_id="b5",
            outcome="upheld",
            credit_note_id="cn5",
            resolved_on=d(2025, 3, 1),
        ),
    )
    # An identical re-issue under another event id (ERP re-send) changes nothing.
    s.add(d(2025, 1, 23), T1, "b1", inv("i1", "b1", "1000.00", d(2025, 1, 2), d(2025, 2, 1)))
    # The same event delivered twice (same id).
    s.add(
        d(2025, 2, 20),
        T1,
        "b3",
        pay("r1", "b3", "10.00", d(2025, 2, 20), alloc=(("k1", "10.00"),)),
        "dup-1",
    )
    s.add(
        d(2025, 2, 20),
        T1,
        "b3",
        pay("r1", "b3", "10.00", d(2025, 2, 20), alloc=(("k1", "10.00"),)),
        "dup-1",
    )
    # Bad input, refused to the dead-letter topic with a reason.
    s.add(
        d(2025, 2, 21),
        T1,
        "b1",
        pay("bad-ccy", "b1", "10.00", d(2025, 2, 21), "GBP", alloc=(("i1", "10.00"),)),
        "bad-1",
    )
    s.add(
        d(2025, 2, 21),
        T1,
        "b1",
        CreditNoteIssued(
            credit_note_id="bad-cn",
            invoice_id="i3",
            buyer_id="b1",
            amount=m("251.00"),
            issued_on=d(2025, 2, 21),
        ),
        "bad-2",
    )
    s.add(
        d(2025, 2, 21), T1, "b1", inv("i1", "b1", "1001.00", d(2025, 1, 2), d(2025, 2, 1)), "bad-3"
    )
    s.bad = ["bad-1", "bad-2", "bad-3"]
    s.facts.sort(key=lambda f: f[0])
    return s


def phases(s: Scenario, erp_topic: str, clock_topic: str) -> list[list[tuple[str, Any]]]:
    """Month by month: the month's facts, then its ticks once they are consumed."""
    out: list[list[tuple[str, Any]]] = []
    month_start = START
    while month_start <= END:
        nxt = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
        facts = [
            (erp_topic, event(p, tenant, buyer, on, eid))
            for on, tenant, buyer, p, eid in s.facts
            if month_start <= on < nxt
        ]
        days = [month_start + timedelta(days=n) for n in range((nxt - month_start).days)]
        ticks = [(clock_topic, tick(t, day)) for day in days for t in (T1, T2)]
        out += [facts, ticks]
        month_start = nxt
    return out
