"""A service as a real process on this test's own topics and database, and the topics around it:
what every service's integration tests need to publish facts, know when they are consumed and read
what the service published. One implementation for every service, so their tests read alike.

Use it from a service's integration conftest, with the real-stack fixtures of `arshield_cli.testing`
(`fresh_database`, `fresh_topics`):

    stack = await open_topics(kafka_bootstrap, fresh_topics, CONSUMED, own=topics.DUNNING)
    process = ServiceProcess("dunning", stack, database_url=..., log_path=...)
"""

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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from arshield_cli.clock import CLOCK_SOURCE, tick
from arshield_cli.testing import free_port
from arshield_events.clock import day_marker
from arshield_events.envelope import CloudEvent
from arshield_events.registry import event_headers, parse_event, serialize_event
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine

Offsets = dict[TopicPartition, int]


@dataclass(frozen=True)
class Record:
    """One record of a topic as the test read it back."""

    value: bytes
    headers: dict[str, str]
    timestamp: int

    @property
    def event(self) -> CloudEvent[Any]:
        return parse_event(self.value)


class Grouped(Protocol):
    @property
    def group(self) -> str: ...


@dataclass
class Topics:
    """This test's fresh topics (`topic_map`: contract name -> the test's name), with a producer
    to publish facts, and the service's own topic (`own`) to read back what it published."""

    bootstrap: str
    topic_map: dict[str, str]
    own: str
    producer: AIOKafkaProducer
    admin: AIOKafkaAdminClient
    consumer: AIOKafkaConsumer
    partitions: list[TopicPartition] = field(default_factory=list)

    async def publish(
        self, events: Iterable[CloudEvent[Any]], *, traceparent: str | None = None
    ) -> None:
        """Publish `events` to this test's topics, with a W3C `traceparent` record header if given
        (as an upstream service's outbox relay would)."""
        trace = [("traceparent", traceparent.encode())] if traceparent else []
        futures = [
            await self.producer.send(
                self.topic_map.get(event.data.topic, event.data.topic),
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

    async def offsets(self, topic: str | None = None) -> Offsets:
        """The end offsets of `topic` (the service's own topic by default): pass them as `since`."""
        parts = await self.partitions_of(topic or self.topic_map[self.own])
        return dict(await self.consumer.end_offsets(parts))

    async def records(self, tenant: str, since: Offsets) -> list[Record]:
        """Every record of `tenant` after the offsets `since` (of whichever topic they name)."""
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await reader.start()
        found: list[Record] = []
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
                            found.append(Record(record.value or b"", headers, record.timestamp))
                        if record.offset + 1 >= ends[tp]:
                            remaining.discard(tp)
        finally:
            await reader.stop()
        return found

    async def events(self, tenant: str, since: Offsets) -> list[CloudEvent[Any]]:
        """Every event of `tenant` after the offsets `since`."""
        return [record.event for record in await self.records(tenant, since)]

    async def wait_published(
        self, tenant: str, since: Offsets, count: int, within: float = 30.0
    ) -> list[CloudEvent[Any]]:
        """Until at least `count` events of `tenant` are there after `since` (a relay publishes
        asynchronously to the consumer's commit); what is there when the time is up otherwise."""
        deadline = time.monotonic() + within
        while True:
            found = await self.events(tenant, since)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)

    async def wait_consumed(self, group: str, within: float = 120.0) -> None:
        """Until the group's committed offsets reach the end of every partition of this test's
        topics."""
        if not self.partitions:
            for name in self.topic_map.values():
                self.partitions += await self.partitions_of(name)
        deadline = time.monotonic() + within
        while True:
            ends = await self.consumer.end_offsets(self.partitions)
            committed = await self.admin.list_consumer_group_offsets(group)
            if all(
                (committed[tp].offset if tp in committed else 0) >= end for tp, end in ends.items()
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"group {group} did not consume everything in time")
            await asyncio.sleep(0.03)

    async def mark_days(
        self, tenant: str, days: dict[date, list[CloudEvent[Any]]], upstream: Sequence[str]
    ) -> date:
        """Business time in the log, as the clock and the services upstream write it: each day's
        marker into every partition of the `upstream` contract topics, then the day's facts, without
        waiting; at the end the last day's closing marker. Returns the last day."""
        names = [self.topic_map[topic] for topic in upstream]
        everywhere = [tp for name in names for tp in await self.partitions_of(name)]

        async def mark(day: date, closing: bool = False) -> None:
            marker = day_marker(CLOCK_SOURCE, tenant, day, closing=closing)
            futures = [
                await self.producer.send(
                    tp.topic,
                    value=serialize_event(marker),
                    key=marker.key.encode(),
                    partition=tp.partition,
                    headers=event_headers(marker),
                )
                for tp in everywhere
            ]
            for future in futures:
                await future

        for day in sorted(days):
            await mark(day)
            await self.publish(days[day])
        last = max(days)
        await mark(last, closing=True)
        return last

    async def run_days(
        self, service: Grouped, tenant: str, days: dict[date, list[CloudEvent[Any]]]
    ) -> None:
        """Each day's business-day tick, then its facts, each step consumed before the next."""
        for day in sorted(days):
            await self.publish([tick(tenant, day)])
            await self.wait_consumed(service.group)
            if days[day]:
                await self.publish(days[day])
                await self.wait_consumed(service.group)

    async def close(self) -> None:
        await self.producer.stop()
        await self.consumer.stop()
        await self.admin.close()


async def open_topics(
    bootstrap: str,
    fresh_topics: Callable[..., Awaitable[list[str]]],
    consumed: Sequence[str],
    *,
    own: str,
) -> Topics:
    """Fresh topics for every contract topic in `consumed` (three partitions each), connected."""
    names = await fresh_topics(*consumed, partitions=3)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=1
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await producer.start()
    await admin.start()
    await consumer.start()
    return Topics(
        bootstrap, dict(zip(consumed, names, strict=True)), own, producer, admin, consumer
    )


class ServiceProcess:
    """`python -m arshield_<name> serve` with its own database, this test's topics (its relay
    publishing to the test's copy of its own topic) and its own consumer group."""

    def __init__(
        self,
        name: str,
        topics: Topics,
        *,
        database_url: str,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.module = "arshield_" + name.replace("-", "_")
        self.database_url = database_url
        self.port = free_port()
        self.group = f"{name}-test-{uuid.uuid4().hex[:8]}"
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.port}"
        prefix = self.module.upper() + "_"
        self.env = {
            **os.environ,
            prefix + "DATABASE_URL": database_url,
            prefix + "KAFKA_BOOTSTRAP": topics.bootstrap,
            prefix + "HTTP_PORT": str(self.port),
            prefix + "TOPICS": json.dumps(list(topics.topic_map.values())),
            prefix + "TOPIC_NAMES": json.dumps({topics.own: topics.topic_map[topics.own]}),
            prefix + "CONSUMER_GROUP": self.group,
            prefix + "ENVIRONMENT": "test",
            prefix + "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
            prefix + "WEBHOOK_RETRY_SCHEDULE": "[1, 2, 3]",
            prefix + "WEBHOOK_JITTER": "0",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220, S603 - a child that outlives this call
            [sys.executable, "-m", self.module, "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready: {self.log_path.read_text()[-3000:]}")

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

    def rebuild(self, timeout: float = 300) -> None:
        """Stop the service and rebuild its read models from the log (`python -m ... rebuild`
        with the same settings); a failed rebuild fails the test with its error output."""
        self.stop()
        rebuilt = subprocess.run(  # noqa: S603 - this interpreter, the service under test
            [sys.executable, "-m", self.module, "rebuild"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]


async def api_keys(database_url: str, tenant: str, scopes: Sequence[str]) -> dict[str, str]:
    """One key per scope for `tenant`, and `other`: a key with every scope for another tenant."""
    engine = create_engine(database_url, pool_size=1)
    try:
        keys = {
            scope: await create_api_key(
                engine, tenant_id=tenant, name=f"test-{scope}", scopes=[scope]
            )
            for scope in scopes
        }
        keys["other"] = await create_api_key(
            engine, tenant_id=f"{tenant}-other", name="other", scopes=list(scopes)
        )
    finally:
        await engine.dispose()
    return keys
