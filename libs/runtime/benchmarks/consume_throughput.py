"""Consume throughput: the runtime's consumer against a raw aiokafka `getmany` loop.

Both read the same pre-produced topic of N events of about 1 KB each, in one run. The raw loop only
counts records; the runtime parses and validates each CloudEvent, records it in the inbox and makes
one write per event, in batched transactions, committing offsets after each transaction.

    uv run python libs/runtime/benchmarks/consume_throughput.py --events 100000
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_cli.stack import kafka_bootstrap, postgres_dsn, postgres_url, up
from arshield_events.envelope import envelope
from arshield_events.erp import Instalment, InvoiceIssued
from arshield_events.money import Money
from arshield_events.registry import event_headers, serialize_event
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.messaging import EventRouter, HandlerContext
from arshield_runtime.subscriber import build_broker

MIGRATIONS = Path(__file__).resolve().parents[1] / "tests" / "fixture_migrations"


def sample_event(n: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    buyer = f"buyer-{n % 5000:05d}"
    issued = date(2024, 1, 1) + timedelta(days=n % 300)
    parts = [Money(amount=Decimal("250.00"), currency="EUR")] * 4
    event = envelope(
        InvoiceIssued(
            invoice_id=f"INV-{n:09d}",
            invoice_number=f"2024-{n:09d}",
            buyer_id=buyer,
            order_id=f"SO-{n:09d}",
            issued_on=issued,
            delivered_on=issued,
            due_on=issued + timedelta(days=120),
            amount=Money(amount=Decimal("1000.00"), currency="EUR"),
            payment_terms_days=120,
            instalments=[
                Instalment(
                    seq=i + 1,
                    due_on=issued + timedelta(days=30 * (i + 1)),
                    amount=part,
                    milestone=f"milestone {i + 1} of the project delivery plan",
                )
                for i, part in enumerate(parts)
            ],
        ),
        id=str(uuid.uuid4()),
        source="erp/bench",
        subject=buyer,
        tenantid="bench",
        time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    return event.key.encode(), serialize_event(event), event_headers(event)


async def produce(bootstrap: str, topic: str, count: int) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(t, 6, 1) for t in (topic, f"{topic}.dlq")])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    size = 0
    try:
        pending = []
        for n in range(count):
            key, value, headers = sample_event(n)
            size += len(value)
            pending.append(await producer.send(topic, value=value, key=key, headers=headers))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return size // count


async def raw_getmany(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    seen = 0
    started = None
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if started is None and batches:
                started = time.perf_counter()
            seen += sum(len(records) for records in batches.values())
            await consumer.commit()
    finally:
        await consumer.stop()
    return count / (time.perf_counter() - (started or time.perf_counter()))


INSERT_EFFECT = sa.text("INSERT INTO effects (event_id, buyer_id) VALUES (:e, :b)")


def effect_router(staged: bool) -> EventRouter:
    """One write per event: a statement each, or staged and sent as one executemany per batch."""
    router = EventRouter()

    @router.handles(InvoiceIssued)
    async def on_issued(ctx: HandlerContext) -> None:
        row = {"e": ctx.event.id, "b": ctx.event.data.buyer_id}
        if not staged:
            await ctx.session.execute(INSERT_EFFECT, row)
            return
        rows = ctx.batch.items.setdefault("effects", [])
        rows.append(row)

        async def flush(session: AsyncSession) -> None:
            await session.execute(INSERT_EFFECT, rows)

        ctx.batch.on_flush("effects", flush)

    return router


async def runtime_consumer(
    bootstrap: str, topic: str, count: int, database: str, batch: int, *, staged: bool
) -> float:
    await migrate(MIGRATIONS, database)
    engine = create_engine(database)
    router = effect_router(staged)

    processed = 0
    first: float | None = None
    processor = BatchProcessor(engine, router, service="bench", source="arshield/bench")
    original = processor.process

    async def counting(records, caught_up=None):  # type: ignore[no-untyped-def]
        nonlocal processed, first
        first = first or time.perf_counter()
        await original(records, caught_up)
        processed += len(records)

    processor.process = counting  # type: ignore[method-assign]
    broker = build_broker(
        bootstrap=bootstrap,
        topics=[topic],
        group_id=f"rt-{uuid.uuid4().hex[:6]}",
        processor=processor,
        batch_max=batch,
        client_id="bench",
    )
    await broker.start()
    try:
        while processed < count:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - (first or time.perf_counter())
    finally:
        await broker.stop()
    async with engine.connect() as connection:
        effects = await connection.scalar(sa.text("SELECT count(*) FROM effects"))
    await engine.dispose()
    assert effects == count, f"{effects} effects for {count} events"
    return count / elapsed


async def main(count: int, batch: int) -> None:
    up()
    bootstrap = kafka_bootstrap()
    topic = f"bench.consume.{uuid.uuid4().hex[:8]}"
    size = await produce(bootstrap, topic, count)
    names = [f"bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    admin = await asyncpg.connect(postgres_dsn("postgres"))
    for name in names:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        raw = await raw_getmany(bootstrap, topic, count)
        runtime = await runtime_consumer(
            bootstrap, topic, count, postgres_url(names[0]), batch, staged=False
        )
        staged = await runtime_consumer(
            bootstrap, topic, count, postgres_url(names[1]), batch, staged=True
        )
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        cleanup = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await cleanup.start()
        await cleanup.delete_topics([topic, f"{topic}.dlq"])
        await cleanup.close()
    print(f"events: {count} of {size} bytes, batch {batch}")
    print(f"raw aiokafka getmany : {raw:10.0f} events/s")
    print(f"runtime consumer     : {runtime:10.0f} events/s (inbox + one write per event)")
    print(f"ratio runtime/raw    : {runtime / raw:10.3f}")
    print(f"runtime, staged write: {staged:10.0f} events/s (one executemany per batch)")
    print(f"ratio staged/raw     : {staged / raw:10.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.batch))
