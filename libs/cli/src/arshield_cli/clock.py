"""Business time: one `BusinessDayStarted` per day, each published once the platform is quiet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from arshield_cli.reading import tenant_events
from arshield_events import topics
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, derived_event_id, envelope

CLOCK_SOURCE = "arshield/clock"


def tick(tenant: str, day: date) -> CloudEvent[BusinessDayStarted]:
    """The tick for `day`: its id depends on tenant and date only, so a re-published tick is a
    duplicate every consumer ignores."""
    return envelope(
        BusinessDayStarted(business_date=day),
        id=derived_event_id(CLOCK_SOURCE, tenant, day.isoformat()),
        source=CLOCK_SOURCE,
        subject=tenant,
        tenantid=tenant,
        time=datetime.combine(day, time(0), tzinfo=UTC),
    )


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def last_tick(bootstrap: str, tenant: str) -> date | None:
    """The latest business date already ticked for `tenant` (the clock topic is small)."""
    days = [
        event.data.business_date
        for event in await tenant_events(bootstrap, topics.CLOCK, tenant)
        if isinstance(event.data, BusinessDayStarted)
    ]
    return max(days, default=None)
