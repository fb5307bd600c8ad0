"""Business time: one `BusinessDayStarted` per day, each published once the platform is quiet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from aiokafka import AIOKafkaConsumer

from arshield_events import topics
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, derived_event_id, envelope
from arshield_events.registry import EventRejected, parse_event

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
    consumer = AIOKafkaConsumer(
        topics.CLOCK,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    latest: date | None = None
    try:
        partitions = list(consumer.assignment())
        while not partitions:
            await consumer.getmany(timeout_ms=100)
            partitions = list(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    try:
                        event = parse_event(record.value or b"")
                    except EventRejected:
                        continue
                    if event.tenantid == tenant and isinstance(event.data, BusinessDayStarted):
                        day = event.data.business_date
                        latest = day if latest is None or day > latest else latest
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    return latest
