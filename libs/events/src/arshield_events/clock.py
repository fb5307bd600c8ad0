"""Clock events: the tenant's business calendar.

`BusinessDayStarted` (topic `arshield.clock`, keyed by tenant) records that a business day began:
time-driven work for that date runs when it is taken. `DayMarker` carries business time through
the log itself, as stream processors carry watermarks: the clock writes one into every partition
of the source topics, and each service, once it has taken a marker on every partition it reads,
writes its own into every partition of the topic it publishes (ARCHITECTURE decision 5).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import ClassVar

from arshield_events import topics
from arshield_events.envelope import CloudEvent, Payload, derived_event_id, envelope
from arshield_events.fields import BusinessDate

CLOCK_SOURCE = "arshield/clock"


class BusinessDayStarted(Payload):
    """A business day began for the tenant; time-driven work for that date runs when consumed."""

    event_name: ClassVar[str] = "arshield.clock.BusinessDayStarted.v1"
    topic: ClassVar[str] = topics.CLOCK
    tenant_keyed: ClassVar[bool] = True

    business_date: BusinessDate


class DayMarker(Payload):
    """A mark of business time in one partition, written by the clock or by a service (its
    `source`) into every partition of a topic it writes.

    Not `closing`: day `business_date` has begun: whatever the writer put in this partition before
    the mark belongs to earlier days or to that day's decisions (taken at its start), whatever
    follows is dated that day or later. `closing`: everything of day `business_date` is before the
    mark, and the next day has not begun (what a replay waits for at its end). The tenant is the
    envelope's; the record carries the tenant alone as its key, in every partition.
    """

    event_name: ClassVar[str] = "arshield.clock.DayMarker.v1"
    topic: ClassVar[str] = topics.CLOCK
    tenant_keyed: ClassVar[bool] = True

    business_date: BusinessDate
    closing: bool = False

    @property
    def position(self) -> tuple[date, bool]:
        """Where the mark stands in business time: a day's start, then its close."""
        return (self.business_date, self.closing)


EVENTS: tuple[type[Payload], ...] = (BusinessDayStarted, DayMarker)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def tick(tenant: str, day: date) -> CloudEvent[BusinessDayStarted]:
    """The tick for `day`: its id depends on tenant and date only, so a re-published tick (or one a
    service takes from the day markers) is a duplicate every consumer ignores."""
    return envelope(
        BusinessDayStarted(business_date=day),
        id=derived_event_id(CLOCK_SOURCE, tenant, day.isoformat()),
        source=CLOCK_SOURCE,
        subject=tenant,
        tenantid=tenant,
        time=_midnight(day),
    )


def day_marker(
    source: str, tenant: str, day: date, *, closing: bool = False
) -> CloudEvent[DayMarker]:
    """`source`'s mark of `day` for `tenant`: the same event in every partition it is written to."""
    purpose = f"{day.isoformat()}:{'close' if closing else 'start'}"
    return envelope(
        DayMarker(business_date=day, closing=closing),
        id=derived_event_id(source, f"marker:{tenant}", purpose),
        source=source,
        subject=tenant,
        tenantid=tenant,
        time=_midnight(day),
    )
