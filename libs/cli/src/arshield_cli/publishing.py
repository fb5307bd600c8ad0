"""Publishing CloudEvents to their topics, keyed `tenant:buyer`, with their CloudEvents headers."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from arshield_events.envelope import CloudEvent
from arshield_events.registry import EventRejected, event_headers, parse_event, serialize_event


class Publisher:
    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
        )

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish_everywhere(self, event: CloudEvent[Any], topics: Iterable[str]) -> int:
        """Publish `event` into every partition of each of `topics` (a day marker)."""
        futures = [
            await self._producer.send(
                topic,
                value=serialize_event(event),
                key=event.key.encode(),
                partition=partition,
                headers=event_headers(event),
            )
            for topic in topics
            for partition in sorted(await self._producer.partitions_for(topic))
        ]
        for future in futures:
            await future
        return len(futures)

    async def publish(self, events: Iterable[CloudEvent[Any]]) -> int:
        """Publish in order and return once Kafka acknowledged every one."""
        futures = [
            await self._producer.send(
                event.data.topic,
                value=serialize_event(event),
                key=event.key.encode(),
                headers=event_headers(event),
            )
            for event in events
        ]
        for future in futures:
            await future
        return len(futures)


def read_jsonl(path: Path) -> tuple[list[CloudEvent[Any]], list[tuple[int, str]]]:
    """Parse a file of one CloudEvent per line: the valid events and (line, reason) for the rest."""
    events: list[CloudEvent[Any]] = []
    problems: list[tuple[int, str]] = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                events.append(parse_event(line))
            except EventRejected as rejected:
                problems.append((number, str(rejected)))
    return events, problems
