# ruff: noqa: F811 - fixtures imported below are requested by parameters of the same name
"""insurance-claims as a real process over the real Kafka and PostgreSQL, and a real HTTP insurer
receiver on loopback that verifies every delivery with the `standardwebhooks` library."""

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
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

# The shared real-stack fixtures (pytest_plugins is only allowed in the rootdir's conftest).
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
from arshield_events.registry import event_headers, serialize_event
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine

CONSUMED = (topics.ERP, topics.LEDGER, topics.RISK, topics.DUNNING, topics.CLOCK, topics.INSURANCE)


class InsuranceProcess:
    """`python -m arshield_insurance_claims serve` with its own database, topics and group."""

    def __init__(
        self,
        *,
        database_url: str,
        bootstrap: str,
        topic_map: dict[str, str],
        log_path: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.topic_map = topic_map
        self.port = free_port()
        self.group = f"insurance-test-{uuid.uuid4().hex[:8]}"
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ARSHIELD_INSURANCE_CLAIMS_DATABASE_URL": database_url,
            "ARSHIELD_INSURANCE_CLAIMS_KAFKA_BOOTSTRAP": bootstrap,
            "ARSHIELD_INSURANCE_CLAIMS_HTTP_PORT": str(self.port),
            "ARSHIELD_INSURANCE_CLAIMS_TOPICS": json.dumps([topic_map[t] for t in CONSUMED]),
            "ARSHIELD_INSURANCE_CLAIMS_CONSUMER_GROUP": self.group,
            "ARSHIELD_INSURANCE_CLAIMS_ENVIRONMENT": "test",
            "ARSHIELD_INSURANCE_CLAIMS_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
            "ARSHIELD_INSURANCE_CLAIMS_WEBHOOK_RETRY_SCHEDULE": "[1, 2, 3]",
            "ARSHIELD_INSURANCE_CLAIMS_WEBHOOK_JITTER": "0",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives this call
            [sys.executable, "-m", "arshield_insurance_claims", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"insurance-claims exited: {self.log_path.read_text()[-3000:]}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(
            f"insurance-claims did not become ready: {self.log_path.read_text()[-3000:]}"
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; whatever was in flight is in flight."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Stack:
    """Publishing to this test's topics and knowing when the service has consumed everything."""

    bootstrap: str
    topic_map: dict[str, str]
    producer: AIOKafkaProducer
    admin: AIOKafkaAdminClient
    consumer: AIOKafkaConsumer
    partitions: list[TopicPartition] = field(default_factory=list)

    async def publish(
        self, events: Iterable[CloudEvent[Any]], *, traceparent: str | None = None
    ) -> None:
        """Publish `events`, with a W3C `traceparent` record header if given (as an upstream
        service's outbox relay would)."""
        trace = [("traceparent", traceparent.encode())] if traceparent else []
        futures = [
            await self.producer.send(
                self.topic_map[event.data.topic],
                value=serialize_event(event),
                key=event.key.encode(),
                headers=[*event_headers(event), *trace],
            )
            for event in events
        ]
        for future in futures:
            await future

    async def partitions_of(self, topic: str) -> list[TopicPartition]:
        (described,) = await self.admin.describe_topics([topic])
        assert described["error_code"] == 0, described
        return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])

    async def insurance_offsets(self) -> dict[TopicPartition, int]:
        """The end offsets of the shared topic the service's outbox publishes to."""
        parts = await self.partitions_of(topics.INSURANCE)
        return dict(await self.consumer.end_offsets(parts))

    async def insurance_events(
        self, tenant: str, since: dict[TopicPartition, int]
    ) -> list[CloudEvent[Any]]:
        """Every event the service published for `tenant` after the offsets `since`."""
        return [event for event, _, _ in await self.insurance_records(tenant, since)]

    async def insurance_records(
        self, tenant: str, since: dict[TopicPartition, int]
    ) -> list[tuple[CloudEvent[Any], dict[str, str], int]]:
        """Every event the service published for `tenant` after the offsets `since`, with its
        record headers and timestamp."""
        from arshield_events.registry import parse_event

        reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await reader.start()
        found: list[tuple[CloudEvent[Any], dict[str, str], int]] = []
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
                            found.append(
                                (parse_event(record.value or b""), headers, record.timestamp)
                            )
                        if record.offset + 1 >= ends[tp]:
                            remaining.discard(tp)
        finally:
            await reader.stop()
        return found

    async def wait_consumed(self, group: str, within: float = 120.0) -> None:
        """Until the group's committed offsets reach the end of every consumed partition."""
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
                raise TimeoutError("insurance-claims did not consume everything in time")
            await asyncio.sleep(0.03)


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
async def service(
    stack: Stack, fresh_database: str, tmp_path: Path
) -> AsyncIterator[InsuranceProcess]:
    process = InsuranceProcess(
        database_url=fresh_database,
        bootstrap=stack.bootstrap,
        topic_map=stack.topic_map,
        log_path=tmp_path / "insurance.log",
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
async def api_keys(service: InsuranceProcess, tenant: str) -> dict[str, str]:
    """One key per scope for `tenant`, and an all-scopes key of another tenant."""
    engine = create_engine(service.database_url, pool_size=1)
    try:
        keys = {
            scope: await create_api_key(
                engine, tenant_id=tenant, name=f"test-{scope}", scopes=[scope]
            )
            for scope in ("read", "write", "admin", "agency")
        }
        keys["other"] = await create_api_key(
            engine,
            tenant_id=f"{tenant}-other",
            name="other",
            scopes=["read", "write", "admin", "agency"],
        )
    finally:
        await engine.dispose()
    return keys
