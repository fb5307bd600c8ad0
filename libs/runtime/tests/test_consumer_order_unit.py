"""A consumed batch is handled in the order its records were written across partitions."""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord

from arshield_runtime.consumer import in_written_order

pytestmark = pytest.mark.unit


def record(topic: str, partition: int, offset: int, timestamp: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, timestamp, 0, b"k", b"v", None, 1, 1, ())


def test_a_fact_is_handled_before_the_ledger_event_it_caused_whatever_the_fetch_order() -> None:
    """Down while an ERP fact (written at t=10) and the ledger's reaction to it (t=20) arrived,
    a consumer fetches the ledger partition first: it still handles the fact first."""
    fact, older, reaction = (
        record("arshield.erp", 3, 7, 10),
        record("arshield.erp", 3, 6, 5),
        record("arshield.ledger", 1, 40, 20),
    )
    assert in_written_order([reaction, older, fact]) == [older, fact, reaction]


def test_each_partition_keeps_its_own_order_even_with_skewed_timestamps() -> None:
    first, second = record("t", 0, 1, 50), record("t", 0, 2, 30)  # a producer's clock stepped back
    other = record("t", 1, 9, 40)
    assert in_written_order([first, second, other]) == [other, first, second]


def test_one_partition_is_left_as_it_is() -> None:
    batch = [record("t", 0, i, 100 - i) for i in range(5)]
    assert in_written_order(batch) == batch
