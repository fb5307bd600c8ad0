# ruff: noqa: F811 - fixtures imported below are requested by parameters of the same name
"""risk-monitor as a real process over the real Kafka and PostgreSQL, on fresh topics, scoring
with the hand-made test scorecards (tests/fixtures/scorecards, through its scorecards_dir)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from arshield_cli.clock import tick
from arshield_cli.testing import (  # noqa: F401
    free_port,
    fresh_database,
    fresh_topics,
    kafka_bootstrap,
    postgres_admin_dsn,
    stack_started,
)
from arshield_events import topics
from arshield_events.envelope import CloudEvent
from arshield_events.registry import event_headers, parse_event, serialize_event
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine

CONSUMED = (topics.ERP, topics.LEDGER, topics.EXTERNAL, topics.CLOCK, topics.RISK)
SCORECARDS = Path(__file__).resolve().parents[1] / "fixtures" / "scorecards"


class RiskProcess:
    """`python -m arshield_risk_monitor serve` with its own database, topics and group."""

    def __init__(
        self, *, database_url: str, bootstrap: str, topic_map: dict[str, str], log_path: Path
    ) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.group = f"risk-test-{uuid.uuid4().hex[:8]}"
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ARSHIELD_RISK_MONITOR_DATABASE_URL": database_url,
            "ARSHIELD_RISK_MONITOR_KAFKA_BOOTSTRAP": bootstrap,
            "ARSHIELD_RISK_MONITOR_HTTP_PORT": str(self.port),
            "ARSHIELD_RISK_MONITOR_TOPICS": json.dumps([topic_map[t] for t in CONSUMED]),
            # its relay publishes to this test's own risk topic, which it reads back
            "ARSHIELD_RISK_MONITOR_TOPIC_NAMES": json.dumps({topics.RISK: topic_map[topics.RISK]}),
            "ARSHIELD_RISK_MONITOR_CONSUMER_GROUP": self.group,
            "ARSHIELD_RISK_MONITOR_ENVIRONMENT": "test",
            "ARSHIELD_RISK_MONITOR_SCORECARDS_DIR": str(SCORECARDS),
            "ARSHIELD_RISK_MONITOR_DEFAULT_SCORECARD": "test-1",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        assert SCORECARDS.joinpath("test-1.json").exists()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives this call
            [sys.executable, "-m", "arshield_risk_monitor", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"risk-monitor exited: {self.log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"risk-monitor not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class Stack:
    bootstrap: str
    topic_map: dict[str, str]
    producer: AIOKafkaProducer
    admin: AIOKafkaAdminClient
    consumer: AIOKafkaConsumer
    partitions: list[TopicPartition] = field(default_factory=list)

    async def publish(self, events: Iterable[CloudEvent[Any]]) -> None:
        futures = [
            await self.producer.send(
                self.topic_map[event.data.topic],
                value=serialize_event(event),
                key=event.key.encode(),
                headers=event_headers(event),
            )
            for event in events
        ]
        for future in futures:
            await future

    async def partitions_of(self, topic: str) -> list[TopicPartition]:
        (described,) = await self.admin.describe_topics([topic])
        assert described["error_code"] == 0, described
        return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])

    async def offsets(self, topic: str) -> dict[TopicPartition, int]:
        return dict(await self.consumer.end_offsets(await self.partitions_of(topic)))

    async def records(
        self, topic: str, tenant: str, since: dict[TopicPartition, int]
    ) -> list[tuple[bytes, dict[str, str]]]:
        """The records of `tenant` on `topic` after the offsets `since` (value, headers)."""
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await reader.start()
        found: list[tuple[bytes, dict[str, str]]] = []
        try:
            parts = list(since)
            reader.assign(parts)
            ends = await reader.end_offsets(parts)
            for tp, start in since.items():
                reader.seek(tp, start)
            remaining = {tp for tp in parts if ends[tp] > since[tp]}
            while remaining:
                batch = await reader.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= ends[tp]:
                            continue
                        headers = {k: v.decode() for k, v in record.headers or ()}
                        if headers.get("ce_tenantid") == tenant:
                            found.append((record.value or b"", headers))
                        if record.offset + 1 >= ends[tp]:
                            remaining.discard(tp)
        finally:
            await reader.stop()
        return found

    async def risk_events(
        self, tenant: str, since: dict[TopicPartition, int]
    ) -> list[CloudEvent[Any]]:
        """What risk-monitor published for `tenant` (on this test's risk topic)."""
        topic = self.topic_map[topics.RISK]
        return [parse_event(v) for v, _ in await self.records(topic, tenant, since)]

    async def wait_consumed(self, group: str, within: float = 60.0) -> None:
        if not self.partitions:
            for t in CONSUMED:
                self.partitions += await self.partitions_of(self.topic_map[t])
        deadline = time.monotonic() + within
        while True:
            ends = await self.consumer.end_offsets(self.partitions)
            committed = await self.admin.list_consumer_group_offsets(group)
            if all(
                (committed.get(tp).offset if committed.get(tp) else 0) >= end  # type: ignore[union-attr]
                for tp, end in ends.items()
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("risk-monitor did not consume everything in time")
            await asyncio.sleep(0.03)

    async def run_days(
        self, risk: RiskProcess, tenant: str, days: dict[date, list[CloudEvent[Any]]]
    ) -> None:
        """Each day's tick, then its facts, each step consumed before the next."""
        for day in sorted(days):
            await self.publish([tick(tenant, day)])
            await self.wait_consumed(risk.group)
            if days[day]:
                await self.publish(days[day])
                await self.wait_consumed(risk.group)

    async def wait_published(
        self, tenant: str, since: dict[TopicPartition, int], count: int, within: float = 30.0
    ) -> list[CloudEvent[Any]]:
        """Until at least `count` events of `tenant` reached `arshield.risk` (the relay is
        asynchronous to the consumer's commit)."""
        deadline = time.monotonic() + within
        while True:
            found = await self.risk_events(tenant, since)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)


@pytest.fixture
async def stack(kafka_bootstrap: str, fresh_topics: Any) -> AsyncIterator[Stack]:
    names = await fresh_topics(*CONSUMED, partitions=3)
    topic_map = dict(zip(CONSUMED, names, strict=True))
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=1
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None)
    await producer.start()
    await admin.start()
    await consumer.start()
    try:
        yield Stack(kafka_bootstrap, topic_map, producer, admin, consumer)
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()


@pytest.fixture
async def risk(stack: Stack, fresh_database: str, tmp_path: Path) -> AsyncIterator[RiskProcess]:
    process = RiskProcess(
        database_url=fresh_database,
        bootstrap=stack.bootstrap,
        topic_map=stack.topic_map,
        log_path=tmp_path / "risk-monitor.log",
    )
    await process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def api_keys(risk: RiskProcess, tenant: str) -> dict[str, str]:
    engine = create_engine(risk.database_url, pool_size=1)
    try:
        keys = {
            scope: await create_api_key(
                engine, tenant_id=tenant, name=f"test-{scope}", scopes=[scope]
            )
            for scope in ("read", "admin")
        }
        keys["other"] = await create_api_key(
            engine, tenant_id=f"{tenant}-other", name="other", scopes=["read", "admin"]
        )
    finally:
        await engine.dispose()
    return keys
