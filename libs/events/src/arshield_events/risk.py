"""Risk-monitor findings (topic `arshield.risk`): alerts, grade changes, insolvency."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import (
    BusinessDate,
    DocumentRef,
    Grade,
    Id,
    PolicyVersion,
    Text,
)

AlertLevel = Literal["watch", "warning", "critical"]
Signal = Literal[
    "days_beyond_terms_rising",
    "partial_payments",
    "disputes_rising",
    "external_grade_drop",
    "weaker_financials",
    "insolvency_notice",
]
InsolvencySource = Literal["insolvency_notice", "insurer", "agency", "manual"]


class _RiskEvent(Payload):
    topic: ClassVar[str] = topics.RISK


class RiskAlertRaised(_RiskEvent):
    event_name: ClassVar[str] = "arshield.risk.RiskAlertRaised.v1"

    alert_id: Id
    buyer_id: Id
    level: AlertLevel
    signal: Signal
    detail: Text
    policy_version: PolicyVersion
    raised_on: BusinessDate


class _GradeChange(_RiskEvent):
    buyer_id: Id
    from_grade: Grade
    to_grade: Grade
    reasons: tuple[Text, ...] = Field(min_length=1)
    signals: tuple[Signal, ...] = ()
    policy_version: PolicyVersion


class BuyerDowngraded(_GradeChange):
    """The internal grade worsened (a higher number); credit cuts the limit for new orders."""

    event_name: ClassVar[str] = "arshield.risk.BuyerDowngraded.v1"

    downgraded_on: BusinessDate

    @field_validator("to_grade")
    @classmethod
    def _worse(cls, value: int, info: ValidationInfo) -> int:
        from_grade = info.data.get("from_grade")
        if from_grade is not None and value <= from_grade:
            raise ValueError(f"a downgrade goes to a worse (higher) grade than {from_grade}")
        return value


class BuyerUpgraded(_GradeChange):
    event_name: ClassVar[str] = "arshield.risk.BuyerUpgraded.v1"

    upgraded_on: BusinessDate

    @field_validator("to_grade")
    @classmethod
    def _better(cls, value: int, info: ValidationInfo) -> int:
        from_grade = info.data.get("from_grade")
        if from_grade is not None and value >= from_grade:
            raise ValueError(f"an upgrade goes to a better (lower) grade than {from_grade}")
        return value


class BuyerInsolvent(_RiskEvent):
    """The buyer is insolvent as of `insolvent_on`; claims and write-offs may follow."""

    event_name: ClassVar[str] = "arshield.risk.BuyerInsolvent.v1"

    buyer_id: Id
    source: InsolvencySource
    notice_ref: DocumentRef | None = None
    detail: Text | None = None
    insolvent_on: BusinessDate


EVENTS: tuple[type[Payload], ...] = (
    RiskAlertRaised,
    BuyerDowngraded,
    BuyerUpgraded,
    BuyerInsolvent,
)
