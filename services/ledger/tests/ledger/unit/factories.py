"""Builders of domain facts for the unit tests, and a driver that runs them through the decider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from arshield_ledger.domain.commands import (
    Allocation,
    CancelInvoice,
    Command,
    InstalmentTerms,
    IssueCreditNote,
    IssueInvoice,
    RaiseDispute,
    ReceivePayment,
    ResolveDispute,
    StartBusinessDay,
)
from arshield_ledger.domain.decide import Account, work
from arshield_ledger.domain.events import (
    Anomaly,
    AnomalyRecorded,
    Entry,
    EntryPosted,
    Event,
    InstalmentAnnouncedOverdue,
    InvoiceBalanceChanged,
    InvoiceSettled,
    PaymentLeftUnapplied,
)
from arshield_ledger.domain.evolve import evolve_all
from arshield_ledger.domain.state import BuyerLedger, fingerprint

D = Decimal


def invoice(
    invoice_id: str,
    amount: str | int,
    due_on: date,
    issued_on: date = date(2025, 1, 1),
    currency: str = "EUR",
    instalments: tuple[tuple[int, date, str | int], ...] = (),
) -> IssueInvoice:
    parts = tuple(InstalmentTerms(seq, due, D(a)) for seq, due, a in instalments)
    content = fingerprint(
        {
            "id": invoice_id,
            "amount": str(amount),
            "due": due_on,
            "issued": issued_on,
            "currency": currency,
            "parts": [(p.seq, p.due_on, str(p.amount)) for p in parts],
        }
    )
    return IssueInvoice(
        invoice_id, f"N-{invoice_id}", currency, D(amount), issued_on, due_on, parts, content
    )


def payment(
    payment_id: str,
    amount: str | int | Decimal,
    received_on: date,
    currency: str = "EUR",
    allocations: tuple[tuple[str, str | int | Decimal], ...] = (),
) -> ReceivePayment:
    allocs = tuple(Allocation(i, D(a)) for i, a in allocations)
    content = fingerprint(
        {
            "id": payment_id,
            "amount": str(amount),
            "on": received_on,
            "currency": currency,
            "alloc": [(a.invoice_id, str(a.amount)) for a in allocs],
        }
    )
    return ReceivePayment(payment_id, currency, D(amount), received_on, allocs, content)


def credit_note(
    credit_note_id: str,
    invoice_id: str,
    amount: str | int | Decimal,
    issued_on: date,
    currency: str = "EUR",
) -> IssueCreditNote:
    content = fingerprint(
        {
            "id": credit_note_id,
            "inv": invoice_id,
            "amount": str(amount),
            "on": issued_on,
            "currency": currency,
        }
    )
    return IssueCreditNote(credit_note_id, invoice_id, currency, D(amount), issued_on, content)


def cancel(invoice_id: str, on: date) -> CancelInvoice:
    return CancelInvoice(invoice_id, on, "wrong customer")


def dispute(
    dispute_id: str, invoice_id: str, amount: str | int | Decimal, on: date, currency: str = "EUR"
) -> RaiseDispute:
    return RaiseDispute(dispute_id, invoice_id, currency, D(amount), on, "damaged goods")


def resolve(
    dispute_id: str,
    invoice_id: str,
    on: date,
    outcome: str = "rejected",
    credit_note_id: str | None = None,
) -> ResolveDispute:
    return ResolveDispute(dispute_id, invoice_id, outcome, on, credit_note_id)


STATE = TypeAdapter(BuyerLedger)


@dataclass(frozen=True)
class Announced:
    """An overdue announcement as published (`seq` None for an invoice without instalments)."""

    invoice_id: str
    seq: int | None
    days_overdue: int
    bucket: str


class Decided:
    """The events of one decision, by kind."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    @property
    def empty(self) -> bool:
        return not self.events

    @property
    def entries(self) -> list[Entry]:
        return [e.entry for e in self.events if isinstance(e, EntryPosted)]

    @property
    def anomalies(self) -> list[Anomaly]:
        return [e.anomaly for e in self.events if isinstance(e, AnomalyRecorded)]

    @property
    def balances(self) -> list[InvoiceBalanceChanged]:
        return [e for e in self.events if isinstance(e, InvoiceBalanceChanged)]

    @property
    def settled(self) -> list[InvoiceSettled]:
        return [e for e in self.events if isinstance(e, InvoiceSettled)]

    @property
    def unapplied(self) -> list[PaymentLeftUnapplied]:
        return [e for e in self.events if isinstance(e, PaymentLeftUnapplied)]

    @property
    def overdue(self) -> list[Announced]:
        return [
            Announced(e.invoice_id, e.seq or None, e.days_overdue, e.bucket)
            for e in self.events
            if isinstance(e, InstalmentAnnouncedOverdue)
        ]


class LedgerDriver:
    """One buyer's ledger run through `decide` and `evolve`, as the kernel runs it.

    After every decision it checks that the state `evolve` derives from the events equals the
    working copy `decide` computed on (the events describe the whole change).
    """

    def __init__(self, state: BuyerLedger | None = None) -> None:
        self.state = state or BuyerLedger()

    def run(self, command: Command) -> Decided:
        working = work(self.state, command)
        after = evolve_all(self.state, working.events)
        assert Account.of(after) == working, "evolve disagrees with decide's working copy"
        self.state = after
        return Decided(working.events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)

    def issue(self, fact: IssueInvoice) -> Decided:
        return self.run(fact)

    def receive_payment(self, fact: ReceivePayment) -> Decided:
        return self.run(fact)

    def issue_credit_note(self, fact: IssueCreditNote) -> Decided:
        return self.run(fact)

    def cancel_invoice(self, fact: CancelInvoice) -> Decided:
        return self.run(fact)

    def raise_dispute(self, fact: RaiseDispute) -> Decided:
        return self.run(fact)

    def resolve_dispute(self, fact: ResolveDispute) -> Decided:
        return self.run(fact)

    def start_business_day(self, business_date: date) -> Decided:
        return self.run(StartBusinessDay(business_date))
