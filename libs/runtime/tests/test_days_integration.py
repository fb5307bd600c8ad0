"""Business days from the day markers of the log, over the real Kafka broker and PostgreSQL: a
consumer that stops between taking one topic's marker and taking the day takes it exactly once,
with the records that waited for it, and marks it once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from arshield_events.clock import BusinessDayStarted, DayMarker, day_marker
from arshield_events.envelope import CloudEvent
from arshield_events.registry import event_headers, parse_event, serialize_event
from arshield_runtime.days import DayAligner
from arshield_runtime.messaging import EventRouter, HandlerContext

from . import test_messaging_integration as messaging
from .test_messaging_integration import effect_router, registered
from .test_messaging_integration import engine as engine  # the fixture: migrated, disposed

pytestmark = pytest.mark.integration
TENANT = "acme"
DAY = date(2024, 1, 2)


def day_router() -> EventRouter:
    router = effect_router()

    @router.handles(BusinessDayStarted)
    async def on_day(ctx: HandlerContext) -> None:
        await ctx.session.execute(
            sa.text("INSERT INTO effects (event_id, buyer_id) VALUES (:e, :b)"),
            {"e": ctx.event.id, "b": f"day {ctx.event.data.business_date}"},
        )

    return router


async def send(bootstrap: str, topic: str, partition: int, event: CloudEvent[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            value=serialize_event(event),
            key=event.key.encode(),
            partition=partition,
            headers=event_headers(event),
        )
    finally:
        await producer.stop()


async def consume_until(
    engine: AsyncEngine,
    bootstrap: str,
    topics: list[str],
    group: str,
    done: Callable[[], Awaitable[bool]],
) -> None:
    aligner = DayAligner(
        gated=frozenset(topics),
        partitions=1,
        source="arshield/test",
        clock_topic="clock",
        marks_to=("arshield.test",),
    )
    await messaging.consume_until(
        engine, bootstrap, topics, group, done, router=day_router(), aligner=aligner
    )


async def rows(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(sa.text(sql))]


async def committed(bootstrap: str, group: str) -> dict[str, int]:
    """The group's committed offset per topic (one partition each here)."""
    return {tp.topic: n for tp, n in (await messaging.group_offsets(bootstrap, group)).items()}


async def test_a_consumer_restarted_between_a_marker_and_its_day_takes_the_day_once(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    topics = await fresh_topics("arshield.erp", "arshield.ledger", partitions=1)
    erp, ledger = topics
    group = f"days-{erp}"
    await send(kafka_bootstrap, erp, 0, day_marker("arshield/clock", TENANT, DAY))
    await send(kafka_bootstrap, erp, 0, registered("b1", event_id="fact-of-the-day"))

    async def first_marker_taken() -> bool:
        return bool(await rows(engine, "SELECT tenant_id FROM day_marks"))

    await consume_until(engine, kafka_bootstrap, topics, group, first_marker_taken)
    # the fact after the marker waits for its day, and is not committed to Kafka
    assert await rows(engine, "SELECT event_id FROM effects") == []
    assert await rows(engine, "SELECT tenant_id FROM days_marked") == []
    assert (await committed(kafka_bootstrap, group)).get(erp) == 1

    await send(kafka_bootstrap, ledger, 0, day_marker("arshield/ledger", TENANT, DAY))

    async def day_taken() -> bool:
        return len(await rows(engine, "SELECT event_id FROM effects")) == 2

    await consume_until(engine, kafka_bootstrap, topics, group, day_taken)
    assert [b for (b,) in await rows(engine, "SELECT buyer_id FROM effects ORDER BY id")] == [
        "day 2024-01-02",
        "b1",
    ]
    assert await rows(engine, "SELECT task, business_date, closing FROM days_marked") == [
        (0, DAY, False)
    ]
    outbox = await rows(engine, "SELECT topic, value, headers FROM outbox")
    assert len(outbox) == 1
    out_topic, value, headers = outbox[0]
    marker = parse_event(value)
    assert out_topic == "arshield.test"
    assert headers["arshield-partitions"] == "0"
    assert isinstance(marker.data, DayMarker)
    assert marker.data.position == (DAY, False)
    assert marker.source == "arshield/test"

    # Everything read again from the start (a consumer group without offsets): nothing twice.
    async def all_read() -> bool:
        return (await committed(kafka_bootstrap, f"{group}-again")) == {erp: 2, ledger: 1}

    await consume_until(engine, kafka_bootstrap, topics, f"{group}-again", all_read)
    assert len(await rows(engine, "SELECT event_id FROM effects")) == 2
    assert len(await rows(engine, "SELECT id FROM outbox")) == 1


async def test_a_task_given_back_goes_on_from_the_days_the_other_instance_took(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    """Instance X holds the task, loses it to Y, which takes a day and a marker of the next, and
    gets it back (a rebalance mid-replay): X reads what Y took from the database, so the record Y
    left waiting still waits for its day, and the day is taken (X's memory alone would hand the
    record over before its day and never take the day)."""
    topics = await fresh_topics("arshield.erp", "arshield.ledger", partitions=1)
    erp, ledger = topics
    group = f"moved-{erp}"
    day2 = date(2024, 1, 3)

    def instance() -> DayAligner:
        return DayAligner(
            gated=frozenset(topics),
            partitions=1,
            source="arshield/test",
            clock_topic="clock",
            marks_to=("arshield.test",),
        )

    async def run(aligner: DayAligner, done: Callable[[], Awaitable[bool]]) -> None:
        await messaging.consume_until(
            engine, kafka_bootstrap, topics, group, done, router=day_router(), aligner=aligner
        )

    async def taken(topic: str, day: date) -> bool:
        found = await rows(engine, f"SELECT business_date FROM day_marks WHERE topic = '{topic}'")
        return found == [(day,)]

    async def effects() -> list[str]:
        return [b for (b,) in await rows(engine, "SELECT buyer_id FROM effects ORDER BY id")]

    x, y = instance(), instance()
    await send(kafka_bootstrap, erp, 0, day_marker("arshield/clock", TENANT, DAY))
    await send(kafka_bootstrap, erp, 0, registered("b1", event_id="fact-of-day-1"))
    await run(x, lambda: taken(erp, DAY))  # x takes the marker; b1 waits for the ledger's
    await send(kafka_bootstrap, ledger, 0, day_marker("arshield/ledger", TENANT, DAY))
    await send(kafka_bootstrap, erp, 0, day_marker("arshield/clock", TENANT, day2))
    await send(kafka_bootstrap, erp, 0, registered("b2", event_id="fact-of-day-2"))
    await run(y, lambda: taken(erp, day2))  # y takes day 1 and the marker of day 2; b2 waits
    assert await effects() == ["day 2024-01-02", "b1"]
    await send(kafka_bootstrap, ledger, 0, day_marker("arshield/ledger", TENANT, day2))

    async def day2_taken() -> bool:
        return len(await effects()) == 4

    await run(x, day2_taken)
    assert await effects() == ["day 2024-01-02", "b1", "day 2024-01-03", "b2"]
