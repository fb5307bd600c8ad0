"""Handlers and what they may do: read the event, change state in the session, emit events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.partitioner import murmur2
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from arshield_events.envelope import CloudEvent, Payload, derived_event_id, envelope
from arshield_events.registry import EventRejected, event_headers, parse_event, serialize_event
from arshield_runtime.outbox import OutboxRecord
from arshield_runtime.outbox import append as append_to_outbox
from arshield_runtime.telemetry import current_trace_headers


class Rejected(Exception):  # noqa: N818 - a verdict on the event, not a program error
    """Raised by a handler to refuse an event: its effects roll back and it is dead-lettered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Origin:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class DayTask:
    """A business day taken for some tasks at once (`arshield_runtime.days`): partitions
    `indices` of `count` in every co-partitioned topic, each of which had taken `previous` last.

    Each task keeps its own tick (`task_tick`) as the cause of what its buyers' day decisions
    emit, so the ids emitted do not depend on which tasks happened to take the day together."""

    indices: tuple[int, ...]
    count: int
    previous: date | None

    def holds(self, key: str) -> bool:
        """Whether the record key `key` (`tenant:buyer`) falls in one of these tasks' partitions,
        as Kafka's default partitioner places it."""
        return partition_of(key, self.count) in self.indices


def task_tick(tick: CloudEvent[Any], index: int) -> CloudEvent[Any]:
    """The clock's `tick` as task `index` takes it: an id derived from the tick's and the task's."""
    return tick.model_copy(
        update={"id": derived_event_id(tick.source, tick.id, f"partition {index}")}
    )


def partition_of(key: str, count: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives the key among `count`."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % count


InboxKey = tuple[str, str, str]
"""(tenant, source, event id): what makes two deliveries the same event."""


@dataclass(frozen=True)
class Delivery:
    """One consumed record, parsed (or with the reason it could not be)."""

    record: ConsumerRecord[bytes, bytes]
    origin: Origin
    event: CloudEvent[Any] | None
    error: str | None
    task: DayTask | None = None
    """Set on a business day taken for one task (not read from Kafka)."""
    day: date | None = None
    """The business day the record belongs to in its task (the day of the marker before it in
    its partition), set by the day aligner; None where no marker gates it."""

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


def outbox_record(
    event: CloudEvent[Any], topic: str | None = None, *, traceparent: str | None = None
) -> OutboxRecord:
    """The outbox row for `event`, carrying the active trace context, or `traceparent` when the
    event continues an earlier trace (a decision taken on a tick about an invoice ingested long
    before continues that invoice's trace)."""
    headers = {name: value.decode() for name, value in event_headers(event)}
    headers.update({"traceparent": traceparent} if traceparent else current_trace_headers())
    return OutboxRecord(
        topic=topic or event.data.topic,
        key=event.key,
        value=serialize_event(event),
        headers=headers,
    )


FlushHook = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class BatchScope:
    """State shared by the handlers of one transaction (a consumed batch, or a single event).

    A handler may keep work in `items` and register a flush hook once per name; the hooks run in
    registration order before the transaction commits, so writes can be batched (one
    `executemany` for a whole batch instead of a round trip per event). A handler that reads what
    an earlier event of the batch staged must look in `items` first.
    """

    items: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, FlushHook] = field(default_factory=dict)

    def on_flush(self, name: str, hook: FlushHook) -> None:
        self.hooks.setdefault(name, hook)

    async def flush(self, session: AsyncSession) -> None:
        for hook in self.hooks.values():
            await hook(session)
        self.hooks.clear()


@dataclass
class HandlerContext:
    """What a handler gets: the event, the transaction's session, and a way to emit events."""

    session: AsyncSession
    event: CloudEvent[Any]
    origin: Origin
    source: str
    replaying: bool = False
    emitted: list[OutboxRecord] = field(default_factory=list)
    batch: BatchScope = field(default_factory=BatchScope)
    task: DayTask | None = None
    """On a business day taken for one task: decide only for the buyers of its partition."""
    day: date | None = None
    """The business day of the record in its task (`Delivery.day`): what "today" is for a fact,
    whatever day other tasks of the tenant have reached."""

    def emit(
        self,
        data: Payload,
        *,
        purpose: str,
        subject: str | None = None,
        time: datetime | None = None,
        traceparent: str | None = None,
    ) -> CloudEvent[Any]:
        """Emit `data` as a consequence of the current event.

        The id derives from the cause and `purpose` (unique per cause), so handling the same cause
        again emits the very same event. The record reaches the outbox in the handler's transaction.
        """
        cause = self.event
        event = envelope(
            data,
            id=derived_event_id(cause.source, cause.id, purpose),
            source=self.source,
            subject=subject or _subject_of(data, cause),
            tenantid=cause.tenantid,
            time=time or cause.time,
            correlationid=cause.correlationid or cause.id,
            causationid=cause.id,
        )
        if not self.replaying:
            self.emitted.append(outbox_record(event, traceparent=traceparent))
        return event


def _subject_of(data: Payload, cause: CloudEvent[Any]) -> str:
    if data.tenant_keyed:
        return cause.tenantid
    buyer_id = getattr(data, "buyer_id", None)
    return buyer_id if isinstance(buyer_id, str) else cause.subject


class RequestEmitter:
    """Emits the events an HTTP request causes, into the request's own transaction.

    `cause_id` names the request (e.g. `callback:<agency>:<idempotency key>`), so a retried
    request emits the very same events. Call `flush` before the transaction commits.
    """

    replaying = False
    day: date | None = None
    """A request is made on the tenant's business date, not on one task's day."""

    def __init__(self, source: str, tenant_id: str, cause_id: str) -> None:
        self.source, self.tenant_id, self.cause_id = source, tenant_id, cause_id
        self.records: list[OutboxRecord] = []

    def emit(
        self,
        data: Payload,
        *,
        purpose: str,
        subject: str | None = None,
        time: datetime | None = None,
        traceparent: str | None = None,
    ) -> CloudEvent[Any]:
        buyer_id = getattr(data, "buyer_id", None)
        event = envelope(
            data,
            id=derived_event_id(self.source, self.cause_id, purpose),
            source=self.source,
            subject=subject or (buyer_id if isinstance(buyer_id, str) else self.tenant_id),
            tenantid=self.tenant_id,
            time=time or datetime.now(UTC),
            correlationid=self.cause_id,
        )
        self.records.append(outbox_record(event, traceparent=traceparent))
        return event

    async def flush(
        self, session: AsyncSession | AsyncConnection, wake: Callable[[], None] | None = None
    ) -> None:
        await append_to_outbox(session, self.records)
        if wake is not None and self.records:
            wake()


Handler = Callable[[HandlerContext], Awaitable[None]]
Prepare = Callable[[AsyncSession, Sequence[CloudEvent[Any]], BatchScope], Awaitable[None]]
"""Runs once per transaction, before its handlers, with every event they will handle."""


class EventRouter:
    """Handlers registered explicitly, by the payload type they handle.

    A `prepares` hook runs once per transaction before the handlers, with the events they are about
    to handle (new ones, in order), e.g. to load in one query all the state the handlers will read
    and keep it in the `BatchScope`. It is an optimisation only: a handler must still work (if
    slower) for an event its transaction's hooks did not prepare for.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[Payload], Handler] = {}
        self._prepares: list[Prepare] = []

    def handles(self, *payload_types: type[Payload]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for payload_type in payload_types:
                if payload_type in self._handlers:
                    raise ValueError(f"{payload_type.__name__} already has a handler")
                self._handlers[payload_type] = handler
            return handler

        return register

    def prepares(self, prepare: Prepare) -> Prepare:
        """Register a per-transaction hook (usable as a decorator)."""
        self._prepares.append(prepare)
        return prepare

    def include(self, other: EventRouter) -> None:
        for payload_type, handler in other._handlers.items():
            self.handles(payload_type)(handler)
        for prepare in other._prepares:
            self.prepares(prepare)

    async def prepare(
        self, session: AsyncSession, events: Sequence[CloudEvent[Any]], scope: BatchScope
    ) -> None:
        if events:
            for prepare in self._prepares:
                await prepare(session, events, scope)

    def handler_for(self, payload: Payload) -> Handler | None:
        return self._handlers.get(type(payload))

    @property
    def payload_types(self) -> frozenset[type[Payload]]:
        return frozenset(self._handlers)


def dead_letter_record(
    *,
    origin: Origin,
    key: bytes | None,
    value: bytes | None,
    original_headers: list[tuple[str, bytes]],
    error: str,
    service: str,
) -> OutboxRecord:
    """The record for `<topic>.dlq`: the original bytes, with headers naming origin and error."""
    headers = {name: raw.decode("utf-8", "replace") for name, raw in original_headers}
    headers.update(
        {
            "dlq_origin_topic": origin.topic,
            "dlq_origin_partition": str(origin.partition),
            "dlq_origin_offset": str(origin.offset),
            "dlq_error": error[:2000],
            "dlq_service": service,
        }
    )
    return OutboxRecord(
        topic=f"{origin.topic}.dlq",
        key=(key or b"").decode("utf-8", "replace"),
        value=value or b"",
        headers=headers,
    )
