"""What the service is asked to do about one buyer: facts from the log, requests from the API,
the insurer's callbacks, and the business day (the deadline engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import (
    ClaimOutcome,
    DecidedBy,
    Decision,
    Evidence,
    Invoice,
)


class InsuranceError(Exception):
    """A command refused by the rules (an event is dead-lettered with this reason)."""


@dataclass(frozen=True)
class TrackInvoice:
    invoice: Invoice


@dataclass(frozen=True)
class CancelInvoice:
    invoice_id: str


@dataclass(frozen=True)
class ApplyCreditNote:
    credit_note_id: str
    invoice_id: str
    amount: Decimal


@dataclass(frozen=True)
class ConfirmDelivery:
    invoice_id: str
    on: date
    document_ref: str


@dataclass(frozen=True)
class ReceivePayment:
    payment_id: str
    amount: Decimal
    currency: str
    received_on: date
    allocations: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class NoteBalance:
    """The ledger's outstanding for an invoice: it decides how payments were applied."""

    invoice_id: str
    outstanding: Decimal
    status: str


@dataclass(frozen=True)
class RaiseDispute:
    invoice_id: str
    dispute_id: str | None = None
    amount: Decimal | None = None
    """The disputed amount (None: the whole invoice)."""


@dataclass(frozen=True)
class ResolveDispute:
    invoice_id: str
    dispute_id: str | None = None


@dataclass(frozen=True)
class NoteInsolvency:
    insolvent_on: date
    notice_ref: str | None = None


@dataclass(frozen=True)
class NoteEvidence:
    evidence: Evidence


@dataclass(frozen=True)
class NoteHandover:
    on: date


@dataclass(frozen=True)
class RequestLimit:
    request_id: str
    policy: InsurancePolicy
    amount: Decimal
    requested_on: date
    requested_by: str | None = None


@dataclass(frozen=True)
class ForgetPolicy:
    """A new version of the policy was written: the buyer's deadlines are planned afresh under
    it from the next business day."""

    policy_id: str


@dataclass(frozen=True)
class RecordCover:
    """A cover decision: the insurer's (answering a request, or reducing), or a discretionary
    limit the insured sets. A decision already recorded (same id) changes nothing."""

    decision_id: str
    decided_by: DecidedBy
    decision: Decision
    amount: Decimal
    currency: str
    notified_on: date
    effective_on: date
    policy: InsurancePolicy
    request_id: str | None = None


@dataclass(frozen=True)
class SettleClaim:
    claim_id: str
    outcome: ClaimOutcome
    indemnity_paid: Decimal
    settled_on: date
    reason: str | None = None


@dataclass
class AggregateBudget:
    """What is left of each policy's aggregate limit in the policy year, shared by the buyers of
    one business day (the wiring spends it as claims are filed, in the order they are)."""

    remaining: dict[str, Decimal] = field(default_factory=dict)

    def left(self, policy_id: str) -> Decimal | None:
        return self.remaining.get(policy_id)

    def spend(self, policy_id: str, amount: Decimal) -> None:
        if policy_id in self.remaining:
            self.remaining[policy_id] -= amount


@dataclass(frozen=True)
class StartBusinessDay:
    on: date
    policy: InsurancePolicy
    budget: AggregateBudget | None = field(default=None, compare=False)


Command = (
    TrackInvoice
    | CancelInvoice
    | ApplyCreditNote
    | ConfirmDelivery
    | ReceivePayment
    | NoteBalance
    | RaiseDispute
    | ResolveDispute
    | NoteInsolvency
    | NoteEvidence
    | NoteHandover
    | RequestLimit
    | ForgetPolicy
    | RecordCover
    | SettleClaim
    | StartBusinessDay
)
