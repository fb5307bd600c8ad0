"""Replaying dated facts through the running platform, business time carried by the log.

For each date D the clock publishes the `BusinessDayStarted` tick for D on the clock topic (the
calendar's record) and a `DayMarker` of D into every partition of the source topics, then the facts
dated D, without waiting: each service takes day D once it has read D's marker on every partition
it reads, and marks D in its own topic after that day's decisions (ARCHITECTURE decision 5). At the
end the clock marks the last day closed, and the replay returns once every service has passed that
mark on, read from the services' topics alone. Ticks already published (a resumed replay) are not
published again, and re-published facts carry their original ids, so a second replay changes
nothing.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from arshield_cli.clock import CLOCK_SOURCE, days_between, last_mark
from arshield_cli.importers.receivables_csv import Fact
from arshield_cli.platform import ServiceSpec
from arshield_cli.publishing import Publisher
from arshield_cli.stack import StackSettings
from arshield_events import topics
from arshield_events.clock import DayMarker, day_marker, tick
from arshield_events.envelope import CloudEvent
from arshield_events.registry import EventRejected, parse_event
from arshield_runtime.kafka import topic_partitions

DayCallback = Callable[[date, int], None]

SOURCE_TOPICS = (topics.ERP, topics.EXTERNAL)
"""Where facts come from outside: the clock marks business days in every partition of these."""


async def advance_clock(
    stack: StackSettings,
    services: Sequence[ServiceSpec],
    *,
    tenant: str,
    to: date,
    start: date | None = None,
    on_day: DayCallback | None = None,
    facts: Sequence[Fact] = (),
    timeout: float = 900.0,
) -> int:
    """Tick every day up to `to` (from the day after the last tick, or `start`), publishing each
    day's facts after its tick, then close `to` and wait until every service in `services` has
    closed it; returns the number of events published."""
    by_day: dict[date, list[CloudEvent[Any]]] = defaultdict(list)
    for fact in facts:
        by_day[fact.on].append(fact.event)
    published = 0
    async with (
        Publisher(stack.kafka_bootstrap) as publisher,
        MarkWatcher(stack.kafka_bootstrap, services, tenant) as marks,
    ):
        last = await last_mark(stack.kafka_bootstrap, tenant)
        last_day = None if last is None else last[0]
        candidates = [start or (last_day + timedelta(days=1) if last_day else to), *by_day]
        first = min(candidates)
        for day in days_between(first, to):
            if last_day is not None and day < last_day:
                continue  # a resumed replay: that day is done
            if last_day is None or day >= last_day:
                # The markers go out before the calendar's record of the tick: a replay stopped
                # between the two writes the markers again when it resumes (a repeat changes
                # nothing), never the tick without them.
                marker = day_marker(CLOCK_SOURCE, tenant, day)
                published += await publisher.publish_everywhere(marker, SOURCE_TOPICS)
            if last_day is None or day > last_day:
                published += await publisher.publish([tick(tenant, day)])
            if by_day.get(day):
                # On the last day of a resumed replay the facts go out again; consumers ignore
                # the ones they already have.
                published += await publisher.publish(by_day[day])
            if on_day:
                on_day(day, published)
        closing = (to, True)
        if last is None or closing > last:
            close = day_marker(CLOCK_SOURCE, tenant, to, closing=True)
            await publisher.publish([close])  # the calendar's record of it, on the clock topic
            published += await publisher.publish_everywhere(close, SOURCE_TOPICS)
            await marks.wait(closing, timeout)
    return published


class MarkWatcher:
    """Reads the services' own topics from now on for the day markers each writes there."""

    def __init__(self, bootstrap: str, services: Sequence[ServiceSpec], tenant: str) -> None:
        self._bootstrap = bootstrap
        self._services = services
        self._tenant = tenant
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        self._marks: dict[tuple[str, TopicPartition], tuple[date, bool]] = {}
        self._partitions: list[TopicPartition] = []

    async def __aenter__(self) -> MarkWatcher:
        await self._consumer.start()
        self._partitions = await topic_partitions(
            self._bootstrap, {spec.publishes for spec in self._services}
        )
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_end(*self._partitions)
        for tp in self._partitions:
            await self._consumer.position(tp)  # pin the position now, before anything is published
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    def _lagging(self, mark: tuple[date, bool]) -> list[str]:
        return [
            spec.name
            for spec in self._services
            for tp in self._partitions
            if tp.topic == spec.publishes
            and self._marks.get((spec.source, tp), (date.min, False)) < mark
        ]

    async def wait(self, mark: tuple[date, bool], timeout: float) -> None:
        """Return once every service has written `mark` (or a later one) in every partition."""
        deadline = asyncio.get_running_loop().time() + timeout
        while lagging := self._lagging(mark):
            if asyncio.get_running_loop().time() > deadline:
                names = ", ".join(sorted(set(lagging)))
                raise TimeoutError(f"{names} did not mark {mark[0]} within {timeout:.0f}s")
            fetched = await self._consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, records in fetched.items():
                for record in records:
                    self._observe(tp, record.value)

    def _observe(self, tp: TopicPartition, value: bytes | None) -> None:
        if value is None or b"DayMarker" not in value:
            return
        try:
            event = parse_event(value)
        except EventRejected:
            return
        if isinstance(event.data, DayMarker) and event.tenantid == self._tenant:
            key = (event.source, tp)
            self._marks[key] = max(self._marks.get(key, (date.min, False)), event.data.position)
