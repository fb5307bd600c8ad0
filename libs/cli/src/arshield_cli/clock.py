"""Business time: the tenant's calendar on the clock topic (its ticks and the days it closed)."""

from __future__ import annotations

from datetime import date, timedelta

from arshield_cli.reading import tenant_events
from arshield_events import topics
from arshield_events.clock import CLOCK_SOURCE, BusinessDayStarted, DayMarker, tick

__all__ = ["CLOCK_SOURCE", "days_between", "last_mark", "tick"]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def last_mark(bootstrap: str, tenant: str) -> tuple[date, bool] | None:
    """Where the tenant's calendar stands: the latest day ticked, or closed after it."""
    positions = [
        (event.data.business_date, False)
        if isinstance(event.data, BusinessDayStarted)
        else event.data.position
        for event in await tenant_events(bootstrap, topics.CLOCK, tenant)
        if isinstance(event.data, BusinessDayStarted | DayMarker)
    ]
    return max(positions, default=None)
