"""Knowing when the platform is quiet: every consumer group caught up and every outbox drained.

Business time only advances when nothing is in flight, so a replay takes the same decisions every
time. Quiet means, in one observation: no outbox row anywhere, every group's committed offset equal
to the end of each partition it reads, and the ends unchanged across the observation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from arshield_cli.platform import ServiceSpec
from arshield_cli.stack import StackSettings, postgres_dsn
from arshield_runtime.kafka import topic_partitions


class QuietWatcher:
    def __init__(self, stack: StackSettings, services: Sequence[ServiceSpec]) -> None:
        self._stack = stack
        self._services = services
        self._admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, group_id=None)
        self._databases: dict[str, asyncpg.Connection] = {}
        self._partitions: list[TopicPartition] = []

    async def __aenter__(self) -> QuietWatcher:
        await self._admin.start()
        await self._consumer.start()
        topics = {topic for spec in self._services for topic in spec.topics}
        self._partitions = await topic_partitions(self._stack.kafka_bootstrap, topics)
        for spec in self._services:
            self._databases[spec.name] = await asyncpg.connect(postgres_dsn(spec.name, self._stack))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for connection in self._databases.values():
            await connection.close()
        await self._consumer.stop()
        await self._admin.close()

    async def _outbox_rows(self) -> int:
        total = 0
        for connection in self._databases.values():
            exists = await connection.fetchval("SELECT to_regclass('outbox') IS NOT NULL")
            if exists:
                total += await connection.fetchval("SELECT count(*) FROM outbox")
        return total

    async def _lag(self, ends: dict[TopicPartition, int]) -> int:
        lag = 0
        for spec in self._services:
            committed = await self._admin.list_consumer_group_offsets(spec.group_id)
            for tp in self._partitions:
                if tp.topic in spec.topics:
                    meta = committed.get(tp)
                    done = meta.offset if meta is not None and meta.offset >= 0 else 0
                    lag += max(ends[tp] - done, 0)
        return lag

    async def is_quiet(self) -> bool:
        ends_before: dict[TopicPartition, int] = await self._consumer.end_offsets(self._partitions)
        if await self._outbox_rows():
            return False
        if await self._lag(ends_before):
            return False
        if await self._outbox_rows():
            return False
        ends_after: dict[TopicPartition, int] = await self._consumer.end_offsets(self._partitions)
        return bool(ends_after == ends_before)

    async def wait(self, timeout: float = 600.0, poll: float = 0.05) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await self.is_quiet():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the platform did not become quiet within {timeout:.0f}s")
            await asyncio.sleep(poll)
