# ruff: noqa: F811 - fixtures imported below are requested by parameters of the same name
"""Credit-assessment running in-process over the real Kafka and PostgreSQL: fresh topics for all it
consumes (its own `arshield.credit` too: its relay publishes there, `topic_names`), a fresh
database, API keys per scope, and helpers to publish facts and wait for their effects."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from arshield_cli.testing import (  # noqa: F401
    fresh_database,
    fresh_topics,
    kafka_bootstrap,
    postgres_admin_dsn,
    stack_started,
)
from arshield_credit_assessment.bootstrap import bootstrap
from arshield_credit_assessment.settings import CreditSettings
from arshield_events import topics
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.registry import event_headers, serialize_event
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate, outbox
from arshield_runtime.service import run_service

FACT_TOPICS = (
    topics.ERP,
    topics.LEDGER,
    topics.RISK,
    topics.INSURANCE,
    topics.EXTERNAL,
    topics.CLOCK,
    topics.CREDIT,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fact(tenant: str, data: Payload, on: date, subject: str | None = None) -> CloudEvent[Any]:
    buyer = getattr(data, "buyer_id", None)
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source="test/facts",
        subject=tenant if data.tenant_keyed else (subject or buyer or tenant),
        tenantid=tenant,
        time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


@dataclass
class Credit:
    """The running service and what a test needs to drive it."""

    settings: CreditSettings
    topic_map: dict[str, str]
    producer: AIOKafkaProducer
    admin: AIOKafkaAdminClient
    consumer: AIOKafkaConsumer
    engine: Any
    keys: dict[str, str]
    tenant: str
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    def auth(self, scope: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[scope]}"}

    async def publish(self, events: Iterable[CloudEvent[Any]]) -> None:
        futures = [
            await self.producer.send(
                self.topic_map.get(e.data.topic, e.data.topic),
                value=serialize_event(e),
                key=e.key.encode(),
                headers=event_headers(e),
            )
            for e in events
        ]
        for future in futures:
            await future

    async def settled(self, within: float = 60.0) -> None:
        """Until the outbox is relayed and the group has consumed every partition it reads."""
        parts: list[TopicPartition] = []
        for name in self.settings.topics:
            (described,) = await self.admin.describe_topics([name])
            parts += [TopicPartition(name, p["partition"]) for p in described["partitions"]]
        deadline = time.monotonic() + within
        quiet = 0
        while quiet < 2:
            async with self.engine.connect() as connection:
                waiting = await connection.scalar(sa.select(sa.func.count()).select_from(outbox))
            ends = await self.consumer.end_offsets(parts)
            committed = await self.admin.list_consumer_group_offsets(self.settings.group_id)
            behind = [
                tp
                for tp, end in ends.items()
                if (committed[tp].offset if tp in committed else 0) < end
            ]
            quiet = quiet + 1 if not behind and not waiting else 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"not settled: outbox {waiting}, behind {behind}")
            await asyncio.sleep(0.05)


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 30.0) -> Any:
    """The first truthy answer of `check`, polled until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(AssertionError):
            answer = await check()
            if answer:
                return answer
        if time.monotonic() > deadline:
            return await check()
        await asyncio.sleep(0.05)


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def credit_service(
    kafka_bootstrap: str, fresh_database: str, fresh_topics: Any, tenant: str
) -> AsyncIterator[Credit]:
    names = await fresh_topics(*FACT_TOPICS, partitions=3)
    topic_map = dict(zip(FACT_TOPICS, names, strict=True))
    settings = CreditSettings(
        database_url=fresh_database,
        kafka_bootstrap=kafka_bootstrap,
        topics=names,
        topic_names={topics.CREDIT: topic_map[topics.CREDIT]},
        consumer_group=f"credit-test-{uuid.uuid4().hex[:8]}",
        http_port=free_port(),
        environment="test",
    )
    await migrate(bootstrap(settings).migrations, fresh_database)
    engine = create_engine(fresh_database, pool_size=2)
    keys = {
        scope: await create_api_key(
            engine, tenant_id=tenant, name=f"{scope}-person", scopes=[scope]
        )
        for scope in ("read", "write", "admin")
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None)
    await producer.start()
    await admin.start()
    await consumer.start()
    service = Credit(settings, topic_map, producer, admin, consumer, engine, keys, tenant)
    service.task = asyncio.create_task(run_service(bootstrap(settings)))
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{service.url}/readyz")).status_code == 200:
                        break
                if service.task.done() or time.monotonic() > deadline:
                    raise RuntimeError("credit-assessment did not start")
                await asyncio.sleep(0.1)
        yield service
    finally:
        if service.task is not None:
            service.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await service.task
        await producer.stop()
        await consumer.stop()
        await admin.close()
        await engine.dispose()
