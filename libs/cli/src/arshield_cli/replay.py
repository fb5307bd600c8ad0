"""Replaying dated facts through the running platform, one business day at a time.

For each date D: once the platform is quiet, the `BusinessDayStarted` tick for D is published,
and once every service has taken it, the facts dated D. Ticks already published (a resumed replay)
are not published again, and re-published facts carry their original ids, so a second replay
changes nothing. A replay that was interrupted resumes at the last day ticked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from arshield_cli.clock import days_between, last_tick, tick
from arshield_cli.importers.receivables_csv import Fact
from arshield_cli.platform import ServiceSpec
from arshield_cli.publishing import Publisher
from arshield_cli.quiet import QuietWatcher
from arshield_cli.stack import StackSettings
from arshield_events.envelope import CloudEvent

DayCallback = Callable[[date, int], None]


async def advance_clock(
    stack: StackSettings,
    services: Sequence[ServiceSpec],
    *,
    tenant: str,
    to: date,
    start: date | None = None,
    on_day: DayCallback | None = None,
    facts: Sequence[Fact] = (),
) -> int:
    """Tick every day up to `to` (from the day after the last tick, or `start`), publishing each
    day's facts after its tick; returns the number of events published."""
    by_day: dict[date, list[CloudEvent[Any]]] = defaultdict(list)
    for fact in facts:
        by_day[fact.on].append(fact.event)
    published = 0
    async with (
        Publisher(stack.kafka_bootstrap) as publisher,
        QuietWatcher(stack, services) as quiet,
    ):
        last = await last_tick(stack.kafka_bootstrap, tenant)
        candidates = [start or (last + timedelta(days=1) if last else to), *by_day]
        first = min(candidates)
        for day in days_between(first, to):
            if last is not None and day < last:
                continue  # a resumed replay: that day is done
            if last is None or day > last:
                await quiet.wait()
                published += await publisher.publish([tick(tenant, day)])
            if by_day.get(day):
                # Every consumer takes the tick before any of the day's facts, even one that
                # restarts and reads both in one batch. On the last day of a resumed replay the
                # facts go out again; consumers ignore the ones they already have.
                await quiet.wait()
                published += await publisher.publish(by_day[day])
            if on_day:
                on_day(day, published)
        await quiet.wait()
    return published
