"""The day aligner's plan: which records wait for which business day, when a day is taken, and
what the service marks (pure: no Kafka, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from arshield_events.clock import BusinessDayStarted, DayMarker, day_marker, tick
from arshield_events.envelope import CloudEvent, envelope
from arshield_events.erp import PaymentReceived
from arshield_events.money import Money
from arshield_events.registry import serialize_event
from arshield_runtime.days import DayAligner, MarkDay, Step, TakeMark
from arshield_runtime.messaging import Delivery, to_delivery
from arshield_runtime.outbox import PARTITIONS_HEADER

ERP, LEDGER, OWN = "erp", "ledger", "dunning"
D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


class Log:
    """Records appended per partition with their offsets."""

    def __init__(self) -> None:
        self.offsets: dict[tuple[str, int], int] = {}
        self.clock = 0  # record timestamps: in the order written

    def record(self, topic: str, partition: int, event: CloudEvent[Any]) -> Delivery:
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = offset + 1
        self.clock += 1
        value = serialize_event(event)
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            topic,
            partition,
            offset,
            self.clock,
            0,
            event.key.encode(),
            value,
            None,
            0,
            len(value),
            (),
        )
        return to_delivery(record)

    def marker(
        self, topic: str, partition: int, day: date, tenant: str = "t1", closing: bool = False
    ) -> Delivery:
        return self.record(
            topic, partition, day_marker("arshield/clock", tenant, day, closing=closing)
        )

    def fact(self, topic: str, partition: int, name: str, tenant: str = "t1") -> Delivery:
        payment = PaymentReceived(
            payment_id=name,
            buyer_id="b1",
            received_on=D1,
            amount=Money(amount=Decimal("1.00"), currency="EUR"),
        )
        event = envelope(
            payment,
            id=f"{tenant}-{name}",
            source="erp/test",
            subject="b1",
            tenantid=tenant,
            time=datetime(2024, 3, 1, tzinfo=UTC),
        )
        return self.record(topic, partition, event)


def aligner(*topics: str, partitions: int = 1) -> DayAligner:
    return DayAligner(
        gated=frozenset(topics),
        partitions=partitions,
        source="arshield/dunning",
        clock_topic="clock",
        marks_to=(OWN,),
    )


def describe(steps: list[Step]) -> list[str]:
    out = []
    for step in steps:
        if isinstance(step, TakeMark):
            out.append(f"take {step.partition.topic}/{step.partition.partition} {step.mark[0]}")
        elif isinstance(step, MarkDay):
            out.append(f"mark {step.mark[0]}{' closed' if step.mark[1] else ''} in {step.task}")
        elif step.event is not None and isinstance(step.event.data, BusinessDayStarted):
            assert step.task is not None
            tasks = ",".join(map(str, step.task.indices))
            out.append(f"tick {step.event.data.business_date} for {tasks}")
        else:
            assert step.event is not None
            out.append(f"fact {step.event.data.payment_id}")
    return out


def test_a_day_is_taken_once_every_gated_topic_marked_it_and_its_facts_wait_for_it() -> None:
    """Partition p of every day topic is one task: its day waits for p of each, not for others."""
    log, days = Log(), aligner(ERP, LEDGER, partitions=2)
    first = [
        log.marker(ERP, 0, D1),
        log.fact(ERP, 0, "p1"),  # dated D1: after D1's decisions
        log.marker(ERP, 1, D1),
    ]
    assert describe(days.plan(first)) == ["take erp/0 2024-03-01", "take erp/1 2024-03-01"]
    assert days.holding
    # the ledger's mark of D1 completes the day: the tick, then the mark, then the waiting fact
    assert describe(days.plan([log.marker(LEDGER, 0, D1)])) == [
        "take ledger/0 2024-03-01",
        "tick 2024-03-01 for 0",
        "mark 2024-03-01 in 0",
        "fact p1",
    ]
    assert not days.holding  # task 1 waits for the ledger's partition 1, holding nothing


def test_days_are_taken_one_at_a_time_even_when_read_in_one_batch() -> None:
    log, days = Log(), aligner(ERP, LEDGER)
    batch = [
        log.marker(ERP, 0, D1),
        log.marker(ERP, 0, D2),
        log.fact(ERP, 0, "p2"),
        log.marker(LEDGER, 0, D1),
        log.fact(LEDGER, 0, "q1"),
        log.marker(LEDGER, 0, D2),
    ]
    assert describe(days.plan(batch)) == [
        "take erp/0 2024-03-01",
        "take ledger/0 2024-03-01",
        "tick 2024-03-01 for 0",
        "mark 2024-03-01 in 0",
        "take erp/0 2024-03-02",
        "fact q1",
        "take ledger/0 2024-03-02",
        "tick 2024-03-02 for 0",
        "mark 2024-03-02 in 0",
        "fact p2",
    ]


def test_each_task_takes_its_days_alone_with_a_tick_of_its_own() -> None:
    log, days = Log(), aligner(ERP, partitions=2)
    steps = days.plan([log.marker(ERP, 1, D1), log.fact(ERP, 1, "q1"), log.fact(ERP, 0, "p0")])
    assert describe(steps) == [
        "fact p0",  # no marker for the tenant in partition 0 yet: nothing to wait for
        "take erp/1 2024-03-01",
        "tick 2024-03-01 for 1",
        "mark 2024-03-01 in 1",
        "fact q1",
    ]
    steps += days.plan([log.marker(ERP, 0, D1)])
    ticks = [s for s in steps if isinstance(s, Delivery) and s.task is not None]
    assert [t.task.indices for t in ticks if t.task] == [(1,), (0,)]
    assert len({t.inbox_key for t in ticks}) == 2


def test_a_closing_mark_is_passed_on_without_a_tick_and_a_skipped_day_is_not_ticked() -> None:
    log, days = Log(), aligner(ERP)
    steps = days.plan(
        [log.marker(ERP, 0, D1), log.marker(ERP, 0, D1, closing=True), log.marker(ERP, 0, D3)]
    )
    assert describe(steps) == [
        "take erp/0 2024-03-01",
        "tick 2024-03-01 for 0",
        "mark 2024-03-01 in 0",
        "take erp/0 2024-03-01",
        "mark 2024-03-01 closed in 0",
        "take erp/0 2024-03-03",
        "tick 2024-03-03 for 0",
        "mark 2024-03-03 in 0",
    ]
    mark = next(step for step in steps if isinstance(step, MarkDay))
    (record,) = days.day_records(mark)
    assert record.topic == OWN
    assert record.headers[PARTITIONS_HEADER] == "0"


def test_one_tenant_waiting_never_holds_another_tenant_back() -> None:
    log, days = Log(), aligner(ERP, LEDGER)
    batch = [log.marker(ERP, 0, D1, tenant="a"), log.fact(ERP, 0, "a1", tenant="a")]
    batch += [log.fact(ERP, 0, "b1", tenant="b")]
    assert describe(days.plan(batch)) == ["take erp/0 2024-03-01", "fact b1"]
    assert days.commit_offsets()[TopicPartition(ERP, 0)] == 1  # a1 is read again after a crash


def test_ticks_read_from_the_clock_and_own_markers_read_back_are_ignored() -> None:
    log, days = Log(), aligner(ERP)
    own = log.record(OWN, 0, day_marker("arshield/dunning", "t1", D1))
    clock = log.record("clock", 0, tick("t1", D1))
    assert describe(days.plan([own, clock, log.fact(ERP, 0, "p1")])) == ["fact p1"]


def test_what_was_taken_survives_forgetting_only_through_the_database() -> None:
    log, days = Log(), aligner(ERP, LEDGER)
    days.plan([log.marker(ERP, 0, D1), log.fact(ERP, 0, "p1")])
    rewind = days.forget()
    assert rewind == {TopicPartition(ERP, 0): 1}
    assert not days.holding


def test_marker_position_orders_a_days_start_before_its_close() -> None:
    start, close = DayMarker(business_date=D1), DayMarker(business_date=D1, closing=True)
    assert start.position < close.position < DayMarker(business_date=D2).position


def test_what_is_held_of_a_partition_given_to_another_instance_is_dropped() -> None:
    log, days = Log(), aligner(ERP, LEDGER, partitions=2)
    days.plan([log.marker(ERP, 0, D1), log.fact(ERP, 0, "p1"), log.marker(ERP, 1, D1)])
    assert days.holding
    days.revoked([TopicPartition(ERP, 0)])
    assert not days.holding
    assert TopicPartition(ERP, 0) not in days.commit_offsets()


def test_a_task_handles_its_records_in_the_order_written_whatever_order_they_are_fetched() -> None:
    """A consumer fetching the ledger's backlog ahead of the ERP's (after a restart) still handles
    the ERP fact before the ledger's reaction written after it: a record waits while a partition
    not read to its end could hold an earlier one."""
    log, days = Log(), aligner(ERP, LEDGER)
    first = [log.marker(ERP, 0, D1), log.marker(LEDGER, 0, D1)]
    read_to_the_end = {TopicPartition(ERP, 0), TopicPartition(LEDGER, 0)}
    assert describe(days.plan(first, caught_up=read_to_the_end)) == [
        "take erp/0 2024-03-01",
        "take ledger/0 2024-03-01",
        "tick 2024-03-01 for 0",
        "mark 2024-03-01 in 0",
    ]
    fact = log.fact(ERP, 0, "p1")
    reaction = log.fact(LEDGER, 0, "r1")  # written after the fact
    assert describe(days.plan([reaction], caught_up=set())) == []  # the erp may hold earlier ones
    assert describe(days.plan([fact], caught_up=set())) == ["fact p1"]  # the reaction: is erp done?
    assert describe(days.plan([], caught_up={TopicPartition(ERP, 0)})) == ["fact r1"]


def test_a_record_is_handled_as_of_its_tasks_day_whatever_day_another_task_reached() -> None:
    """Tasks take their days apart: a fact of D1 in task 0 is handled as of D1 though task 1 has
    taken D3 already (the tenant's latest day is not the record's)."""
    log, days = Log(), aligner(ERP, partitions=2)
    ahead = [log.marker(ERP, 1, day) for day in (D1, D2, D3)]
    behind = [log.marker(ERP, 0, D1), log.fact(ERP, 0, "p1"), log.marker(ERP, 0, D2)]
    steps = days.plan([*ahead, *behind])
    facts = [s for s in steps if isinstance(s, Delivery) and s.task is None]
    assert [(f.event.data.payment_id, f.day) for f in facts if f.event] == [("p1", D1)]
    ticks = [(s.task.indices, s.day) for s in steps if isinstance(s, Delivery) and s.task]
    assert ticks == [((0, 1), D1), ((0, 1), D2), ((1,), D3)]  # ready together: one tick
    # a record no marker precedes belongs to no day
    (free,) = days.plan([log.fact(ERP, 0, "p0", tenant="t2")])
    assert isinstance(free, Delivery)
    assert free.day is None
