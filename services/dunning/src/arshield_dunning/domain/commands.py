"""What dunning can be asked to do for one buyer: the commands `decide` answers, and its refusal.

Facts from the ERP, the ledger and risk become commands in the wiring's translation table; time is
the command `StartBusinessDay`, built by the kernel's business day from the configuration in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_dunning.domain.claims import ClaimCalculator
from arshield_dunning.domain.policy import Policy, Segment
from arshield_dunning.domain.state import BillingContact, ContractTerms, InstalmentTerms, Money


class DunningError(Exception):
    """A command the state refuses (the API answers it with a problem document)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class RegisterBuyer:
    legal_name: str
    country: str | None
    segment: Segment
    language: str
    billing_contact: BillingContact | None = None


@dataclass(frozen=True)
class PutOnWatch:
    on_watch: bool
    reason: str


@dataclass(frozen=True)
class TrackInvoice:
    invoice_id: str
    invoice_number: str
    order_id: str | None
    issued_on: date
    delivered_on: date | None
    due_on: date
    amount: Money
    terms: ContractTerms | None = None
    traceparent: str | None = None
    """The trace the invoice's issue was consumed in (tracing metadata only)."""
    instalments: tuple[InstalmentTerms, ...] = ()


@dataclass(frozen=True)
class CancelInvoice:
    invoice_id: str
    on: date


@dataclass(frozen=True)
class ConfirmDelivery:
    invoice_id: str
    document_ref: str
    on: date


@dataclass(frozen=True)
class ApplyPayment:
    payment_id: str
    allocations: tuple[tuple[str, Decimal], ...]
    on: date


@dataclass(frozen=True)
class ApplyCreditNote:
    credit_note_id: str
    invoice_id: str
    amount: Decimal
    on: date


@dataclass(frozen=True)
class NoteLedgerBalance:
    invoice_id: str
    outstanding: Decimal
    status: str
    on: date


@dataclass(frozen=True)
class NoteSettlement:
    invoice_id: str
    on: date


@dataclass(frozen=True)
class RaiseDispute:
    dispute_id: str
    invoice_id: str
    on: date
    amount: Decimal | None = None
    """The contested amount (None: the whole invoice)."""


@dataclass(frozen=True)
class NoteCashOnAccount:
    """The ledger left cash on the buyer's account."""

    payment_id: str
    amount: Money
    on: date


@dataclass(frozen=True)
class NoteUnnamedPayment:
    """A payment that named no invoice (the ledger applies it)."""

    payment_id: str
    amount: Money
    on: date


@dataclass(frozen=True)
class ResolveDispute:
    dispute_id: str
    invoice_id: str
    outcome: str
    on: date
    credit_note_id: str | None = None
    """The credit note an upheld dispute names: it corrects the invoice."""


@dataclass(frozen=True)
class RecordPromise:
    promise_id: str
    invoice_ids: tuple[str, ...]
    promised_on: date
    amount: Decimal | None
    recorded_on: date
    grace_days: int
    recorded_by: str | None = None


@dataclass(frozen=True)
class StartBusinessDay:
    on: date
    policy: Policy
    claims: ClaimCalculator
    agency_id: str | None = None


@dataclass(frozen=True)
class RestorePromise:
    """A promise read back from dunning's own log (a rebuild restores it; live, the API applied it
    already): the same as `promise`, except that one the state refuses is skipped, not refused."""

    promise: RecordPromise


Command = (
    RegisterBuyer
    | PutOnWatch
    | TrackInvoice
    | CancelInvoice
    | ConfirmDelivery
    | ApplyPayment
    | ApplyCreditNote
    | NoteLedgerBalance
    | NoteSettlement
    | RaiseDispute
    | NoteCashOnAccount
    | NoteUnnamedPayment
    | ResolveDispute
    | RecordPromise
    | StartBusinessDay
    | RestorePromise
)
