"""What credit-assessment is asked to do for one buyer (from public facts, ticks and the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_credit_assessment.domain.events import Decision
from arshield_credit_assessment.domain.policy import CreditPolicy
from arshield_credit_assessment.domain.review import Review, Terms


class CreditError(Exception):
    """A fact credit-assessment refuses (dead-lettered with this reason)."""


@dataclass(frozen=True)
class RegisterBuyer:
    legal_name: str
    country: str
    on: date


@dataclass(frozen=True)
class NoteGrade:
    grade: int
    reason: str
    on: date


@dataclass(frozen=True)
class NoteAlert:
    level: str
    detail: str
    on: date


@dataclass(frozen=True)
class NoteFinancials:
    equity: Decimal | None
    currency: str | None
    period_end: date
    on: date


@dataclass(frozen=True)
class NoteCover:
    amount: Decimal
    currency: str
    effective_on: date
    notified_on: date


@dataclass(frozen=True)
class SetExpectedSales:
    amount: Decimal
    currency: str
    on: date


@dataclass(frozen=True)
class PlaceHold:
    """A hold only a person lifts: stop-supply from the insurer, insolvency."""

    cause: str
    reason: str
    on: date
    insolvent: bool = False


@dataclass(frozen=True)
class PlaceOrder:
    order_id: str
    amount: Decimal
    currency: str
    placed_on: date
    terms_days: int | None
    terms: Terms | None
    request_id: str


@dataclass(frozen=True)
class CancelOrder:
    order_id: str


@dataclass(frozen=True)
class TrackInvoice:
    invoice_id: str
    currency: str
    amount: Decimal
    due_on: date
    order_id: str | None
    on: date
    terms: Terms | None


@dataclass(frozen=True)
class CloseInvoice:
    """The invoice no longer counts in exposure (cancelled in the ERP)."""

    invoice_id: str
    on: date


@dataclass(frozen=True)
class NoteBalance:
    invoice_id: str
    currency: str
    outstanding: Decimal
    on: date
    closed: bool = False
    due_on: date | None = None
    days_overdue: int | None = None


@dataclass(frozen=True)
class NoteSettled:
    invoice_id: str
    days_late: int
    on: date


@dataclass(frozen=True)
class StartDay:
    on: date
    policy: CreditPolicy
    tenant_law: str | None = None


@dataclass(frozen=True)
class AdoptPolicy:
    """A buyer first seen between two ticks adopts the version in force (and the tenant's law)
    at once, instead of waiting for its first business day under the built-in default."""

    policy: CreditPolicy
    tenant_law: str | None = None


@dataclass(frozen=True)
class RestoreDecision:
    """A decision read back from our own topic (made over HTTP, or by a person)."""

    decision: Decision


@dataclass(frozen=True)
class RestoreRelease:
    hold_id: str
    reason: str
    released_on: date
    released_by: str


@dataclass(frozen=True)
class RestoreReview:
    review_id: str
    subject: str
    review: Review
    policy_version: str
    reviewed_on: date


Command = (
    AdoptPolicy
    | RegisterBuyer
    | NoteGrade
    | NoteAlert
    | NoteFinancials
    | NoteCover
    | SetExpectedSales
    | PlaceHold
    | PlaceOrder
    | CancelOrder
    | TrackInvoice
    | NoteBalance
    | CloseInvoice
    | NoteSettled
    | StartDay
    | RestoreDecision
    | RestoreRelease
    | RestoreReview
)
