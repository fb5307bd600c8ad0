"""Consuming events with exactly-once effects.

A batch of records is handled in one transaction: the inbox rows (`tenant`, `source`, `id`: one
tenant's ids never shadow another's), every handler's
effect and every emitted outbox row commit together, and only then is the offset committed. If a
handler refuses an event or fails, the batch is rolled back and handled again one event at a time,
so the failing event alone is dead-lettered (through the outbox, in the same transaction as its
inbox row) and the partition moves on. Transient failures (database or broker unreachable) are
retried with backoff, never dead-lettered.
"""

from __future__ import annotations

import functools
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiokafka import ConsumerRecord
from opentelemetry import trace
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_events.envelope import CloudEvent
from arshield_events.registry import EventRejected, parse_event
from arshield_runtime import outbox as outbox_store
from arshield_runtime.db import LEGACY_TENANT, BulkInsert, inbox
from arshield_runtime.messaging import (
    BatchScope,
    EventRouter,
    HandlerContext,
    Origin,
    Rejected,
    dead_letter_record,
)
from arshield_runtime.outbox import OutboxRecord
from arshield_runtime.retry import until_it_works
from arshield_runtime.telemetry import (
    BATCH_SECONDS,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
    EVENTS_FAILED,
    TRANSIENT_RETRIES,
    consuming,
    context_from_headers,
    labelled,
    tracer,
)

log = logging.getLogger(__name__)

# SQLSTATE classes and codes worth waiting out: connection exceptions, serialization failures,
# deadlocks, shutdowns, too many connections.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "53300", "55P03"}


def is_transient(error: BaseException) -> bool:
    if isinstance(error, (OSError, ConnectionError, TimeoutError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated or isinstance(
            error, (sa_exc.OperationalError, sa_exc.InterfaceError)
        ):
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if not isinstance(sqlstate, str):
            return False
        return sqlstate in _TRANSIENT_SQLSTATES or sqlstate.startswith("08")
    return isinstance(error, sa_exc.TimeoutError)


InboxKey = tuple[str, str, str]
"""(tenant, source, event id): what makes two deliveries the same event."""


@dataclass(frozen=True)
class Delivery:
    """One consumed record, parsed (or with the reason it could not be)."""

    record: ConsumerRecord[bytes, bytes]
    origin: Origin
    event: CloudEvent[Any] | None
    error: str | None

    @property
    def inbox_key(self) -> InboxKey:
        if self.event is not None:
            return (self.event.tenantid, self.event.source, self.event.id)
        # Unparseable records have no id: their place in the log identifies them.
        return ("", f"kafka:{self.origin.topic}", f"{self.origin.partition}:{self.origin.offset}")


def to_delivery(record: ConsumerRecord[bytes, bytes]) -> Delivery:
    origin = Origin(record.topic, record.partition, record.offset)
    try:
        if record.value is None:
            raise EventRejected("the record has no value", [])
        return Delivery(record, origin, parse_event(record.value), None)
    except EventRejected as rejected:
        return Delivery(record, origin, None, str(rejected))


def in_written_order(
    records: Sequence[ConsumerRecord[bytes, bytes]],
) -> list[ConsumerRecord[bytes, bytes]]:
    """Records merged across partitions by timestamp, each partition's records kept in order."""
    partitions: dict[tuple[str, int], list[ConsumerRecord[bytes, bytes]]] = {}
    for record in records:
        partitions.setdefault((record.topic, record.partition), []).append(record)
    if len(partitions) < 2:
        return list(records)
    return list(heapq.merge(*partitions.values(), key=lambda record: record.timestamp))


_CLAIM = BulkInsert(
    inbox,
    ("tenant_id", "source", "event_id", "topic", "partition", "offset"),
    conflict=("tenant_id", "source", "event_id"),
    returning=("tenant_id", "source", "event_id"),
)
_HAS_LEGACY_ROWS = sa.select(sa.exists().where(inbox.c.tenant_id == LEGACY_TENANT))


def _legacy_handled(keys: Sequence[InboxKey]) -> sa.Select[Any]:
    """Which of `keys` were handled before the inbox key held the tenant (any tenant's then)."""
    pairs = sa.tuple_(inbox.c.source, inbox.c.event_id)
    return sa.select(inbox.c.source, inbox.c.event_id).where(
        inbox.c.tenant_id == LEGACY_TENANT, pairs.in_([(source, id_) for _, source, id_ in keys])
    )


class _HandlerFailedError(Exception):
    def __init__(self, delivery: Delivery, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.delivery = delivery
        self.cause = cause


class BatchProcessor:
    """Applies consumed records to the database with inbox deduplication (no Kafka I/O here)."""

    def __init__(
        self,
        engine: AsyncEngine,
        router: EventRouter,
        *,
        service: str,
        source: str,
        handler_attempts: int = 3,
        replaying: bool = False,
        on_committed: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._router = router
        self._service = service
        self._source = source
        self._attempts = handler_attempts
        self._replaying = replaying
        self._on_committed = on_committed or (lambda: None)
        self._legacy_rows: bool | None = None  # rows from before the tenant was in the key

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle a batch; returns once every record's effect (or dead letter) is committed.

        The batch is handled in the order its records were written across partitions (each
        partition kept in its own order), as a rebuild replays them: a consumer that was down
        while an ERP fact and the ledger's reaction to it both arrived sees the fact first, as it
        did live, instead of in whatever order the partitions were fetched.
        """
        deliveries = [to_delivery(record) for record in in_written_order(records)]
        started = time.perf_counter()
        await self._retrying_transients(lambda: self._process_together(deliveries))
        labelled(BATCH_SECONDS, self._service).observe(time.perf_counter() - started)

    async def _retrying_transients(self, work: Callable[[], Awaitable[None]]) -> None:
        def transient(error: Exception) -> bool:
            cause = error.cause if isinstance(error, _HandlerFailedError) else error
            if not is_transient(cause):
                return False
            labelled(TRANSIENT_RETRIES, self._service).inc()
            return True

        await until_it_works(work, on=transient)

    async def _process_together(self, deliveries: list[Delivery]) -> None:
        try:
            await self._transaction(deliveries)
        except _HandlerFailedError as failed:
            if is_transient(failed.cause):
                raise
            labelled(EVENTS_FAILED, self._service, failed.delivery.origin.topic).inc()
            log.info("batch rolled back (%r); handling its events one at a time", failed.cause)
            for delivery in deliveries:
                await self._retrying_transients(functools.partial(self._process_alone, delivery))

    async def _process_alone(self, delivery: Delivery) -> None:
        failures = 0
        while True:
            try:
                await self._transaction([delivery])
                return
            except _HandlerFailedError as failed:
                if is_transient(failed.cause):
                    raise
                if isinstance(failed.cause, Rejected):
                    reason = f"rejected: {failed.cause.reason}"
                else:
                    failures += 1
                    if failures < self._attempts:
                        labelled(EVENTS_FAILED, self._service, delivery.origin.topic).inc()
                        continue
                    reason = f"handler failed {failures} times: {failed.cause!r}"
                await self._dead_letter(delivery, reason)
                return

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        async with AsyncSession(self._engine) as session, session.begin():
            if await self._claim(session, [delivery]):
                await outbox_store.append(session, [self._dlq_record(delivery, reason)])
                labelled(EVENTS_DEAD_LETTERED, self._service, delivery.origin.topic).inc()
        self._on_committed()

    def _dlq_record(self, delivery: Delivery, reason: str) -> OutboxRecord:
        record = delivery.record
        return dead_letter_record(
            origin=delivery.origin,
            key=record.key,
            value=record.value,
            original_headers=list(record.headers or ()),
            error=reason,
            service=self._service,
        )

    async def _claim(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> set[InboxKey]:
        """Insert inbox rows; returns the keys that were new (the others were handled before)."""
        rows = {
            d.inbox_key: (*d.inbox_key, d.origin.topic, d.origin.partition, d.origin.offset)
            for d in deliveries
        }
        if rows and await self._has_legacy_rows(session):
            legacy = await session.execute(_legacy_handled(list(rows)))
            handled = {(row.source, row.event_id) for row in legacy}
            rows = {key: row for key, row in rows.items() if (key[1], key[2]) not in handled}
        result = await _CLAIM.execute(session, list(rows.values()))
        if result is None:
            return set()
        return {(row.tenant_id, row.source, row.event_id) for row in result}

    async def _has_legacy_rows(self, session: AsyncSession) -> bool:
        # Asked once per process: no legacy row is ever written again.
        if self._legacy_rows is None:
            self._legacy_rows = bool(await session.scalar(_HAS_LEGACY_ROWS))
        return self._legacy_rows

    async def _transaction(self, deliveries: list[Delivery]) -> None:
        relevant = [
            d
            for d in deliveries
            if d.event is None or self._router.handler_for(d.event.data) is not None
        ]
        emitted: list[OutboxRecord] = []
        scope = BatchScope()
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            try:
                async with session.begin():
                    fresh = await self._claim(session, relevant)
                    handled: list[Delivery] = []
                    for delivery in relevant:
                        key = delivery.inbox_key
                        topic = delivery.origin.topic
                        if key not in fresh:
                            labelled(EVENTS_DUPLICATE, self._service, topic).inc()
                            continue
                        fresh.discard(key)  # the same id twice in one batch has one effect
                        if delivery.event is None:
                            emitted.append(self._dlq_record(delivery, delivery.error or "invalid"))
                            labelled(EVENTS_DEAD_LETTERED, self._service, topic).inc()
                            continue
                        handled.append(delivery)
                    events = [d.event for d in handled if d.event is not None]
                    await self._router.prepare(session, events, scope)
                    for delivery in handled:
                        emitted.extend(await self._handle(session, delivery, scope))
                    await scope.flush(session)
                    await outbox_store.append(session, emitted)
            except _HandlerFailedError:
                raise
            except Exception as error:
                raise _HandlerFailedError(deliveries[0], error) from error
        if emitted:
            self._on_committed()

    async def _handle(
        self, session: AsyncSession, delivery: Delivery, scope: BatchScope
    ) -> list[OutboxRecord]:
        event = delivery.event
        assert event is not None
        handler = self._router.handler_for(event.data)
        assert handler is not None
        parent = context_from_headers(delivery.record.headers)
        with (
            consuming(delivery.record.headers),
            tracer.start_as_current_span(
                f"consume {event.type}", context=parent, kind=trace.SpanKind.CONSUMER
            ) as span,
        ):
            if span.is_recording():
                span.set_attribute("messaging.destination.name", delivery.origin.topic)
                span.set_attribute("messaging.kafka.message.offset", delivery.origin.offset)
                span.set_attribute("cloudevents.event_id", event.id)
            context = HandlerContext(
                session=session,
                event=event,
                origin=delivery.origin,
                source=self._source,
                replaying=self._replaying,
                batch=scope,
            )
            try:
                await handler(context)
            except Exception as error:
                span.record_exception(error)
                raise _HandlerFailedError(delivery, error) from error
        labelled(EVENTS_CONSUMED, self._service, delivery.origin.topic, event.type).inc()
        return context.emitted
