"""Dunning facts (topic `arshield.dunning`): the monitoring timeline, letters, promises, cases.

Every decision names the `policy_version` (the tenant's timeline as data) that produced it. Letter
and evidence references point at rendered documents; the documents themselves never travel here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import (
    BusinessDate,
    DocumentRef,
    Id,
    IdList,
    LanguageTag,
    NonNegativeMoney,
    Part,
    PolicyVersion,
    PositiveMoney,
    ShortText,
    Text,
    same_currency,
)
from arshield_events.money import Money

DunningLevel = Literal["first_overdue_notice", "formal_notice", "agency_handover"]
"""The tenant's three warning levels, in order of escalation."""
DUNNING_LEVELS: tuple[DunningLevel, ...] = (
    "first_overdue_notice",
    "formal_notice",
    "agency_handover",
)
DunningAction = Literal["overdue_notice", "legal_letter", "agency_handover"]
"""What reaching a level did: an overdue notice, a legal letter claiming interest and
compensation, or a hand-over to a collection agency."""
InterestBasis = Literal["statutory", "agreed"]
Channel = Literal["email", "letter", "portal"]
PauseReason = Literal["dispute", "promise_to_pay", "insolvency", "manual"]
ResumeReason = Literal[
    "dispute_resolved", "promise_broken", "promise_kept_partially", "insolvency_lifted", "manual"
]
EvidenceKind = Literal[
    "invoice",
    "proof_of_delivery",
    "statement_of_account",
    "correspondence",
    "legal_letter",
    "contract",
    "other",
]
AgencyCaseStatus = Literal["accepted", "collecting", "payment_collected", "closed"]


class _DunningEvent(Payload):
    topic: ClassVar[str] = topics.DUNNING


class ReceiptConfirmationRequested(_DunningEvent):
    """Delivery + 7 days without proof of receipt: ask the buyer to confirm it."""

    event_name: ClassVar[str] = "arshield.dunning.ReceiptConfirmationRequested.v1"

    invoice_id: Id
    buyer_id: Id
    delivered_on: BusinessDate | None = None
    letter_id: Id
    channel: Channel
    language: LanguageTag
    policy_version: PolicyVersion
    requested_on: BusinessDate


class PaymentReminderSent(_DunningEvent):
    """A friendly reminder before (or at) the due date, to prevent oversight."""

    event_name: ClassVar[str] = "arshield.dunning.PaymentReminderSent.v1"

    invoice_id: Id
    instalment_seq: int | None = Field(strict=True, default=None, ge=1)
    buyer_id: Id
    due_on: BusinessDate
    outstanding: PositiveMoney
    letter_id: Id
    channel: Channel
    language: LanguageTag
    policy_version: PolicyVersion
    sent_on: BusinessDate


class DunningLevelReached(_DunningEvent):
    """An overdue invoice reached a warning level; the amounts are those claimed in the letter."""

    event_name: ClassVar[str] = "arshield.dunning.DunningLevelReached.v1"

    invoice_id: Id
    buyer_id: Id
    level: DunningLevel
    action: DunningAction
    letter_id: Id | None = Field(default=None, description="the letter sent, if any")
    claimed_principal: PositiveMoney
    interest_basis: InterestBasis = "statutory"
    late_interest: NonNegativeMoney = Field(
        description="late-payment interest claimed, from the day after the due date"
    )
    fixed_compensation: NonNegativeMoney = Field(
        description="fixed recovery compensation (e.g. 40 EUR, or 40/70/100 GBP in the UK)"
    )
    days_overdue: int = Field(strict=True, ge=1)
    policy_version: PolicyVersion
    reached_on: BusinessDate

    @field_validator("late_interest")
    @classmethod
    def _interest_in_principal_currency(cls, value: Money, info: ValidationInfo) -> Money:
        same_currency(value, info.data.get("claimed_principal"), "claimed_principal")
        return value


class StatementOfAccountIssued(_DunningEvent):
    """A statement of the buyer's open items (monthly for core customers, for reconciliation)."""

    event_name: ClassVar[str] = "arshield.dunning.StatementOfAccountIssued.v1"

    statement_id: Id
    buyer_id: Id
    period_start_on: BusinessDate | None = None
    invoice_ids: tuple[Id, ...] = ()
    total_outstanding: NonNegativeMoney
    overdue: NonNegativeMoney
    document_ref: DocumentRef
    language: LanguageTag
    policy_version: PolicyVersion
    issued_on: BusinessDate

    @field_validator("overdue")
    @classmethod
    def _overdue_within_total(cls, value: Money, info: ValidationInfo) -> Money:
        total: Money | None = info.data.get("total_outstanding")
        same_currency(value, total, "total_outstanding")
        if total is not None and value > total:
            raise ValueError(f"overdue {value} exceeds total_outstanding {total}")
        return value


class PromiseToPayRecorded(_DunningEvent):
    """The buyer promised to pay; dunning pauses until the promised date plus grace."""

    event_name: ClassVar[str] = "arshield.dunning.PromiseToPayRecorded.v1"

    promise_id: Id
    buyer_id: Id
    invoice_ids: IdList
    promised_amount: PositiveMoney
    promised_payment_on: BusinessDate
    grace_days: int = Field(strict=True, ge=0, le=365)
    recorded_by: ShortText
    recorded_on: BusinessDate

    @field_validator("recorded_on")
    @classmethod
    def _promise_is_for_later(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        promised = info.data.get("promised_payment_on")
        if promised is not None and promised < value:
            raise ValueError(f"promised_payment_on {promised} is before recorded_on {value}")
        return value


class PromiseToPayBroken(_DunningEvent):
    """The promised date plus grace passed without the promised payment: escalate at once."""

    event_name: ClassVar[str] = "arshield.dunning.PromiseToPayBroken.v1"

    promise_id: Id
    buyer_id: Id
    invoice_ids: IdList
    promised_amount: PositiveMoney
    paid_amount: NonNegativeMoney
    promised_payment_on: BusinessDate
    broken_on: BusinessDate

    @field_validator("paid_amount")
    @classmethod
    def _paid_less_than_promised(cls, value: Money, info: ValidationInfo) -> Money:
        promised: Money | None = info.data.get("promised_amount")
        same_currency(value, promised, "promised_amount")
        if promised is not None and value >= promised:
            raise ValueError(f"paid {value} of {promised} promised: the promise was kept")
        return value

    @field_validator("broken_on")
    @classmethod
    def _broken_after_promised_date(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        promised_on = info.data.get("promised_payment_on")
        if promised_on is not None and value <= promised_on:
            raise ValueError(f"broken_on {value} is not after promised_payment_on {promised_on}")
        return value


class DunningPaused(_DunningEvent):
    """Dunning of one invoice stops (dispute, promise to pay ...) until resumed or `until_on`."""

    event_name: ClassVar[str] = "arshield.dunning.DunningPaused.v1"

    invoice_id: Id
    buyer_id: Id
    reason: PauseReason
    reference_id: Id | None = Field(
        default=None, description="the dispute or promise behind the pause"
    )
    paused_on: BusinessDate
    until_on: BusinessDate | None = None

    @field_validator("until_on")
    @classmethod
    def _until_after_pause(
        cls, value: BusinessDate | None, info: ValidationInfo
    ) -> BusinessDate | None:
        paused_on = info.data.get("paused_on")
        if value is not None and paused_on is not None and value < paused_on:
            raise ValueError(f"until_on {value} is before paused_on {paused_on}")
        return value


class DunningResumed(_DunningEvent):
    event_name: ClassVar[str] = "arshield.dunning.DunningResumed.v1"

    invoice_id: Id
    buyer_id: Id
    reason: ResumeReason
    reference_id: Id | None = None
    resumed_on: BusinessDate


class Evidence(Part):
    """A document handed to the agency with the case."""

    kind: EvidenceKind
    document_ref: DocumentRef
    invoice_id: Id | None = None


class CollectionCaseOpened(_DunningEvent):
    """A collection case over the buyer's overdue invoices, with the evidence for recovery."""

    event_name: ClassVar[str] = "arshield.dunning.CollectionCaseOpened.v1"

    case_id: Id
    buyer_id: Id
    invoice_ids: IdList
    amount: PositiveMoney
    """The principal outstanding."""
    interest: NonNegativeMoney | None = None
    """Late-payment interest accrued to `opened_on` (the ledger's rules), in the case's currency."""
    compensation: tuple[NonNegativeMoney, ...] = ()
    """Fixed compensation per currency (a UK fixed sum is owed in GBP)."""
    evidence: tuple[Evidence, ...] = ()
    policy_version: PolicyVersion
    opened_on: BusinessDate


class CaseHandedToAgency(_DunningEvent):
    event_name: ClassVar[str] = "arshield.dunning.CaseHandedToAgency.v1"

    case_id: Id
    buyer_id: Id
    agency_id: Id
    handed_on: BusinessDate


class AgencyCaseUpdated(_DunningEvent):
    """The agency's report on a case; `collected` is the total collected so far."""

    event_name: ClassVar[str] = "arshield.dunning.AgencyCaseUpdated.v1"

    case_id: Id
    buyer_id: Id
    agency_id: Id
    status: AgencyCaseStatus
    collected: NonNegativeMoney | None = Field(default=None, validate_default=True)
    agency_reference: ShortText | None = None
    note: Text | None = None
    updated_on: BusinessDate

    @field_validator("collected")
    @classmethod
    def _collection_reports_amount(cls, value: Money | None, info: ValidationInfo) -> Money | None:
        if info.data.get("status") == "payment_collected" and (value is None or value.is_zero):
            raise ValueError("status payment_collected needs the collected amount")
        return value


class DunningPolicyWritten(_DunningEvent):
    """A new version of a segment's dunning policy (configuration on the log): dunning decides
    every business day from `effective_on` under it, live and in a rebuild alike."""

    event_name: ClassVar[str] = "arshield.dunning.DunningPolicyWritten.v1"
    tenant_keyed: ClassVar[bool] = True

    segment: Literal["core", "standard", "watch"]
    version: int = Field(ge=1, le=1_000_000)
    rules: dict[str, Any] = Field(
        description="the segment's timeline, as `PUT /v1/policies/{segment}` takes it"
    )
    written_by: ShortText | None = None
    effective_on: BusinessDate


EVENTS: tuple[type[Payload], ...] = (
    DunningPolicyWritten,
    ReceiptConfirmationRequested,
    PaymentReminderSent,
    DunningLevelReached,
    StatementOfAccountIssued,
    PromiseToPayRecorded,
    PromiseToPayBroken,
    DunningPaused,
    DunningResumed,
    CollectionCaseOpened,
    CaseHandedToAgency,
    AgencyCaseUpdated,
)
