"""Credit-assessment's private events: what `evolve` applies and the public mapping publishes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from arshield_credit_assessment.domain.policy import CreditPolicy
from arshield_credit_assessment.domain.review import Review
from arshield_credit_assessment.domain.state import Hold, Limit, OpenInvoice, OpenOrder


@dataclass(frozen=True)
class Decision:
    """An answer to a credit check (or a person's answer to a referral)."""

    decision_id: str
    request_id: str
    order_id: str | None
    currency: str
    requested: Decimal
    decision: str
    reason_codes: tuple[str, ...]
    reasons: tuple[str, ...]
    credit_limit: Decimal | None
    exposure_before: Decimal
    exposure_after: Decimal
    policy_version: str
    decided_on: date
    decided_by: str | None = None
    referred_decision_id: str | None = None


@dataclass(frozen=True)
class Noted:
    """Facts about the buyer that only change its state (grade, financials, cover, sales ...)."""

    changes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class OrderOpened:
    order: OpenOrder


@dataclass(frozen=True)
class OrderClosed:
    order_id: str


@dataclass(frozen=True)
class InvoiceKept:
    invoice: OpenInvoice


@dataclass(frozen=True)
class InvoiceClosed:
    invoice_id: str
    settled: bool = False
    days_late: int = 0


@dataclass(frozen=True)
class DayStarted:
    on: date


@dataclass(frozen=True)
class PolicyAdopted:
    policy: CreditPolicy


@dataclass(frozen=True)
class LimitSet:
    limit: Limit
    previous: Limit | None
    seq: int
    limit_changed: bool
    terms_changed: bool


@dataclass(frozen=True)
class HoldPlaced:
    hold: Hold


@dataclass(frozen=True)
class HoldReleased:
    hold: Hold
    reason: str
    released_on: date
    released_by: str | None


@dataclass(frozen=True)
class DecisionMade:
    decision: Decision
    public: bool = True
    """False when read back from the log (it was published when it was made)."""


@dataclass(frozen=True)
class ContractReviewDone:
    review_id: str
    subject: str
    review: Review
    policy_version: str
    reviewed_on: date
    public: bool = True


@dataclass(frozen=True)
class InvoiceFlagged:
    invoice_id: str
    rules: tuple[str, ...]


Event = (
    Noted
    | OrderOpened
    | OrderClosed
    | InvoiceKept
    | InvoiceClosed
    | DayStarted
    | PolicyAdopted
    | LimitSet
    | HoldPlaced
    | HoldReleased
    | DecisionMade
    | ContractReviewDone
    | InvoiceFlagged
)
