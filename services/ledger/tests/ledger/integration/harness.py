"""Helpers for the ledger's integration tests: events, producing, consuming through the runtime."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.registry import event_headers, parse_event, serialize_event
from arshield_ledger.bootstrap import bootstrap as ledger_service
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.db import outbox
from arshield_runtime.service import merged_by_time

# Record timestamps increase in publishing order (merged consumption follows them); they start a day
# back because brokers refuse timestamps far in the future.
_stamp = itertools.count(int(datetime.now(UTC).timestamp() * 1000) - 86_400_000)


def event(data: Payload, tenant: str, subject: str, on: date, event_id: str | None = None) -> Any:
    return envelope(
        data,
        id=event_id or str(uuid.uuid4()),
        source="erp/test",
        subject=subject,
        tenantid=tenant,
        time=datetime.combine(on, time(9), tzinfo=UTC),
    )


async def produce(bootstrap: str, records: Iterable[tuple[str, CloudEvent[Any]]]) -> int:
    """Publish (topic, event) pairs in the given order, with increasing record timestamps."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    count = 0
    try:
        futures = []
        for topic, ev in records:
            futures.append(
                await producer.send(
                    topic,
                    value=serialize_event(ev),
                    key=ev.key.encode(),
                    headers=event_headers(ev),
                    timestamp_ms=next(_stamp),
                )
            )
            count += 1
        for future in futures:
            await future
    finally:
        await producer.stop()
    return count


async def consume_all(
    bootstrap: str, topics: Sequence[str], engine: AsyncEngine, *, batch: int = 500
) -> int:
    """Handle everything on `topics` with the ledger's router, merged by record timestamp."""
    processor = BatchProcessor(
        engine, ledger_service().router, service="ledger", source="arshield/ledger"
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    handled = 0
    try:
        partitions = await assign_all(consumer, topics)
        ends = await consumer.end_offsets(partitions)
        async for records in merged_by_time(consumer, ends, batch):
            await processor.process(records)
            handled += len(records)
    finally:
        await consumer.stop()
    return handled


async def assign_all(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    """Assign every partition of `topics` from the beginning (without a consumer group)."""
    consumer.subscribe(list(topics))
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
    partitions = sorted(consumer.assignment())
    await consumer.seek_to_beginning(*partitions)
    return partitions


async def emitted(engine: AsyncEngine) -> list[CloudEvent[Any]]:
    """Events waiting in the outbox (no relay runs in these tests), in emission order."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(outbox.c.value, outbox.c.topic).order_by(outbox.c.id)
        )
        return [parse_event(row.value) for row in rows if not row.topic.endswith(".dlq")]


async def topic_headers(
    bootstrap: str, topic: str, expect: int, seconds: float = 30
) -> list[dict[str, str]]:
    """The headers of the first `expect` records of `topic` (waiting for them to be published)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    out: list[dict[str, str]] = []
    try:
        await assign_all(consumer, [topic])
        async with asyncio.timeout(seconds):
            while len(out) < expect:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    out += [{k: v.decode() for k, v in r.headers} for r in records]
    finally:
        await consumer.stop()
    return out


async def dead_letters(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(outbox.c.headers).where(outbox.c.topic.like("%.dlq")).order_by(outbox.c.id)
        )
        return [dict(row.headers) for row in rows]


_ORDER = {
    "buyer_states": "tenant_id, buyer_id",
    "invoices": "tenant_id, invoice_id",
    "instalments": "tenant_id, invoice_id, seq",
    "ledger_entries": "tenant_id, buyer_id, entry_no",
    "anomalies": "tenant_id, buyer_id, anomaly_no",
    "business_dates": "tenant_id",
    "configurations": "tenant_id, kind, position",
    "tenant_wakes": "tenant_id, wake_on",
}


async def read_models(engine: AsyncEngine) -> dict[str, list[str]]:
    """Every projection table's rows (and the kernel's states and dates) as JSON text, in key order (for exact comparison)."""
    out: dict[str, list[str]] = {}
    async with engine.connect() as connection:
        for table in ledger_service().projection_tables:
            rows = await connection.execute(
                sa.text(f"SELECT to_jsonb(t)::text AS row FROM {table} t ORDER BY {_ORDER[table]}")
            )
            out[table] = [row.row for row in rows]
    return out


def payloads(events: Iterable[CloudEvent[Any]], kind: type[Payload]) -> list[Any]:
    return [e.data for e in events if isinstance(e.data, kind)]


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
