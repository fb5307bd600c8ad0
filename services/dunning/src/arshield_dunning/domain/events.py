"""Dunning's own (private) events: what `decide` concludes and `evolve` applies.

Some are internal bookkeeping (an invoice became known, a payment lowered it); the rest are mapped
to the public `arshield_events.dunning` schemas in one adapter (`adapters/public_events.py`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arshield_dunning.domain.claims import Claim
from arshield_dunning.domain.letters import Letter
from arshield_dunning.domain.policy import Action, Policy, Segment
from arshield_dunning.domain.state import (
    BillingContact,
    Closure,
    ContractTerms,
    Frozen,
    InstalmentTerms,
    Money,
    Promise,
    Reduction,
)


class BuyerProfiled(Frozen):
    legal_name: str
    country: str | None
    segment: Segment
    language: str
    billing_contact: BillingContact | None


class WatchChanged(Frozen):
    """Risk or credit events moved the buyer onto (or off) the watch segment's shorter cycle."""

    on_watch: bool
    reason: str


class InvoiceTracked(Frozen):
    invoice_id: str
    invoice_number: str
    order_id: str | None
    issued_on: date
    delivered_on: date | None
    due_on: date
    amount: Money
    terms: ContractTerms | None
    traceparent: str | None = None
    instalments: tuple[InstalmentTerms, ...] = ()


class InvoiceReduced(Frozen):
    invoice_id: str
    reduction: Reduction


class PaymentSplit(Frozen):
    """What a payment settled of the costs and the interest before the principal, by the
    invoice's law (decided once, on the first business day that sees the payment)."""

    invoice_id: str
    source_id: str
    costs: Decimal
    interest: Decimal


class CorrectionNoted(Frozen):
    """An upheld dispute named `credit_note_id` as correcting the invoice: what it credits was
    never owed, so it bears no interest (from the due date, not from the note's date)."""

    invoice_id: str
    credit_note_id: str


class LedgerBalanceNoted(Frozen):
    invoice_id: str
    outstanding: Decimal
    on: date | None = None


class DeliveryNoted(Frozen):
    invoice_id: str
    document_ref: str
    confirmed_on: date


class InvoiceClosed(Frozen):
    """Settled or cancelled: everything still scheduled for the invoice is cancelled."""

    invoice_id: str
    closure: Closure
    on: date


class DisputeOpened(Frozen):
    invoice_id: str
    dispute_id: str
    on: date
    amount: Decimal | None = None
    """The contested amount (None: the whole invoice)."""


class CashOnAccountNoted(Frozen):
    """The ledger left cash on the buyer's account (a payment or a credit note's surplus)."""

    payment_id: str
    amount: Money
    on: date


class UnnamedPaymentNoted(Frozen):
    """A payment that named no invoice: the ledger applies it itself (oldest due first)."""

    payment_id: str
    amount: Money
    on: date


class DisputeClosed(Frozen):
    invoice_id: str
    dispute_id: str
    outcome: str
    on: date


class Paused(Frozen):
    invoice_id: str
    reason: str  # dispute | promise_to_pay
    reference_id: str
    on: date
    until: date | None = None


class Resumed(Frozen):
    invoice_id: str
    reason: str  # dispute_resolved | promise_broken | promise_kept_partially
    reference_id: str
    on: date


class PromiseRecorded(Frozen):
    promise: Promise


class PromiseEnded(Frozen):
    promise_id: str
    status: str  # kept | broken
    paid: Decimal
    on: date


class ActionTaken(Frozen):
    """One timeline action was carried out for an invoice, with the facts that caused it."""

    invoice_id: str
    action: Action
    level: int
    on: date
    planned_on: date | None
    policy_version: str
    outstanding: Money
    days_overdue: int
    facts: dict[str, str]
    letter: Letter | None = None
    claim: Claim | None = None


class InvoiceEvaluated(Frozen):
    invoice_id: str
    through: date


class TimelineMoved(Frozen):
    """The instalments the invoice's levels were reached for are paid: its timeline starts again,
    from level 0, at the next instalment still pursued (each instalment is escalated on its own
    due date)."""

    invoice_id: str
    due_on: date
    previous: date
    on: date


class StatementIssued(Frozen):
    on: date
    policy_version: str
    letter: Letter
    overdue: Decimal


class ControllerAssigned(Frozen):
    on: date
    policy_version: str
    balance: Money
    threshold: Decimal


class CaseOpened(Frozen):
    case_id: str
    invoice_ids: tuple[str, ...]
    amount: Money
    interest: Decimal = Decimal(0)
    compensation: tuple[Money, ...] = ()
    claims: tuple[tuple[str, Claim], ...] = ()
    """Each invoice's claim on the day (interest and compensation)."""
    evidence: tuple[tuple[str, str, str | None], ...]
    """(kind, document_ref, invoice_id) for each piece of evidence."""
    on: date
    policy_version: str
    agency_id: str | None


class PolicyApplied(Frozen):
    """A business day was decided under `policy` (the buyer's wake-ups are planned by it)."""

    policy: Policy


DomainEvent = (
    BuyerProfiled
    | WatchChanged
    | InvoiceTracked
    | InvoiceReduced
    | PaymentSplit
    | CorrectionNoted
    | LedgerBalanceNoted
    | DeliveryNoted
    | InvoiceClosed
    | DisputeOpened
    | DisputeClosed
    | Paused
    | Resumed
    | PromiseRecorded
    | PromiseEnded
    | ActionTaken
    | InvoiceEvaluated
    | TimelineMoved
    | StatementIssued
    | ControllerAssigned
    | CaseOpened
    | PolicyApplied
    | CashOnAccountNoted
    | UnnamedPaymentNoted
)
