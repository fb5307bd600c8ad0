"""`clock advance` ticks only when every consumer group has caught up and every outbox is empty."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from arshield_cli.platform import ServiceSpec
from arshield_cli.quiet import QuietWatcher
from arshield_cli.stack import StackSettings

pytestmark = pytest.mark.integration


async def test_lag_or_an_outbox_row_means_not_quiet(
    fresh_topics: Any, postgres_admin_dsn: str
) -> None:
    stack = StackSettings()
    (topic,) = await fresh_topics("arshield.erp")
    name = f"q{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        database = await asyncpg.connect(postgres_admin_dsn.rsplit("/", 1)[0] + f"/{name}")
        await database.execute("CREATE TABLE outbox (id bigint)")
        spec = ServiceSpec(name, "unused", 0, (topic,))
        async with QuietWatcher(stack, [spec]) as watcher:
            assert await watcher.is_quiet()
            producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
            await producer.start()
            await producer.send_and_wait(topic, b"tick", key=b"t")
            await producer.stop()
            assert not await watcher.is_quiet(), "a record nobody consumed yet"
            consumer = AIOKafkaConsumer(
                topic,
                bootstrap_servers=stack.kafka_bootstrap,
                group_id=spec.group_id,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
            )
            await consumer.start()
            while not await consumer.getmany(timeout_ms=500):
                pass
            await consumer.commit()
            await consumer.stop()
            assert await watcher.is_quiet()
            await database.execute("INSERT INTO outbox VALUES (1)")
            assert not await watcher.is_quiet(), "an unpublished outbox row"
        await database.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
