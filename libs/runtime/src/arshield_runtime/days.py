"""Business days carried by the log: a consumer aligned on day markers (ARCHITECTURE decision 5).

The clock writes a `DayMarker` for the tenant into every partition of the source topics; every
service writes its own into the partitions of the topics it publishes. Topics are co-partitioned
(the same key in the same partition number everywhere), so partition number p of every topic is
one task, as in Kafka Streams: everything about the buyers whose key falls in p. A service reads
the markers of the topics that gate its business days (its upstream topics) and, per tenant and
task:

- a record that follows a marker of day D in its partition is held until the service has taken
  day D for that task (the facts of day D wait for day D's decisions, as Flink aligns on a barrier),
  and is handled as of day D (`Delivery.day`): tasks take their days apart, so the tenant's latest
  day, which another task may have reached, is not the record's;
- once partition p of every gated topic has marked day D, it takes day D for p: a tick
  (`BusinessDayStarted`) goes through the service's router, which decides for the buyers of
  partition p, then the service marks day D in partition p of the topics it publishes, after that
  day's output (`MarkDay`), so services downstream wait for its decisions, not for a quiet
  platform. Tasks ready for the same day in one batch share one tick (one query for who is due,
  one load of the day's configuration), while what each buyer's decision emits is caused by its
  own task's tick (an id derived from the clock's and p), whatever tasks went together. A closing
  marker (`closing`) is passed on in the same way, without a tick.

Two instances in one consumer group each hold some tasks and take their days alone; an instance
never waits for a partition it does not read.

Everything the aligner decides is a plan of steps for one transaction (records to handle, ticks,
markers taken, days marked), computed in memory from the records alone, so the same log always
gives the same plan. What it has taken and marked is saved in that transaction (`day_marks`,
`days_marked`), so a restart between taking a marker and marking the day does either exactly once.
Held records are not committed to Kafka: after a crash they are read again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import sqlalchemy as sa
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_events.clock import BusinessDayStarted, DayMarker, day_marker, tick
from arshield_events.envelope import derived_event_id
from arshield_events.registry import serialize_event
from arshield_runtime.db import BulkInsert, day_marks, days_marked
from arshield_runtime.messaging import DayTask, Delivery, Origin, outbox_record, task_tick
from arshield_runtime.outbox import PARTITIONS_HEADER, OutboxRecord

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
    """A step: the service marks `mark` for `tenant` in partition `task` of what it publishes."""

    tenant: str
    task: int
    mark: Mark


Step = Delivery | TakeMark | MarkDay


@dataclass
class _Held:
    sequence: int
    delivery: Delivery
    tenant: str | None
    after: Mark | None
    """The tenant's latest marker before the record in its partition: it waits for that day."""

    @property
    def timestamp(self) -> int:
        return int(self.delivery.record.timestamp)


@dataclass
class DayAligner:
    """Plans each consumed batch around the day markers of the `gated` partitions.

    `gated`: the day topics and their (common) partition count; `clock_topic`: where the ticks it
    takes seem to come from (their origin in the inbox); `marks_to`: the contract topics this
    service publishes, where it marks its days."""

    gated: frozenset[str]
    partitions: int
    source: str
    clock_topic: str
    marks_to: tuple[str, ...]
    _pending: dict[TopicPartition, list[_Held]] = field(default_factory=dict)
    _read: dict[tuple[str, TopicPartition], Mark] = field(default_factory=dict)
    _taken: dict[tuple[str, int], dict[str, Mark]] = field(default_factory=dict)
    _marked: dict[tuple[str, int], Mark] = field(default_factory=dict)
    _consumed: dict[TopicPartition, int] = field(default_factory=dict)
    _caught_up: frozenset[TopicPartition] | None = None
    _sequence: int = 0
    _loaded: bool = False

    # --- state ------------------------------------------------------------------------------

    async def load(self, session: AsyncSession) -> None:
        """Read what was taken and marked (once, and again after `forget` or a rebalance: a task
        this instance is given may have moved on under another instance)."""
        if self._loaded:
            return
        self._taken.clear()
        self._read.clear()
        self._marked.clear()
        for row in await session.execute(sa.select(day_marks)):
            mark = (row.business_date, row.closing)
            self._taken.setdefault((row.tenant_id, row.partition), {})[row.topic] = mark
            self._read[(row.tenant_id, TopicPartition(row.topic, row.partition))] = mark
        for row in await session.execute(sa.select(days_marked)):
            self._marked[(row.tenant_id, row.task)] = (row.business_date, row.closing)
        for tp, queue in self._pending.items():  # markers read and still held were read
            for held in queue:
                event = held.delivery.event
                if event is not None and isinstance(event.data, DayMarker):
                    key = (event.tenantid, tp)
                    self._read[key] = max(
                        self._read.get(key, event.data.position), event.data.position
                    )
        self._loaded = True

    def forget(self) -> dict[TopicPartition, int]:
        """Drop everything held and reload on the next batch (after a failed batch); returns, per
        partition, the offset to read again from."""
        rewind = {tp: held[0].delivery.origin.offset for tp, held in self._pending.items() if held}
        self._pending.clear()
        self._consumed.clear()
        self._loaded = False
        return rewind

    def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop what is held of `partitions`, now another instance's: it reads them again from
        the first record held (the offset committed). What was taken and marked is read again
        from the database before the next batch: a partition given back later comes with what
        the other instance took meanwhile."""
        for tp in partitions:
            self._pending.pop(tp, None)
            self._consumed.pop(tp, None)
        self._loaded = False

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

    def plan(
        self,
        deliveries: Sequence[Delivery],
        caught_up: Collection[TopicPartition] | None = None,
    ) -> list[Step]:
        """The steps for `deliveries` (in written order) and whatever they release.

        `caught_up`: the partitions read to their end as of this batch; None when every
        partition's records come merged by time (a rebuild)."""
        self._caught_up = None if caught_up is None else frozenset(caught_up)
        for delivery in deliveries:
            tp = TopicPartition(delivery.origin.topic, delivery.origin.partition)
            self._consumed[tp] = delivery.origin.offset + 1
            event = delivery.event
            if event is not None and isinstance(event.data, BusinessDayStarted):
                continue  # the markers bring the days; a tick read from the clock is ignored
            tenant = None if event is None else event.tenantid
            marker = event is not None and isinstance(event.data, DayMarker)
            if marker and tp.topic not in self.gated:
                continue  # a marker where none gates (its own, read back)
            after = None if tenant is None else self._read.get((tenant, tp))
            if marker and event is not None and tenant is not None:
                position = event.data.position
                self._read[(tenant, tp)] = position if after is None else max(after, position)
            self._sequence += 1
            self._pending.setdefault(tp, []).append(_Held(self._sequence, delivery, tenant, after))
        return self._drain()

    def _drain(self) -> list[Step]:
        steps: list[Step] = []
        while True:
            released = self._release()
            touched: set[tuple[str, int]] = set()
            for held in released:
                event = held.delivery.event
                if event is not None and isinstance(event.data, DayMarker):
                    origin = held.delivery.origin
                    task = (event.tenantid, origin.partition)
                    taken = self._taken.setdefault(task, {})
                    position = event.data.position
                    if origin.topic not in taken or taken[origin.topic] < position:
                        taken[origin.topic] = position
                        tp = TopicPartition(origin.topic, origin.partition)
                        steps.append(TakeMark(event.tenantid, tp, position))
                        touched.add(task)
                elif held.after is not None:
                    steps.append(replace(held.delivery, day=held.after[0]))
                else:
                    steps.append(held.delivery)
            days = self._take_days(touched)
            steps += days
            if not released and not days:
                return steps

    def _release(self) -> list[_Held]:
        """What may be handled now: every record of a partition that does not gate days, and, per
        task, the records of its day partitions whose day has come, merged by timestamp."""
        released: list[_Held] = []
        tasks: set[int] = set()
        for tp, queue in self._pending.items():
            if tp.topic in self.gated:
                tasks.add(tp.partition)
            elif queue:
                released += queue
                self._pending[tp] = []
        released.sort(key=lambda held: held.sequence)
        for task in sorted(tasks):
            released += self._merge(task)
        return released

    def _merge(self, task: int) -> list[_Held]:
        """The task's records in the order they were written across its day partitions (by
        timestamp, as Kafka Streams merges a task's partitions): the earliest free record goes
        first, once no partition still unread can hold an earlier one. A consumer that fetched one
        partition's backlog ahead of another's thus handles a fact before the reaction to it."""
        partitions = [TopicPartition(topic, task) for topic in sorted(self.gated)]
        tenants = {tp: {held.tenant for held in self._pending.get(tp, ())} for tp in partitions}
        merged: list[_Held] = []
        while True:
            best: tuple[TopicPartition, int, _Held] | None = None
            for tp in partitions:
                index = self._first_free(tp, tenants[tp])
                if index is not None:
                    held = self._pending[tp][index]
                    if best is None or (held.timestamp, held.sequence) < (
                        best[2].timestamp,
                        best[2].sequence,
                    ):
                        best = (tp, index, held)
            if best is None:
                return merged
            tp, index, held = best
            if not all(self._bounded(other, held.timestamp) for other in partitions if other != tp):
                return merged
            del self._pending[tp][index]
            merged.append(held)

    def _first_free(self, tp: TopicPartition, tenants: set[str | None]) -> int | None:
        """The first record of the partition whose day has come (another tenant's waiting one
        is passed over; one of the same tenant is not). `tenants`: those the queue may hold, so
        the look ends once every one of them is found waiting."""
        waiting: set[str | None] = set()
        for index, held in enumerate(self._pending.get(tp, ())):
            if held.tenant is None or held.after is None:
                return index
            if held.tenant in waiting or not self._has_marked(
                held.tenant, tp.partition, held.after
            ):
                waiting.add(held.tenant)
                if waiting >= tenants:
                    return None
                continue
            return index
        return None

    def _bounded(self, tp: TopicPartition, timestamp: int) -> bool:
        """Whether nothing of `tp` still unread can have been written before `timestamp`."""
        if self._caught_up is None or tp in self._caught_up:
            return True
        queue = self._pending.get(tp, [])
        return bool(queue) and queue[-1].timestamp >= timestamp

    def _has_marked(self, tenant: str, task: int, mark: Mark) -> bool:
        marked = self._marked.get((tenant, task))
        return marked is not None and marked >= mark

    def _take_days(self, touched: Collection[tuple[str, int]]) -> list[Step]:
        """The days the `touched` tasks can take now: one tick per tenant and day for every task
        that takes it from the same day before (their buyers decided in one pass), then each
        task's mark."""
        ticks: dict[tuple[str, date, date | None], list[int]] = {}
        marks: list[Step] = []
        for tenant, task in sorted(touched):
            taken = self._taken.get((tenant, task), {})
            if any(topic not in taken for topic in self.gated):
                continue
            ready = min(taken[topic] for topic in self.gated)
            marked = self._marked.get((tenant, task))
            if marked is not None and ready <= marked:
                continue
            day, closing = ready
            if not closing and (marked is None or day > marked[0]):
                previous = None if marked is None else marked[0]
                ticks.setdefault((tenant, day, previous), []).append(task)
            marks.append(MarkDay(tenant, task, ready))
            self._marked[(tenant, task)] = ready
        return [
            self._tick(tenant, day, DayTask(tuple(tasks), self.partitions, previous))
            for (tenant, day, previous), tasks in ticks.items()
        ] + marks

    def _tick(self, tenant: str, day: date, task: DayTask) -> Delivery:
        clock = tick(tenant, day)
        if len(task.indices) == 1:
            event = task_tick(clock, task.indices[0])
        else:
            tasks = ",".join(map(str, task.indices))
            event = clock.model_copy(
                update={"id": derived_event_id(clock.source, clock.id, f"partitions {tasks}")}
            )
        value = serialize_event(event)
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            topic=self.clock_topic,
            partition=task.indices[0],
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
        origin = Origin(self.clock_topic, task.indices[0], -1)
        return Delivery(record, origin, event, None, task, day)

    # --- the steps' writes ------------------------------------------------------------------

    def day_records(self, step: MarkDay) -> list[OutboxRecord]:
        """The marker rows of `step`, one per topic, each written to the task's partition."""
        day, closing = step.mark
        event = day_marker(self.source, step.tenant, day, closing=closing)
        records = [outbox_record(event, topic) for topic in self.marks_to]
        partition = {PARTITIONS_HEADER: str(step.task)}
        return [OutboxRecord(r.topic, r.key, r.value, r.headers | partition) for r in records]


_SAVE_TAKEN = BulkInsert(
    day_marks,
    ("tenant_id", "topic", "partition", "business_date", "closing"),
    conflict=("tenant_id", "topic", "partition"),
    update=("business_date", "closing"),
)
_SAVE_MARKED = BulkInsert(
    days_marked,
    ("tenant_id", "task", "business_date", "closing"),
    conflict=("tenant_id", "task"),
    update=("business_date", "closing"),
)


async def save(session: AsyncSession, steps: Iterable[TakeMark | MarkDay]) -> None:
    """Write the markers taken and the days marked by `steps` (the latest of each key)."""
    taken: dict[tuple[str, str, int], Mark] = {}
    marked: dict[tuple[str, int], Mark] = {}
    for step in steps:
        if isinstance(step, TakeMark):
            taken[(step.tenant, step.partition.topic, step.partition.partition)] = step.mark
        else:
            marked[(step.tenant, step.task)] = step.mark
    if taken:
        await _SAVE_TAKEN.execute(session, [(*key, *mark) for key, mark in taken.items()])
    if marked:
        await _SAVE_MARKED.execute(session, [(*key, *mark) for key, mark in marked.items()])
