"""Trade credit insurance facts (topic `arshield.insurance`): cover, notifications, claims.

`insurance_policy_id` is the policy with the insurer; `policy_version` is the tenant's rules version
that produced a decision (as in the other contexts).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import (
    BusinessDate,
    DocumentRef,
    Id,
    IdList,
    NonNegativeMoney,
    Percentage,
    PolicyVersion,
    PositiveMoney,
    ShortText,
    Text,
    same_currency,
)
from arshield_events.money import (
    CurrencyCode,
    Money,
    format_decimal,
    round_to_minor_units,
    sum_money,
)

CoverChange = Literal["granted", "increased", "reduced", "withdrawn"]
CoverDecidedBy = Literal["insurer", "insured"]
CoverDecision = Literal["full", "partial", "refused", "reduced", "withdrawn", "discretionary"]
"""The insurer's answer to a limit request (full, partial, refused), its own reduction or
withdrawal, or a discretionary limit the insured set."""
"""`insured`: a discretionary limit the insured sets itself; it lapses once the insurer decides."""
StopSupplyReason = Literal["maximum_extension_period_expired", "cover_withdrawn", "insolvency"]
ClaimGround = Literal["insolvency", "protracted_default"]
ClaimOutcome = Literal["paid", "partially_paid", "rejected"]
DeadlineKind = Literal["collection_handover"]
"""A deadline of the policy that can pass without what it asks for (the overdue notification's
own lateness is `OverdueNotifiedToInsurer.in_time`)."""
DeadlineConsequence = Literal["claim_may_be_refused"]
"""What a missed deadline costs: the insurer may refuse or reduce a claim on the invoices."""
RecoveryMethod = Literal["oldest_first", "pro_rata"]
"""Before the claim date recoveries go to the oldest invoice first; after it, pro rata."""


class _InsuranceEvent(Payload):
    topic: ClassVar[str] = topics.INSURANCE


class CoverChanged(_InsuranceEvent):
    """The credit limit insured for the buyer; a reduction never affects shipments already made."""

    event_name: ClassVar[str] = "arshield.insurance.CoverChanged.v1"

    insurance_policy_id: Id
    buyer_id: Id
    change: CoverChange
    decided_by: CoverDecidedBy
    previous_cover: NonNegativeMoney | None = None
    cover: NonNegativeMoney
    notified_on: BusinessDate
    effective_on: BusinessDate
    decision_id: Id | None = None
    """The decision's own id (the insurer's answer or the insured's discretionary limit)."""
    decision: CoverDecision | None = None
    request_id: Id | None = None
    """The limit request the insurer answered, if any."""

    @field_validator("cover")
    @classmethod
    def _cover_currency(cls, value: Money, info: ValidationInfo) -> Money:
        same_currency(value, info.data.get("previous_cover"), "previous_cover")
        return value

    @field_validator("effective_on")
    @classmethod
    def _effective_after_notice(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        notified_on = info.data.get("notified_on")
        if notified_on is not None and value < notified_on:
            raise ValueError(f"effective_on {value} is before notified_on {notified_on}")
        return value


class OverdueNotifiedToInsurer(_InsuranceEvent):
    """Overdue invoices reported to the insurer; notice after `deadline_on` forfeits cover."""

    event_name: ClassVar[str] = "arshield.insurance.OverdueNotifiedToInsurer.v1"

    notification_id: Id
    insurance_policy_id: Id
    buyer_id: Id
    invoice_ids: IdList
    overdue_amount: PositiveMoney
    oldest_due_on: BusinessDate
    deadline_on: BusinessDate
    notified_on: BusinessDate

    @property
    def in_time(self) -> bool:
        return self.notified_on <= self.deadline_on


class StopSupplyRequired(_InsuranceEvent):
    """Supplies to the buyer must stop (e.g. the maximum extension period expired)."""

    event_name: ClassVar[str] = "arshield.insurance.StopSupplyRequired.v1"

    insurance_policy_id: Id
    buyer_id: Id
    reason: StopSupplyReason
    oldest_unpaid_invoice_id: Id | None = None
    policy_version: PolicyVersion
    required_on: BusinessDate


class ClaimFiled(_InsuranceEvent):
    """A claim on insolvency or at the end of the waiting period for protracted default.

    Indemnity claimed = min(insured outstanding, cover) x indemnity percentage.
    """

    event_name: ClassVar[str] = "arshield.insurance.ClaimFiled.v1"

    claim_id: Id
    insurance_policy_id: Id
    buyer_id: Id
    ground: ClaimGround
    invoice_ids: IdList
    insured_outstanding: PositiveMoney
    cover: NonNegativeMoney
    indemnity_percentage: Percentage
    claimed_indemnity: NonNegativeMoney
    evidence_refs: tuple[DocumentRef, ...] = ()
    policy_version: PolicyVersion
    filed_on: BusinessDate
    date_of_loss: BusinessDate | None = None
    """The insolvency date, or the end of the waiting period for protracted default."""

    @field_validator("cover")
    @classmethod
    def _cover_currency(cls, value: Money, info: ValidationInfo) -> Money:
        same_currency(value, info.data.get("insured_outstanding"), "insured_outstanding")
        return value

    @field_validator("claimed_indemnity")
    @classmethod
    def _indemnity_within_formula(cls, value: Money, info: ValidationInfo) -> Money:
        outstanding: Money | None = info.data.get("insured_outstanding")
        cover: Money | None = info.data.get("cover")
        percentage: Decimal | None = info.data.get("indemnity_percentage")
        same_currency(value, outstanding, "insured_outstanding")
        if outstanding is None or cover is None or percentage is None:
            return value
        if cover.currency != outstanding.currency:
            return value
        ceiling = round_to_minor_units(
            min(outstanding, cover).amount * percentage / 100, value.currency
        )
        if value.amount > ceiling:
            raise ValueError(
                f"claims {value}, more than min(outstanding, cover) x {percentage}% = "
                f"{format_decimal(ceiling)} {value.currency}"
            )
        return value


class ClaimSettled(_InsuranceEvent):
    event_name: ClassVar[str] = "arshield.insurance.ClaimSettled.v1"

    claim_id: Id
    insurance_policy_id: Id
    buyer_id: Id
    outcome: ClaimOutcome
    indemnity_paid: NonNegativeMoney
    reason: Text | None = None
    settled_on: BusinessDate

    @field_validator("indemnity_paid")
    @classmethod
    def _paid_matches_outcome(cls, value: Money, info: ValidationInfo) -> Money:
        outcome = info.data.get("outcome")
        if outcome == "rejected" and not value.is_zero:
            raise ValueError("a rejected claim pays no indemnity")
        if outcome in ("paid", "partially_paid") and value.is_zero:
            raise ValueError(f"outcome {outcome} needs the indemnity paid")
        return value


class RecoveryAllocated(_InsuranceEvent):
    """Money recovered from the buyer, shared between the insured and the insurer."""

    event_name: ClassVar[str] = "arshield.insurance.RecoveryAllocated.v1"

    recovery_id: Id
    insurance_policy_id: Id
    claim_id: Id | None = None
    buyer_id: Id
    recovered: PositiveMoney
    method: RecoveryMethod
    to_insured: NonNegativeMoney
    to_insurer: NonNegativeMoney
    allocated_on: BusinessDate

    @field_validator("to_insurer")
    @classmethod
    def _shares_add_up(cls, value: Money, info: ValidationInfo) -> Money:
        recovered: Money | None = info.data.get("recovered")
        to_insured: Money | None = info.data.get("to_insured")
        if recovered is None or to_insured is None:
            return value
        same_currency(to_insured, recovered, "recovered")
        same_currency(value, recovered, "recovered")
        total = sum_money((to_insured, value), recovered.currency)
        if total != recovered:
            raise ValueError(f"to_insured + to_insurer = {total}, but recovered is {recovered}")
        return value


class DeadlineMissed(_InsuranceEvent):
    """A deadline of the policy passed without what it asks for: e.g. no collection case handed to
    the insurer's agency within the days after MEP expiry. Raised on the first business day after
    `due_on`; `invoice_ids` are the buyer's open invoices past due that the deadline was about."""

    event_name: ClassVar[str] = "arshield.insurance.DeadlineMissed.v1"

    insurance_policy_id: Id
    buyer_id: Id
    deadline: DeadlineKind
    due_on: BusinessDate
    missed_on: BusinessDate
    invoice_ids: IdList
    oldest_due_on: BusinessDate
    consequence: DeadlineConsequence
    policy_version: PolicyVersion

    @field_validator("missed_on")
    @classmethod
    def _after_the_deadline(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        due_on = info.data.get("due_on")
        if due_on is not None and value <= due_on:
            raise ValueError(f"missed_on {value} is not after the deadline {due_on}")
        return value


class CoverLimitRequested(_InsuranceEvent):
    """The insured asks the insurer for a credit limit on the buyer (sent by signed webhook)."""

    event_name: ClassVar[str] = "arshield.insurance.CoverLimitRequested.v1"

    request_id: Id
    insurance_policy_id: Id
    buyer_id: Id
    requested: PositiveMoney
    requested_on: BusinessDate
    requested_by: ShortText | None = None


class InsurancePolicyWritten(_InsuranceEvent):
    """A version of a trade credit insurance policy (configuration on the log, ARCHITECTURE 1).

    It applies from `effective_on`, the business day after it was written; the insurer's webhook
    endpoint is named by `insurer_id` (its URL and secret stay out of the log). Keyed by the
    tenant (its subject is the tenant id), as configuration is the tenant's."""

    event_name: ClassVar[str] = "arshield.insurance.InsurancePolicyWritten.v1"
    tenant_keyed: ClassVar[bool] = True

    insurance_policy_id: Id
    version: int = Field(strict=True, ge=1)
    insurer: ShortText
    insurer_id: Id | None = None
    currency: CurrencyCode
    indemnity_percentage: Percentage
    discretionary_indemnity_percentage: Percentage
    max_credit_period_days: int = Field(strict=True, ge=1, le=720)
    mep_days: int = Field(strict=True, ge=0, le=720)
    notification_days_after_mep: int = Field(strict=True, ge=0, le=365)
    insolvency_notification_days: int = Field(strict=True, ge=0, le=365)
    handover_days_after_mep: int = Field(strict=True, ge=0, le=365)
    waiting_days_after_due: int = Field(strict=True, ge=0, le=1000)
    waiting_days_after_mep: int = Field(strict=True, ge=0, le=1000)
    reduction_notice_days: int = Field(strict=True, ge=0, le=365)
    claim_threshold: NonNegativeMoney
    discretionary_limit_ceiling: NonNegativeMoney
    aggregate_limit: NonNegativeMoney
    period_start_on: BusinessDate
    effective_on: BusinessDate
    written_by: ShortText | None = None


EVENTS: tuple[type[Payload], ...] = (
    CoverLimitRequested,
    InsurancePolicyWritten,
    CoverChanged,
    OverdueNotifiedToInsurer,
    StopSupplyRequired,
    ClaimFiled,
    ClaimSettled,
    RecoveryAllocated,
    DeadlineMissed,
)
