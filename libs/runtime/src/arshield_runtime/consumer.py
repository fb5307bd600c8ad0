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
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from aiokafka import ConsumerRecord, TopicPartition
from opentelemetry import trace
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_runtime import days
from arshield_runtime import outbox as outbox_store
from arshield_runtime.days import DayAligner, MarkDay, Step
from arshield_runtime.db import LEGACY_TENANT, BulkInsert, inbox
from arshield_runtime.messaging import (
    BatchScope,
    Delivery,
    EventRouter,
    HandlerContext,
    InboxKey,
    Rejected,
    dead_letter_record,
    to_delivery,
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
    def __init__(self, topic: str, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.topic = topic
        self.cause = cause


def steps_topic(steps: Sequence[Step]) -> str:
    """The topic a failed transaction is counted under: its first record's."""
    first = next((step for step in steps if isinstance(step, Delivery)), None)
    return "" if first is None else first.origin.topic


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
        aligner: DayAligner | None = None,
    ) -> None:
        """`aligner`: business days from the day markers of the log (`arshield_runtime.days`);
        without one, each tick read from the clock topic is taken as it comes."""
        self._engine = engine
        self._router = router
        self._service = service
        self._source = source
        self._attempts = handler_attempts
        self._replaying = replaying
        self._on_committed = on_committed or (lambda: None)
        self._legacy_rows: bool | None = None  # rows from before the tenant was in the key
        self.aligner = aligner

    async def process(
        self,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        caught_up: Collection[TopicPartition] | None = None,
    ) -> None:
        """Handle a batch; returns once every record's effect (or dead letter) is committed.

        The batch is handled in the order its records were written across partitions (each
        partition kept in its own order), as a rebuild replays them: a consumer that was down
        while an ERP fact and the ledger's reaction to it both arrived sees the fact first, as it
        did live, instead of in whatever order the partitions were fetched.
        """
        deliveries = [to_delivery(record) for record in in_written_order(records)]
        started = time.perf_counter()
        steps: list[Step] = list(deliveries)
        if self.aligner is not None:
            await self._retrying_transients(self._load_days)
            steps = self.aligner.plan(deliveries, caught_up)
        await self._retrying_transients(lambda: self._process_together(steps))
        labelled(BATCH_SECONDS, self._service).observe(time.perf_counter() - started)

    def commit_offsets(self) -> dict[TopicPartition, int] | None:
        if self.aligner is None or not self.aligner.holding:
            return None
        return self.aligner.commit_offsets()

    def forget(self) -> dict[TopicPartition, int]:
        return {} if self.aligner is None else self.aligner.forget()

    def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        if self.aligner is not None:
            self.aligner.revoked(partitions)

    async def _load_days(self) -> None:
        assert self.aligner is not None
        async with AsyncSession(self._engine) as session:
            await self.aligner.load(session)

    async def _retrying_transients(self, work: Callable[[], Awaitable[None]]) -> None:
        def transient(error: Exception) -> bool:
            cause = error.cause if isinstance(error, _HandlerFailedError) else error
            if not is_transient(cause):
                return False
            labelled(TRANSIENT_RETRIES, self._service).inc()
            return True

        await until_it_works(work, on=transient)

    async def _process_together(self, steps: list[Step]) -> None:
        try:
            await self._transaction(steps)
        except _HandlerFailedError as failed:
            if is_transient(failed.cause):
                raise
            labelled(EVENTS_FAILED, self._service, failed.topic).inc()
            log.info("batch rolled back (%r); handling its events one at a time", failed.cause)
            for step in steps:
                await self._retrying_transients(functools.partial(self._process_alone, step))

    async def _process_alone(self, step: Step) -> None:
        if not isinstance(step, Delivery):
            await self._transaction([step])
            return
        delivery = step
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

    async def _transaction(self, steps: Sequence[Step]) -> None:
        """Handle the steps in order in one transaction: records and ticks (each once, by its inbox
        row), and the day markers taken and written (`arshield_runtime.days`)."""
        relevant = [
            d
            for d in steps
            if isinstance(d, Delivery)
            and (d.event is None or self._router.handler_for(d.event.data) is not None)
        ]
        marks = [step for step in steps if not isinstance(step, Delivery)]
        emitted: list[OutboxRecord] = []
        scope = BatchScope()
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            try:
                async with session.begin():
                    fresh = await self._claim(session, relevant)
                    handled: set[int] = set()
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
                        handled.add(id(delivery))
                    events = [d.event for d in relevant if id(d) in handled and d.event is not None]
                    await self._router.prepare(session, events, scope)
                    for step in steps:
                        if isinstance(step, Delivery):
                            if id(step) in handled:
                                emitted.extend(await self._handle(session, step, scope))
                        elif isinstance(step, MarkDay) and not self._replaying:
                            assert self.aligner is not None
                            emitted.extend(self.aligner.day_records(step))
                    await scope.flush(session)
                    await outbox_store.append(session, emitted)
                    await days.save(session, marks)
            except _HandlerFailedError:
                raise
            except Exception as error:
                raise _HandlerFailedError(steps_topic(steps), error) from error
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
                task=delivery.task,
                day=delivery.day,
            )
            try:
                await handler(context)
            except Exception as error:
                span.record_exception(error)
                raise _HandlerFailedError(delivery.origin.topic, error) from error
        labelled(EVENTS_CONSUMED, self._service, delivery.origin.topic, event.type).inc()
        return context.emitted
