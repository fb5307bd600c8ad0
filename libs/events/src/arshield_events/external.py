"""Facts from data providers (topic `arshield.external`): ratings, financials, insolvency."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import BusinessDate, DocumentRef, Grade, Id, ShortText, Text
from arshield_events.money import DecimalString, Money

Outlook = Literal["positive", "stable", "negative", "developing"]
InsolvencyProceeding = Literal[
    "petition_filed",
    "proceedings_opened",
    "petition_dismissed",
    "proceedings_closed",
]


class _ExternalEvent(Payload):
    topic: ClassVar[str] = topics.EXTERNAL


class BuyerRatingPublished(_ExternalEvent):
    """A rating agency's grade for the buyer, mapped to arshield's scale (1 best ... 10 worst)."""

    event_name: ClassVar[str] = "arshield.external.BuyerRatingPublished.v1"

    buyer_id: Id
    provider_id: Id
    grade: Grade
    provider_rating: ShortText | None = Field(
        default=None, description="the rating in the provider's own notation, e.g. 'BB+'"
    )
    outlook: Outlook | None = None
    published_on: BusinessDate


class BuyerFinancialsReported(_ExternalEvent):
    """Reported financial figures of the buyer for a period; any figure may be unknown."""

    event_name: ClassVar[str] = "arshield.external.BuyerFinancialsReported.v1"

    buyer_id: Id
    provider_id: Id
    period_end_on: BusinessDate
    revenue: Money | None = None
    net_income: Money | None = None
    equity: Money | None = None
    total_assets: Money | None = None
    current_ratio: DecimalString | None = Field(
        default=None, description="current assets / current liabilities"
    )
    quick_ratio: DecimalString | None = None
    debt_to_equity: DecimalString | None = None
    reported_on: BusinessDate

    @field_validator("reported_on")
    @classmethod
    def _reported_after_period(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        period_end_on = info.data.get("period_end_on")
        if period_end_on is not None and value < period_end_on:
            raise ValueError(f"reported_on {value} is before period_end_on {period_end_on}")
        return value


class InsolvencyNoticePublished(_ExternalEvent):
    """A public insolvency notice (court register) about the buyer."""

    event_name: ClassVar[str] = "arshield.external.InsolvencyNoticePublished.v1"

    buyer_id: Id
    provider_id: Id
    proceeding: InsolvencyProceeding
    court: ShortText | None = None
    case_reference: ShortText | None = None
    notice_ref: DocumentRef | None = None
    detail: Text | None = None
    published_on: BusinessDate


EVENTS: tuple[type[Payload], ...] = (
    BuyerRatingPublished,
    BuyerFinancialsReported,
    InsolvencyNoticePublished,
)
