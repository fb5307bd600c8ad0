"""The ledger's private domain events: what a decision did to a buyer's sub-ledger, in order.

Each event is a past-tense fact that `evolve` applies to the state; together, a decision's events
describe its whole change. `EntryPosted` carries the dated ledger entries (the time-travel read
models are made of them; a movement of an instalment's outstanding amount, of cash on account, or a
non-monetary fact in an invoice's history); the others say what else changed. Some only inform the
public mapping and the projections (`evolve` has nothing to change for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_events.ledger import InvoiceStatus
from arshield_ledger.domain.commands import InstalmentTerms, PendingFact
from arshield_ledger.domain.state import Bucket


@dataclass(frozen=True)
class Entry:
    """A dated movement of the buyer's receivable (amount > 0: the buyer owes more).

    `invoice_id` None is the buyer's unapplied cash; kinds with amount 0 are non-monetary facts in
    an invoice's history (dispute raised/resolved, overdue announced).
    """

    entry_no: int
    invoice_id: str | None
    seq: int | None
    currency: str
    effective_on: date
    kind: str
    amount: Decimal
    ref: str
    detail: str = ""


@dataclass(frozen=True)
class Anomaly:
    anomaly_no: int
    kind: str
    occurred_on: date
    invoice_id: str | None
    ref: str
    detail: str


@dataclass(frozen=True)
class InvoiceRecorded:
    """A new invoice with its instalments (their amounts are owed by its `issued` entries)."""

    invoice_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    issued_on: date
    due_on: date
    content: str
    instalments: tuple[InstalmentTerms, ...]
    payment_terms_days: int
    jurisdiction: str | None
    agreed_annual_rate: Decimal | None
    signed_on: date | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None


@dataclass(frozen=True)
class EntryPosted:
    entry: Entry


@dataclass(frozen=True)
class AnomalyRecorded:
    """A judgement call taken (overpayment, fact before its invoice, ...)."""

    anomaly: Anomaly


@dataclass(frozen=True)
class FactAccepted:
    """A payment or credit note was taken, with its content's fingerprint (to tell re-sends)."""

    fact_id: str
    content: str


@dataclass(frozen=True)
class FactDeferred:
    """A fact naming an unknown invoice waits for it."""

    fact: PendingFact


@dataclass(frozen=True)
class DeferredFactsTaken:
    """The invoice arrived: the facts waiting for it are applied (their events follow)."""

    invoice_id: str


@dataclass(frozen=True)
class InvoiceCredited:
    invoice_id: str
    credit_note_id: str
    amount: Decimal


@dataclass(frozen=True)
class InvoiceCancelled:
    invoice_id: str
    cancelled_on: date


@dataclass(frozen=True)
class InvoiceWrittenOff:
    invoice_id: str
    written_off_on: date


@dataclass(frozen=True)
class DisputeOpened:
    invoice_id: str
    dispute_id: str
    amount: Decimal


@dataclass(frozen=True)
class DisputeClosed:
    """A dispute ended (or was raised after its resolution had arrived, which then closes it)."""

    invoice_id: str
    dispute_id: str
    outcome: str
    resolution_was_held: bool = False


@dataclass(frozen=True)
class ResolutionHeld:
    """A dispute's resolution arrived before the dispute; it waits for it."""

    dispute_id: str
    outcome: str


@dataclass(frozen=True)
class CashReleasedFromEarmark:
    """Cash named for an invoice is free for any invoice in its currency."""

    currency: str
    cash_no: int


@dataclass(frozen=True)
class CashDrawn:
    """Cash on account was applied to an invoice (its `cash_applied` entry says which)."""

    currency: str
    cash_no: int
    amount: Decimal


@dataclass(frozen=True)
class CashExhausted:
    currency: str
    cash_no: int


@dataclass(frozen=True)
class PaymentLeftUnapplied:
    """Cash (a payment, a credit note's surplus) that matched no open invoice."""

    payment_id: str
    amount: Decimal
    currency: str
    received_on: date


@dataclass(frozen=True)
class InstalmentAnnouncedOverdue:
    invoice_id: str
    seq: int
    """0 for an invoice without instalments."""
    due_on: date
    outstanding: Decimal
    currency: str
    days_overdue: int
    bucket: Bucket
    level: int
    as_of: date
    disputed: bool = False


@dataclass(frozen=True)
class InvoiceBalanceChanged:
    invoice_id: str
    outstanding: Decimal
    currency: str
    status: InvoiceStatus
    changed_on: date


@dataclass(frozen=True)
class InvoiceSettled:
    """Paid in full (by payment; an invoice closed by credit notes alone is `credited`)."""

    invoice_id: str
    settled_on: date
    days_late: int
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class TenantLawAdopted:
    """The tenant's law the ledger splits payments by, for invoices without contract terms."""

    jurisdiction: str | None
    is_sme: bool | None


Event = (
    InvoiceRecorded
    | EntryPosted
    | AnomalyRecorded
    | FactAccepted
    | FactDeferred
    | DeferredFactsTaken
    | InvoiceCredited
    | InvoiceCancelled
    | InvoiceWrittenOff
    | DisputeOpened
    | DisputeClosed
    | ResolutionHeld
    | CashReleasedFromEarmark
    | CashDrawn
    | CashExhausted
    | PaymentLeftUnapplied
    | InstalmentAnnouncedOverdue
    | InvoiceBalanceChanged
    | InvoiceSettled
    | TenantLawAdopted
)
