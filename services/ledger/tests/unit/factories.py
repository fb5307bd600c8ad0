"""Builders of domain facts for the unit tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arshield_ledger.domain.model import (
    Allocation,
    CancelInvoice,
    InstalmentTerms,
    IssueCreditNote,
    IssueInvoice,
    RaiseDispute,
    ReceivePayment,
    ResolveDispute,
    fingerprint,
)

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
