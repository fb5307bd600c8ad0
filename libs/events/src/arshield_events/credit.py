"""Credit-assessment decisions (topic `arshield.credit`): scores, limits, terms, holds, checks.

Every decision names the `policy_version` (tenant rules as data) that produced it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import (
    BusinessDate,
    CountryCode,
    Grade,
    Id,
    NonNegativeMoney,
    Part,
    PolicyVersion,
    PositiveMoney,
    ShortText,
    Text,
    same_currency,
)
from arshield_events.money import CurrencyCode, Money

Security = Literal["open_account", "letter_of_credit", "bank_guarantee", "prepayment"]
"""How the buyer must secure a sale: open account is unsecured; the worst grades prepay."""
Decision = Literal["approved", "referred", "declined"]
HoldCause = Literal["overdue", "downgrade", "insolvency", "stop_supply", "manual"]
Severity = Literal["error", "warning"]
ContractJurisdiction = Literal["EU", "DE", "FR", "UK", "CN"]

Reasons = tuple[Text, ...]


class _CreditEvent(Payload):
    topic: ClassVar[str] = topics.CREDIT


class BuyerScored(_CreditEvent):
    """A credit score from payment behaviour, financials, external grade and events.

    Superseded by `arshield.risk.BuyerScored.v1` (risk-monitor owns the grade); kept so that
    logs written with it still parse."""

    event_name: ClassVar[str] = "arshield.credit.BuyerScored.v1"

    buyer_id: Id
    score: int = Field(strict=True, ge=0, le=1000, description="0 worst ... 1000 best")
    grade: Grade
    previous_grade: Grade | None = None
    reasons: Reasons = ()
    policy_version: PolicyVersion
    scored_on: BusinessDate


class CreditLimitChanged(_CreditEvent):
    """A new credit limit (and the terms that go with it) for new orders from `effective_on`."""

    event_name: ClassVar[str] = "arshield.credit.CreditLimitChanged.v1"

    buyer_id: Id
    previous_limit: NonNegativeMoney | None = None
    new_limit: NonNegativeMoney
    payment_terms_days: int = Field(strict=True, ge=0, le=3650)
    security: Security
    reason: Text
    policy_version: PolicyVersion
    effective_on: BusinessDate

    @field_validator("new_limit")
    @classmethod
    def _same_currency_as_before(cls, value: Money, info: ValidationInfo) -> Money:
        same_currency(value, info.data.get("previous_limit"), "previous_limit")
        return value


class CreditTermsChanged(_CreditEvent):
    """Payment terms and security required for new sales to the buyer."""

    event_name: ClassVar[str] = "arshield.credit.CreditTermsChanged.v1"

    buyer_id: Id
    previous_payment_terms_days: int | None = Field(strict=True, default=None, ge=0, le=3650)
    payment_terms_days: int = Field(strict=True, ge=0, le=3650)
    previous_security: Security | None = None
    security: Security
    reason: Text
    policy_version: PolicyVersion
    effective_on: BusinessDate


class CreditHoldPlaced(_CreditEvent):
    """No new orders ship to the buyer until the hold is released."""

    event_name: ClassVar[str] = "arshield.credit.CreditHoldPlaced.v1"

    hold_id: Id
    buyer_id: Id
    cause: HoldCause
    reason: Text
    invoice_ids: tuple[Id, ...] = Field(default=(), description="overdue invoices behind the hold")
    policy_version: PolicyVersion
    placed_on: BusinessDate


class CreditHoldReleased(_CreditEvent):
    event_name: ClassVar[str] = "arshield.credit.CreditHoldReleased.v1"

    hold_id: Id
    buyer_id: Id
    reason: Text
    released_on: BusinessDate
    released_by: ShortText | None = Field(
        default=None, description="the person who lifted the hold (null: released by the rules)"
    )


class CreditDecisionMade(_CreditEvent):
    """The answer to a credit check for an order: approved, referred to a person, or declined."""

    event_name: ClassVar[str] = "arshield.credit.CreditDecisionMade.v1"

    decision_id: Id
    request_id: Id
    buyer_id: Id
    order_id: Id | None = None
    requested: PositiveMoney
    decision: Decision
    reasons: Reasons = Field(default=(), validate_default=True)
    credit_limit: NonNegativeMoney | None = None
    exposure_before: NonNegativeMoney
    exposure_after: NonNegativeMoney
    policy_version: PolicyVersion
    decided_on: BusinessDate
    reason_codes: tuple[Id, ...] = Field(
        default=(), description="machine-readable codes of `reasons`, in the same order"
    )
    decided_by: ShortText | None = Field(
        default=None, description="the person who decided a referred order (null: the rules)"
    )
    referred_decision_id: Id | None = Field(
        default=None, description="the referral a person's decision answers"
    )

    @field_validator("reasons")
    @classmethod
    def _refusals_say_why(cls, value: Reasons, info: ValidationInfo) -> Reasons:
        decision = info.data.get("decision")
        if decision in ("referred", "declined") and not value:
            raise ValueError(f"a {decision} decision must give at least one reason")
        return value

    @field_validator("credit_limit", "exposure_before", "exposure_after")
    @classmethod
    def _one_currency(cls, value: Money | None, info: ValidationInfo) -> Money | None:
        if value is not None:
            same_currency(value, info.data.get("requested"), "the requested amount")
        return value


class GradeBand(Part):
    """What the credit policy sets for a run of grades (`from_grade`..`to_grade`, inclusive).

    Amounts are in the policy's currency; percentages are 0..100."""

    from_grade: int = Field(strict=True, ge=1, le=10)
    to_grade: int = Field(strict=True, ge=1, le=10)
    max_terms_days: int = Field(strict=True, ge=0, le=3650)
    security: Security
    secured_above_percent: Decimal | None = Field(
        default=None,
        ge=0,
        le=100,
        description="share of the limit above which a sale must be secured (null: never)",
    )
    capacity_percent_of_equity: Decimal = Field(ge=0, le=100)
    grade_cap: Decimal = Field(ge=0, description="capacity when no financials are known")
    uninsured_appetite: Decimal = Field(ge=0)
    review_months: int = Field(strict=True, ge=1, le=60)


class CreditPolicyPublished(_CreditEvent):
    """A new version of the tenant's credit policy; it is in force from the next business day.

    Configuration on the log (ARCHITECTURE decision 1): a rebuild re-decides history under the
    version that was in force at the time."""

    event_name: ClassVar[str] = "arshield.credit.CreditPolicyPublished.v1"
    tenant_keyed: ClassVar[bool] = True

    version: int = Field(strict=True, ge=1)
    policy_version: PolicyVersion
    currency: CurrencyCode
    bands: tuple[GradeBand, ...] = Field(min_length=1, max_length=10)
    hold_overdue_days: int = Field(strict=True, ge=0, le=3650)
    referral_tolerance_percent: Decimal = Field(ge=100, le=1000)
    unrated_grade: int = Field(strict=True, ge=1, le=10)
    retention_of_title_required: tuple[CountryCode, ...] = ()
    published_by: ShortText
    published_on: BusinessDate
    effective_on: BusinessDate = Field(description="the business day it is in force from")


class ExpectedSalesRecorded(_CreditEvent):
    """What the tenant expects to sell the buyer per month: the `need` input of its limit."""

    event_name: ClassVar[str] = "arshield.credit.ExpectedSalesRecorded.v1"

    buyer_id: Id
    monthly_sales: NonNegativeMoney
    recorded_by: ShortText
    recorded_on: BusinessDate


class ContractFinding(Part):
    rule: Id
    severity: Severity
    law: Text
    detail: Text


class ContractReviewed(_CreditEvent):
    """The review of an order's or invoice's contract terms under the applicable law."""

    event_name: ClassVar[str] = "arshield.credit.ContractReviewed.v1"

    review_id: Id
    buyer_id: Id
    subject: Id = Field(description="the order, invoice or request reviewed")
    jurisdiction: ContractJurisdiction
    compliant: bool
    findings: tuple[ContractFinding, ...] = ()
    policy_version: PolicyVersion
    reviewed_on: BusinessDate


EVENTS: tuple[type[Payload], ...] = (
    BuyerScored,
    CreditLimitChanged,
    CreditTermsChanged,
    CreditHoldPlaced,
    CreditHoldReleased,
    CreditDecisionMade,
    CreditPolicyPublished,
    ExpectedSalesRecorded,
    ContractReviewed,
)
