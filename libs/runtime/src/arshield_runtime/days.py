"""Business days carried by the log: a consumer aligned on day markers (ARCHITECTURE decision 5).

The clock writes a `DayMarker` for the tenant into every partition of the source topics; every
service writes its own into every partition of the topics it publishes. A service reads the
markers of the topics that gate its business days (its upstream topics) and, for each tenant:

- a record that follows a marker of day D in its partition is held until the service has taken
  day D (the facts of day D wait for day D's decisions, as Flink aligns on a barrier);
- once it has taken a marker of day D from every gated partition, it takes day D: the tick
  (`BusinessDayStarted`, the very event the clock publishes, so its id is the same) goes through
  the service's router, then the service marks day D in every partition it publishes to, after that
  day's output (`MarkDay`), so services downstream wait for its decisions, not for a quiet
  platform. A closing marker (`closing`) is passed on in the same way, without a tick.

Everything the aligner decides is a plan of steps for one transaction (records to handle, ticks,
markers taken, days marked), computed in memory from the records alone, so the same log always
gives the same plan. What it has taken and marked is saved in that transaction (`day_marks`,
`days_marked`), so a restart between taking a marker and marking the day does either exactly once.
Held records are not committed to Kafka: after a crash they are read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_events.clock import BusinessDayStarted, DayMarker, day_marker, tick
from arshield_events.registry import serialize_event
from arshield_runtime.db import BulkInsert, day_marks, days_marked
from arshield_runtime.messaging import Delivery, Origin, outbox_record
from arshield_runtime.outbox import ALL_PARTITIONS, OutboxRecord

Mark = tuple[date, bool]
"""Where a marker stands in business time (`DayMarker.position`): a day's start, then its close."""


@dataclass(frozen=True)
class TakeMark:
    """A step: the marker of `tenant` read from a gated partition is taken."""

    tenant: str
    partition: TopicPartition
    mark: Mark


@dataclass(frozen=True)
class MarkDay:
    """A step: the service marks `mark` for `tenant` in every partition it publishes to."""

    tenant: str
    mark: Mark


Step = Delivery | TakeMark | MarkDay


@dataclass
class _Held:
    sequence: int
    delivery: Delivery
    tenant: str | None
    after: Mark | None
    """The tenant's latest marker before the record in its partition: it waits for that day."""


@dataclass
class DayAligner:
    """Plans each consumed batch around the day markers of the `gated` partitions.

    `clock_topic`: where the ticks it takes seem to come from (their origin in the inbox);
    `marks_to`: the contract topics this service publishes, where it marks its days."""

    gated: frozenset[TopicPartition]
    source: str
    clock_topic: str
    marks_to: tuple[str, ...]
    _pending: dict[TopicPartition, list[_Held]] = field(default_factory=dict)
    _read: dict[tuple[str, TopicPartition], Mark] = field(default_factory=dict)
    _taken: dict[str, dict[TopicPartition, Mark]] = field(default_factory=dict)
    _marked: dict[str, Mark] = field(default_factory=dict)
    _consumed: dict[TopicPartition, int] = field(default_factory=dict)
    _sequence: int = 0
    _loaded: bool = False

    # --- state ------------------------------------------------------------------------------

    async def load(self, session: AsyncSession) -> None:
        """Read what was taken and marked (once, and again after `forget`)."""
        if self._loaded:
            return
        self._taken.clear()
        self._read.clear()
        self._marked.clear()
        for row in await session.execute(sa.select(day_marks)):
            tp = TopicPartition(row.topic, row.partition)
            mark = (row.business_date, row.closing)
            self._taken.setdefault(row.tenant_id, {})[tp] = mark
            self._read[(row.tenant_id, tp)] = mark
        for row in await session.execute(sa.select(days_marked)):
            self._marked[row.tenant_id] = (row.business_date, row.closing)
        self._loaded = True

    def forget(self) -> dict[TopicPartition, int]:
        """Drop everything held and reload on the next batch (after a failed batch); returns, per
        partition, the offset to read again from."""
        rewind = {tp: held[0].delivery.origin.offset for tp, held in self._pending.items() if held}
        self._pending.clear()
        self._consumed.clear()
        self._loaded = False
        return rewind

    def commit_offsets(self) -> dict[TopicPartition, int]:
        """Per partition read so far, the offset Kafka may commit: the first record still held, or
        the next after the last one read."""
        offsets = dict(self._consumed)
        for tp, held in self._pending.items():
            if held:
                offsets[tp] = held[0].delivery.origin.offset
        return offsets

    @property
    def holding(self) -> bool:
        return any(self._pending.values())

    # --- planning ---------------------------------------------------------------------------

    def plan(self, deliveries: Sequence[Delivery]) -> list[Step]:
        """The steps for `deliveries` (in written order) and whatever they release."""
        for delivery in deliveries:
            tp = TopicPartition(delivery.origin.topic, delivery.origin.partition)
            self._consumed[tp] = delivery.origin.offset + 1
            event = delivery.event
            if event is not None and isinstance(event.data, BusinessDayStarted):
                continue  # the markers bring the days; a tick read from the clock is ignored
            tenant = None if event is None else event.tenantid
            if event is not None and isinstance(event.data, DayMarker) and tp not in self.gated:
                continue  # a marker where none gates (its own, read back)
            after = None if tenant is None else self._read.get((tenant, tp))
            if event is not None and isinstance(event.data, DayMarker) and tenant is not None:
                position = event.data.position
                self._read[(tenant, tp)] = position if after is None else max(after, position)
            self._sequence += 1
            self._pending.setdefault(tp, []).append(_Held(self._sequence, delivery, tenant, after))
        return self._drain()

    def _drain(self) -> list[Step]:
        steps: list[Step] = []
        while True:
            released = self._release()
            touched: set[str] = set()
            for held in released:
                event = held.delivery.event
                if event is not None and isinstance(event.data, DayMarker):
                    tp = TopicPartition(held.delivery.origin.topic, held.delivery.origin.partition)
                    taken = self._taken.setdefault(event.tenantid, {})
                    position = event.data.position
                    if tp not in taken or taken[tp] < position:
                        taken[tp] = position
                        steps.append(TakeMark(event.tenantid, tp, position))
                        touched.add(event.tenantid)
                else:
                    steps.append(held.delivery)
            days = [step for tenant in sorted(touched) for step in self._take_day(tenant)]
            steps += days
            if not released and not days:
                return steps

    def _release(self) -> list[_Held]:
        released: list[_Held] = []
        for tp, queue in self._pending.items():
            waiting: set[str] = set()
            kept: list[_Held] = []
            for held in queue:
                if held.tenant is None or held.after is None:
                    released.append(held)
                elif held.tenant in waiting or not self._has_marked(held.tenant, held.after):
                    waiting.add(held.tenant)
                    kept.append(held)
                else:
                    released.append(held)
            self._pending[tp] = kept
        released.sort(key=lambda held: held.sequence)
        return released

    def _has_marked(self, tenant: str, mark: Mark) -> bool:
        marked = self._marked.get(tenant)
        return marked is not None and marked >= mark

    def _take_day(self, tenant: str) -> list[Step]:
        taken = self._taken.get(tenant, {})
        if not self.gated or any(tp not in taken for tp in self.gated):
            return []
        ready = min(taken[tp] for tp in self.gated)
        marked = self._marked.get(tenant)
        if marked is not None and ready <= marked:
            return []
        steps: list[Step] = []
        day, closing = ready
        if not closing and (marked is None or day > marked[0]):
            steps.append(self._tick(tenant, day))
        steps.append(MarkDay(tenant, ready))
        self._marked[tenant] = ready
        return steps

    def _tick(self, tenant: str, day: date) -> Delivery:
        event = tick(tenant, day)
        value = serialize_event(event)
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            topic=self.clock_topic,
            partition=-1,
            offset=-1,
            timestamp=0,
            timestamp_type=0,
            key=tenant.encode(),
            value=value,
            checksum=None,
            serialized_key_size=len(tenant),
            serialized_value_size=len(value),
            headers=(),
        )
        return Delivery(record, Origin(self.clock_topic, -1, -1), event, None)

    # --- the steps' writes ------------------------------------------------------------------

    def day_records(self, step: MarkDay) -> list[OutboxRecord]:
        """The marker rows of `step`, one per topic, each written to all its partitions."""
        day, closing = step.mark
        event = day_marker(self.source, step.tenant, day, closing=closing)
        records = [outbox_record(event, topic) for topic in self.marks_to]
        return [OutboxRecord(r.topic, r.key, r.value, r.headers | ALL_PARTITIONS) for r in records]


_SAVE_TAKEN = BulkInsert(
    day_marks,
    ("tenant_id", "topic", "partition", "business_date", "closing"),
    conflict=("tenant_id", "topic", "partition"),
    update=("business_date", "closing"),
)
_SAVE_MARKED = BulkInsert(
    days_marked,
    ("tenant_id", "business_date", "closing"),
    conflict=("tenant_id",),
    update=("business_date", "closing"),
)


async def save(session: AsyncSession, steps: Iterable[TakeMark | MarkDay]) -> None:
    """Write the markers taken and the days marked by `steps` (the latest of each key)."""
    taken: dict[tuple[str, str, int], Mark] = {}
    marked: dict[str, Mark] = {}
    for step in steps:
        if isinstance(step, TakeMark):
            taken[(step.tenant, step.partition.topic, step.partition.partition)] = step.mark
        else:
            marked[step.tenant] = step.mark
    if taken:
        await _SAVE_TAKEN.execute(session, [(*key, *mark) for key, mark in taken.items()])
    if marked:
        await _SAVE_MARKED.execute(session, [(tenant, *mark) for tenant, mark in marked.items()])
