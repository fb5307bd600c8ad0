"""The inbox, the outbox relay and dead-lettering over the real Kafka broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_events.envelope import CloudEvent, envelope
from arshield_events.erp import BuyerRegistered
from arshield_events.registry import event_headers, serialize_event
from arshield_runtime import db as db_module
from arshield_runtime import outbox as outbox_store
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.days import DayAligner
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.messaging import EventRouter, HandlerContext, Rejected, outbox_record
from arshield_runtime.outbox import OutboxRecord, OutboxRelay, new_producer
from arshield_runtime.subscriber import build_broker

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parent / "fixture_migrations"
TENANT = "acme"


def registered(
    buyer: str, *, event_id: str | None = None, name: str = "Buyer Ltd", tenant: str = TENANT
) -> CloudEvent[Any]:
    return envelope(
        BuyerRegistered(
            buyer_id=buyer,
            legal_name=name,
            country="DE",
            segment="standard",
            preferred_language="en",
            registered_on=date(2024, 1, 2),
        ),
        id=event_id or str(uuid.uuid4()),
        source="erp/test",
        subject=buyer,
        tenantid=tenant,
        time=datetime(2024, 1, 2, 9, tzinfo=UTC),
    )


def effect_router() -> EventRouter:
    router = EventRouter()

    @router.handles(BuyerRegistered)
    async def on_registered(ctx: HandlerContext) -> None:
        data = ctx.event.data
        if data.legal_name == "Refuse Me":
            raise Rejected("legal name on the refusal list")
        await ctx.session.execute(
            sa.text("INSERT INTO effects (event_id, buyer_id) VALUES (:e, :b)"),
            {"e": ctx.event.id, "b": data.buyer_id},
        )

    return router


@pytest.fixture
async def engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    await migrate(MIGRATIONS, fresh_database)
    engine = create_engine(fresh_database)
    yield engine
    await engine.dispose()


async def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[Any]]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


def as_record(event: CloudEvent[Any]) -> tuple[bytes, bytes, list[Any]]:
    return event.key.encode(), serialize_event(event), event_headers(event)


async def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def effects(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.text("SELECT event_id, buyer_id FROM effects ORDER BY id")
        )
        return [(row.event_id, row.buyer_id) for row in rows]


async def group_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The group's committed offset per partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items()}


async def committed_offset(bootstrap: str, group: str, topic: str) -> int:
    """The sum over partitions of the group's committed offsets on `topic`."""
    offsets = await group_offsets(bootstrap, group)
    return sum(offset for tp, offset in offsets.items() if tp.topic == topic and offset > 0)


async def consume_until(
    engine: AsyncEngine,
    bootstrap: str,
    topic: str | list[str],
    group: str,
    done: Any,
    timeout: float = 30,
    *,
    router: EventRouter | None = None,
    aligner: DayAligner | None = None,
) -> None:
    """A fresh consumer (as after a restart: nothing in memory) until `done`, then stopped."""
    processor = BatchProcessor(
        engine,
        router or effect_router(),
        service="test",
        source="arshield/test",
        aligner=aligner,
    )
    broker = build_broker(
        bootstrap=bootstrap,
        topics=[topic] if isinstance(topic, str) else topic,
        group_id=group,
        processor=processor,
        batch_max=100,
        client_id="test",
    )
    await broker.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await done():
            assert asyncio.get_running_loop().time() < deadline, "consumer did not finish in time"
            await asyncio.sleep(0.2)
    finally:
        await broker.stop()


async def test_the_same_event_delivered_twice_has_one_effect(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.erp")
    event = registered("b-1")
    other = registered("b-2")
    await produce(kafka_bootstrap, topic, [as_record(event), as_record(event), as_record(other)])
    group = f"g-{uuid.uuid4().hex[:6]}"

    async def all_committed() -> bool:
        return await committed_offset(kafka_bootstrap, group, topic) == 3

    await consume_until(engine, kafka_bootstrap, topic, group, all_committed)
    assert sorted(await effects(engine)) == sorted([(event.id, "b-1"), (other.id, "b-2")])


async def test_one_tenants_event_ids_never_shadow_anothers(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.erp")
    first, second = (
        registered("b-1", event_id="inv-1"),
        registered("b-1", event_id="inv-1", tenant="globex"),
    )
    await produce(kafka_bootstrap, topic, [as_record(first), as_record(second)])
    processor = BatchProcessor(engine, effect_router(), service="test", source="arshield/test")
    await processor.process(await read_all(kafka_bootstrap, topic, 2))
    # Redelivered, both are duplicates within their own tenant.
    await processor.process(await read_all(kafka_bootstrap, topic, 2))
    assert await effects(engine) == [("inv-1", "b-1"), ("inv-1", "b-1")]
    async with engine.connect() as connection:
        tenants = await connection.scalars(sa.text("SELECT tenant_id FROM inbox ORDER BY 1"))
        assert list(tenants) == ["acme", "globex"]


async def test_rows_handled_before_the_inbox_held_the_tenant_stay_duplicates(
    fresh_database: str, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    """A database from before the upgrade: its inbox rows cannot tell their tenant, so an event
    redelivered across the upgrade still has one effect, and new events have theirs."""
    engine = create_engine(fresh_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "CREATE TABLE inbox (source text, event_id text, topic text NOT NULL,"
                    ' partition integer NOT NULL, "offset" bigint NOT NULL,'
                    " handled_at timestamptz NOT NULL DEFAULT now(),"
                    " CONSTRAINT inbox_pkey PRIMARY KEY (source, event_id))"
                )
            )
            await connection.execute(
                sa.text("INSERT INTO inbox VALUES ('erp/test', 'old-1', 't', 0, 0, now())")
            )
        await migrate(MIGRATIONS, fresh_database)
        (topic,) = await fresh_topics("arshield.erp")
        old, new = registered("b-1", event_id="old-1"), registered("b-2", event_id="new-1")
        await produce(kafka_bootstrap, topic, [as_record(old), as_record(new)])
        processor = BatchProcessor(engine, effect_router(), service="test", source="arshield/test")
        await processor.process(await read_all(kafka_bootstrap, topic, 2))
        assert await effects(engine) == [("new-1", "b-2")]
        async with engine.connect() as connection:
            key = await connection.scalar(
                sa.text(
                    "SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_constraint c,"
                    " unnest(c.conkey) WITH ORDINALITY k(attnum, n), pg_attribute a"
                    " WHERE c.conname = 'inbox_pkey' AND a.attrelid = c.conrelid"
                    " AND a.attnum = k.attnum"
                )
            )
        assert key == ["tenant_id", "source", "event_id"]
    finally:
        await engine.dispose()


async def test_a_consumer_killed_after_commit_before_the_offset_reprocesses_without_effect(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.erp")
    events = [registered(f"b-{i}") for i in range(5)]
    await produce(kafka_bootstrap, topic, [as_record(e) for e in events])
    # First life: the transaction commits, then the process dies before committing offsets.
    records = await read_all(kafka_bootstrap, topic, 5)
    first = BatchProcessor(engine, effect_router(), service="test", source="arshield/test")
    await first.process(records)
    assert len(await effects(engine)) == 5
    group = f"g-{uuid.uuid4().hex[:6]}"
    assert await committed_offset(kafka_bootstrap, group, topic) == 0

    async def caught_up() -> bool:
        return await committed_offset(kafka_bootstrap, group, topic) == 5

    # Second life: Kafka redelivers everything; the inbox absorbs it.
    await consume_until(engine, kafka_bootstrap, topic, group, caught_up)
    assert sorted(await effects(engine)) == sorted((e.id, e.subject) for e in events)


async def test_a_poison_record_is_dead_lettered_and_the_partition_moves_on(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.erp")
    key = f"{TENANT}:b-9".encode()
    good_before, refused, good_after = (
        registered("b-9"),
        registered("b-9", name="Refuse Me"),
        registered("b-9"),
    )
    payload = json.loads(serialize_event(good_before))
    payload["data"]["country"] = 276  # wrong type
    await produce(
        kafka_bootstrap,
        topic,
        [
            as_record(good_before),
            (key, b"{not json", []),
            (key, json.dumps(payload | {"id": "x-1"}).encode(), []),
            as_record(refused),
            as_record(good_after),
        ],
    )
    group = f"g-{uuid.uuid4().hex[:6]}"

    async def caught_up() -> bool:
        return await committed_offset(kafka_bootstrap, group, topic) == 5

    processor_engine = engine
    relay_producer = new_producer(kafka_bootstrap)
    await relay_producer.start()
    relay = OutboxRelay(processor_engine, relay_producer, service="test")
    try:
        await consume_until(engine, kafka_bootstrap, topic, group, caught_up)
        while await relay.publish_once():
            pass
    finally:
        await relay_producer.stop()
    assert [e for e, _ in await effects(engine)] == [good_before.id, good_after.id]
    dead = await read_all(kafka_bootstrap, f"{topic}.dlq", 3)
    assert len(dead) == 3
    for record in dead:
        headers = {name: value.decode() for name, value in record.headers}
        assert headers["dlq_origin_topic"] == topic
        assert record.key == key
    assert len({dict(r.headers)["dlq_origin_partition"] for r in dead}) == 1
    offsets = sorted(int(dict(r.headers)["dlq_origin_offset"]) for r in dead)
    assert offsets == [1, 2, 3]
    errors = [dict(r.headers)["dlq_error"].decode() for r in sorted(dead, key=lambda r: r.offset)]
    assert "JSON" in errors[0] or "json" in errors[0]
    assert "country" in errors[1]
    assert "refusal list" in errors[2]


async def test_outbox_rows_from_concurrent_transactions_arrive_per_key_in_order(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.ledger")
    keys = [f"b-{i}" for i in range(17)]
    per_writer = 50
    writers = 20  # 1,000 events

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(per_writer):
            buyer = rng.choice(keys)
            async with AsyncSession(engine) as session, session.begin():
                seq = await session.scalar(
                    sa.text(
                        "INSERT INTO key_counters (key, seq) VALUES (:k, 1) ON CONFLICT (key) "
                        "DO UPDATE SET seq = key_counters.seq + 1 RETURNING seq"
                    ),
                    {"k": buyer},
                )
                event = registered(buyer, event_id=f"{buyer}#{seq}")
                await asyncio.sleep(rng.random() * 0.003)
                await outbox_store.append(session, [outbox_record(event, topic=topic)])
                await asyncio.sleep(rng.random() * 0.003)

    producer = new_producer(kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, producer, service="test", poll_seconds=0.005, batch_size=37)
    relaying = asyncio.create_task(relay.run())
    try:
        await asyncio.gather(*(writer(seed) for seed in range(writers)))
        records = await read_all(kafka_bootstrap, topic, writers * per_writer, timeout=60)
        # Kafka has every record; the relay deletes a batch's rows right after Kafka acknowledged
        # it, so give that last delete its moment before stopping the relay (bounded).
        for _ in range(300):  # at most 15 s
            if not await outbox_rows(engine):
                break
            await asyncio.sleep(0.05)
    finally:
        relaying.cancel()
        await producer.stop()
    seen: dict[str, list[int]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        buyer, seq = json.loads(record.value)["id"].split("#")
        seen[buyer].append(int(seq))
    assert sum(len(v) for v in seen.values()) == writers * per_writer
    for buyer, sequence in seen.items():
        assert sequence == list(range(1, len(sequence) + 1)), f"{buyer} out of order or duplicated"
    assert await outbox_rows(engine) == 0


async def outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(sa.text("SELECT count(*) FROM outbox")) or 0)


async def test_an_append_without_a_transaction_waits_for_its_keys_writer_and_follows_it(
    engine: AsyncEngine,
) -> None:
    """One statement takes the key's lock before drawing ids, so on a connection without an
    explicit transaction an append still serialises behind an open writer of the same key, its
    row gets the later id, and the rows and the relay's notification commit with it."""
    first = outbox_record(registered("b-1", event_id="first"), topic="t")
    second = outbox_record(registered("b-1", event_id="second"), topic="t")
    async with engine.connect() as listening:
        raw = await listening.get_raw_connection()
        notified: asyncio.Queue[str] = asyncio.Queue()
        driver = raw.driver_connection
        assert driver is not None
        await driver.add_listener(
            outbox_store.OUTBOX_CHANNEL, lambda *args: notified.put_nowait(args[2])
        )
        async with AsyncSession(engine) as writer, writer.begin():
            await outbox_store.append(writer, [first])

            statements: list[str] = []

            async def append_alone() -> None:
                async with engine.connect() as connection:
                    alone = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    sa.event.listen(
                        alone.sync_connection,
                        "before_cursor_execute",
                        lambda *args: statements.append(args[2]),
                    )
                    await outbox_store.append(alone, [second])

            waiting = asyncio.create_task(append_alone())
            await asyncio.sleep(0.3)
            assert not waiting.done()  # blocked on b-1's lock, no id drawn yet
        await asyncio.wait_for(waiting, timeout=10)
        await asyncio.wait_for(notified.get(), timeout=5)  # the writer's commit
        await asyncio.wait_for(notified.get(), timeout=5)  # the lone statement's own
    async with engine.connect() as connection:
        rows = await connection.execute(sa.text("SELECT value FROM outbox ORDER BY id"))
        ids = [json.loads(value)["id"] for (value,) in rows]
    assert ids == ["first", "second"]
    assert len(statements) == 1  # one round trip


async def test_a_prepare_hook_runs_once_per_transaction_before_its_handlers(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.erp", partitions=1)
    events = [registered(f"b-{i}") for i in range(4)]
    refused = registered("b-x", name="Refuse Me")
    await produce(kafka_bootstrap, topic, [as_record(e) for e in [*events, events[0], refused]])
    records = await read_all(kafka_bootstrap, topic, 6)
    prepared: list[list[str]] = []
    router = effect_router()

    @router.prepares
    async def remember(session: AsyncSession, batch: Any, scope: Any) -> None:
        assert not scope.items, "a prepare hook runs before the transaction's handlers"
        prepared.append([event.id for event in batch])

    processor = BatchProcessor(engine, router, service="test", source="arshield/test")
    await processor.process(records[:5])  # one transaction; the redelivered event is not new
    assert prepared == [[e.id for e in events]]
    prepared.clear()
    # Only the refused event is new: its transaction rolls back, then each record is handled
    # alone (no hook call for the duplicates, which have nothing to prepare).
    await processor.process(records)
    assert prepared == [[refused.id], [refused.id]]
    assert sorted(await effects(engine)) == sorted((e.id, e.subject) for e in events)


# --- waking instead of polling ---------------------------------------------------------------------
# The bounds below are generous (5 s); what they tell apart is a wake-up from a poll that would
# take 30 s (the consumer's long poll, the relay's safety poll in these tests).


async def eventually(check: Any, within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"{what} not within {within} s"
        await asyncio.sleep(0.05)


async def test_an_event_published_after_the_consumer_idled_is_handled_at_once(
    engine: AsyncEngine, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.erp")
    first, later = registered("b-1"), registered("b-2")
    await produce(kafka_bootstrap, topic, [as_record(first)])
    processor = BatchProcessor(engine, effect_router(), service="test", source="arshield/test")
    broker = build_broker(
        bootstrap=kafka_bootstrap,
        topics=[topic],
        group_id=f"idle-{uuid.uuid4().hex[:6]}",
        processor=processor,
        batch_max=100,
        client_id="test",
    )
    await broker.start()
    try:
        await eventually(lambda: _has_effects(engine, 1), 30, "the first event")
        await asyncio.sleep(2)  # idle: the consumer is blocked in a fetch
        await produce(kafka_bootstrap, topic, [as_record(later)])
        await eventually(lambda: _has_effects(engine, 2), 5, "the event after idling")
    finally:
        stopping = asyncio.get_running_loop().time()
        await broker.stop()
        # the long poll is cancelled, not waited out
        assert asyncio.get_running_loop().time() - stopping < 10
    assert sorted(await effects(engine)) == sorted([(first.id, "b-1"), (later.id, "b-2")])


async def _has_effects(engine: AsyncEngine, count: int) -> bool:
    return len(await effects(engine)) >= count


async def _append_elsewhere(database_url: str, records: list[OutboxRecord]) -> None:
    """Outbox rows written by another process's connection: only its NOTIFY can wake the relay."""
    other = create_engine(database_url)
    try:
        async with other.begin() as connection:
            await outbox_store.append(connection, records)
    finally:
        await other.dispose()


async def test_an_outbox_row_written_elsewhere_is_relayed_on_its_notification(
    engine: AsyncEngine, fresh_database: str, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.ledger")
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, producer, service="test", poll_seconds=30)
    relaying = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(relay.listener.connected.wait(), timeout=10)
        await asyncio.sleep(0.5)  # the relay's first look found nothing; it sleeps now
        event = registered("b-1")
        await _append_elsewhere(fresh_database, [outbox_record(event, topic=topic)])
        (record,) = await read_all(kafka_bootstrap, topic, 1, timeout=5)
        assert json.loads(record.value)["id"] == event.id
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await producer.stop()


async def test_the_relay_listens_again_after_its_connection_dropped(
    engine: AsyncEngine, fresh_database: str, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    (topic,) = await fresh_topics("arshield.ledger")
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, producer, service="dropped", poll_seconds=30)
    relaying = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(relay.listener.connected.wait(), timeout=10)
        async with engine.connect() as connection:
            terminated = await connection.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": "arshield-dropped-relay"},
            )
        assert terminated == 1

        async def reconnected() -> bool:
            return relay.listener.connections >= 2 and relay.listener.connected.is_set()

        await eventually(reconnected, 5, "the listener's reconnection")
        await asyncio.sleep(0.5)
        event = registered("b-1")
        await _append_elsewhere(fresh_database, [outbox_record(event, topic=topic)])
        (record,) = await read_all(kafka_bootstrap, topic, 1, timeout=5)
        assert json.loads(record.value)["id"] == event.id
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await producer.stop()


async def test_a_pooled_connection_is_pinged_only_after_idling_and_replaced_if_dropped(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked out again at once: no ping (no extra round trips for a busy service). Idle past
    the threshold and killed by the server meanwhile: pinged, found dead, replaced unseen."""
    pings: list[object] = []
    ping = db_module._ping
    monkeypatch.setattr(db_module, "_ping", lambda c: (pings.append(c), ping(c)))
    pooled = create_engine(fresh_database, pool_size=1, max_overflow=0, ping_after_idle_seconds=1.0)
    try:
        async with pooled.connect() as connection:
            first = await connection.scalar(sa.text("SELECT pg_backend_pid()"))
        for _ in range(3):
            async with pooled.connect() as connection:
                assert await connection.scalar(sa.text("SELECT pg_backend_pid()")) == first
        assert pings == []
        async with pooled.connect() as connection:  # the same pooled connection, then idle
            await connection.scalar(sa.text("SELECT 1"))
        other = create_engine(fresh_database, pool_size=1)
        async with other.connect() as killer:
            await killer.scalar(sa.text("SELECT pg_terminate_backend(:p)"), {"p": first})
        await other.dispose()
        await asyncio.sleep(1.2)
        async with pooled.connect() as connection:
            replaced = await connection.scalar(sa.text("SELECT pg_backend_pid()"))
        assert len(pings) == 1
        assert replaced != first
    finally:
        await pooled.dispose()
