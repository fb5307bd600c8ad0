"""Risk-monitor findings (topic `arshield.risk`): scores, alerts, grade changes, insolvency, and
the scorecard version in force (risk-monitor's own configuration, on the log so a rebuild re-scores
history under the version that was in force at the time)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import (
    BusinessDate,
    DocumentRef,
    Grade,
    Id,
    Part,
    PolicyVersion,
    ShortText,
    Text,
)
from arshield_events.money import DecimalString, format_decimal

_PROBABILITY_PATTERN = r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$"


def _probability(value: Any) -> Decimal:
    if isinstance(value, str) and re.fullmatch(_PROBABILITY_PATTERN, value):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite() and Decimal(0) <= value <= Decimal(1):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -6:
            return value
    raise ValueError(f"{value!r} is not a probability: a decimal string 0..1, at most 6 places")


Probability = Annotated[
    Decimal,
    BeforeValidator(_probability),
    PlainSerializer(format_decimal, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _PROBABILITY_PATTERN,
            "description": "a probability 0..1 as a decimal string, at most 6 decimal places",
            "examples": ["0.0125"],
        }
    ),
]
"""A probability (of default within 12 months) on the wire: finer than a money decimal."""

AlertLevel = Literal["watch", "warning", "critical"]
Signal = Literal[
    "days_beyond_terms_rising",
    "partial_payments",
    "disputes_rising",
    "external_grade_drop",
    "weaker_financials",
    "insolvency_notice",
    "payment_stop",
    "external_grade",
    "weaker_score",
    "grade_drop",
    "grade",
]
InsolvencySource = Literal["insolvency_notice", "insurer", "agency", "manual"]


class _RiskEvent(Payload):
    topic: ClassVar[str] = topics.RISK


class FactorPoints(Part):
    """One scorecard factor of a score: the signal's value and the points it earned."""

    signal: Id
    label: ShortText
    value: DecimalString | None = None
    points: int = Field(strict=True, ge=-10_000, le=10_000)


class BuyerScored(_RiskEvent):
    """The buyer's score under a scorecard version, with its points per factor (so the grade
    explains itself), the probability of default within 12 months and the grade on the master
    scale. Published when the grade or the score's band changes, not at every fact."""

    event_name: ClassVar[str] = "arshield.risk.BuyerScored.v1"

    buyer_id: Id
    score: int | None = Field(default=None, strict=True, ge=-100_000, le=100_000)
    pd: Probability = Field(description="probability of default within 12 months")
    grade: Grade
    previous_grade: Grade | None = None
    factors: tuple[FactorPoints, ...] = ()
    scorecard_version: PolicyVersion
    scored_on: BusinessDate


class ScorecardActivated(_RiskEvent):
    """An operator put a scorecard version in force for the tenant from `effective_on` (a
    business date): the business days from then on score every buyer under it."""

    event_name: ClassVar[str] = "arshield.risk.ScorecardActivated.v1"
    tenant_keyed: ClassVar[bool] = True

    scorecard_version: PolicyVersion
    effective_on: BusinessDate
    activated_by: ShortText
    activated_on: BusinessDate


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
    signal_values: dict[Id, DecimalString | None] = Field(
        default_factory=dict, description="the buyer's signals when the grade changed"
    )
    pd: Probability | None = None
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
    BuyerScored,
    ScorecardActivated,
    RiskAlertRaised,
    BuyerDowngraded,
    BuyerUpgraded,
    BuyerInsolvent,
)
