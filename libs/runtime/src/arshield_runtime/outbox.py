"""The transactional outbox and its relay.

Rows are written in the handler's transaction. Writers of the same key serialise on a transaction
advisory lock taken before the row's id is drawn, so for one key id order is commit order. The
relay publishes rows in id order and deletes what Kafka acknowledged: it keeps no high-water mark,
so a row whose id was committed late is never skipped.

The relay sleeps until there is something to publish: a transaction that writes outbox rows
notifies `OUTBOX_CHANNEL` (delivered on its commit), which wakes the relay of any process on the
same database; the writer's own process is woken at once after its commit (`committed`), without
the round trip. A slow safety poll covers a notification lost while the listener reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from arshield_runtime.db import outbox
from arshield_runtime.notify import OUTBOX_CHANNEL, Listener
from arshield_runtime.retry import until_it_works
from arshield_runtime.telemetry import OUTBOX_AGE, OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxRecord:
    """One record to publish, in the shape the outbox table stores."""

    topic: str
    key: str
    value: bytes
    headers: dict[str, str]

    def as_row(self) -> dict[str, Any]:
        return {"topic": self.topic, "key": self.key, "value": self.value, "headers": self.headers}


PARTITIONS_HEADER = "arshield-partitions"
"""The header of a row the relay writes into the partition it names (a day marker of one task), in
place of the one its key chooses; the header itself is not published."""


def headers_json(headers: dict[str, str]) -> str:
    return json.dumps(headers, sort_keys=True)


_RELAY_LOCK = 0x6172_7368  # "arsh": one relay per database publishes at a time


def key_lock_id(key: str) -> int:
    """A stable signed 64-bit advisory-lock id for a record key."""
    return zlib.crc32(key.encode()) - (1 << 31)


# The keys' locks, the relay's notification (sent by PostgreSQL on commit) and the rows, in one
# statement and one round trip. The locks are an aggregate every inserted row joins, so each is
# held before the first identity value is drawn (ids are drawn in the order of the rows, after the
# sort); one statement is also atomic on a connection without an explicit transaction (its
# implicit transaction holds the locks until the rows are committed).
_APPEND = sa.text(
    "INSERT INTO outbox (topic, key, value, headers) "
    "SELECT u.topic, u.key, u.value, CAST(u.headers AS jsonb) FROM "
    "(SELECT pg_notify(:channel, '') FROM (SELECT count(pg_advisory_xact_lock(k)) "
    "FROM unnest(CAST(:ids AS bigint[])) AS k) AS held) AS locks, "
    "unnest(CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:vals AS bytea[]), "
    "CAST(:headers AS text[])) WITH ORDINALITY AS u(topic, key, value, headers, ordinality) "
    "ORDER BY u.ordinality"
).bindparams(channel=OUTBOX_CHANNEL)
_DELETE = sa.text("DELETE FROM outbox WHERE id = ANY(CAST(:ids AS bigint[]))")  # one SQL text


async def append(
    connection: AsyncSession | AsyncConnection, records: Sequence[OutboxRecord]
) -> None:
    """Write records to the outbox in one statement, inside the caller's transaction (or, on a
    connection without one, as its own), keys locked in sorted order (ids are drawn in the order
    of `records`); the relays listening on the database are notified
    when the transaction commits, and this process's relays right after (a session's commit)."""
    if not records:
        return
    await connection.execute(
        _APPEND,
        {
            "ids": sorted({key_lock_id(record.key) for record in records}),
            "topics": [r.topic for r in records],
            "keys": [r.key for r in records],
            "vals": [r.value for r in records],
            "headers": [headers_json(r.headers) for r in records],
        },
    )
    if isinstance(connection, AsyncSession):
        connection.sync_session.info[_WROTE_OUTBOX] = True


_WROTE_OUTBOX = "arshield_wrote_outbox"
"""Marks a session whose transaction wrote outbox rows, until it commits or rolls back."""
_relays: set[OutboxRelay] = set()
"""The running relays of this process, woken after a local commit that wrote outbox rows."""


def committed() -> None:
    """Wake this process's relays: a transaction that wrote outbox rows has committed."""
    for relay in list(_relays):
        # never fails the commit it follows (a relay left behind by a closed event loop)
        with contextlib.suppress(RuntimeError):
            relay.wake()


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE_OUTBOX, False):
        committed()


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WROTE_OUTBOX, None)


def new_producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


class OutboxRelay:
    """Publishes outbox rows to Kafka in id order, then deletes them.

    It publishes until the outbox is empty, then sleeps until a wake-up: a commit in this process
    (`wake`, `committed`), a notification from another connection, or the safety poll every
    `poll_seconds`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        service: str,
        poll_seconds: float = 5.0,
        batch_size: int = 1000,
        topic_names: Mapping[str, str] | None = None,
    ) -> None:
        """`topic_names` maps a contract topic to the one it lives in here (a test's own copy);
        others keep their names."""
        self._topic_names = dict(topic_names or {})
        self._engine = engine
        self._producer = producer
        self._service = service
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wakeup = asyncio.Event()
        self.listener = Listener(
            engine, OUTBOX_CHANNEL, self.wake, application_name=f"arshield-{service}-relay"
        )

    def wake(self) -> None:
        """Called after a transaction wrote rows, so they go out without waiting for the poll."""
        self._wakeup.set()

    async def run(self) -> None:
        listening = asyncio.create_task(self.listener.run(), name="outbox-listener")
        _relays.add(self)
        try:
            while True:
                # Cleared before looking, so a wake-up during the look is not lost.
                self._wakeup.clear()
                # Whatever fails (database, broker) is waited out: rows stay until Kafka has them.
                published = await until_it_works(self.publish_once, on=Exception)
                if published == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_seconds)
        finally:
            _relays.discard(self)
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

    async def publish_once(self) -> int:
        """Publish one batch of rows; returns how many rows were published."""
        async with self._engine.begin() as connection:
            leader = await connection.scalar(
                sa.text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _RELAY_LOCK}
            )
            if not leader:
                return 0
            rows = (
                await connection.execute(
                    sa.select(outbox).order_by(outbox.c.id).limit(self._batch_size)
                )
            ).all()
            await self._observe_backlog(connection, rows)
            if not rows:
                return 0
            futures = []
            for row in rows:
                headers = dict(row.headers)
                placed = headers.pop(PARTITIONS_HEADER, None)
                futures.append(
                    await self._producer.send(
                        self._topic_names.get(row.topic, row.topic),
                        value=row.value,
                        key=row.key.encode(),
                        partition=None if placed is None else int(placed),
                        headers=[(name, value.encode()) for name, value in headers.items()],
                    )
                )
            await asyncio.gather(*futures)
            await connection.execute(_DELETE, {"ids": [row.id for row in rows]})
        OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def _observe_backlog(
        self, connection: AsyncConnection, rows: Sequence[sa.Row[Any]]
    ) -> None:
        if len(rows) < self._batch_size:
            OUTBOX_BACKLOG.labels(self._service).set(len(rows))
        else:
            backlog = await connection.scalar(sa.select(sa.func.count()).select_from(outbox))
            OUTBOX_BACKLOG.labels(self._service).set(backlog or 0)
        oldest = rows[0].created_at if rows else None
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        OUTBOX_AGE.labels(self._service).set(max(age, 0.0))
