"""A service's Kafka wiring under FastStream's `TestKafkaBroker`: no broker, no database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from unittest import mock

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import TestKafkaBroker
from faststream.kafka.message import KafkaAckableMessage

from arshield_events.envelope import CloudEvent, envelope
from arshield_events.erp import BuyerRegistered
from arshield_events.registry import event_headers, parse_event, serialize_event
from arshield_events.topics import CLOCK, ERP
from arshield_runtime.subscriber import HandlesAllPolled, build_broker

pytestmark = pytest.mark.unit


class RecordingProcessor(HandlesAllPolled):
    """Stands in for `BatchProcessor`: records each batch; fails the first `failures` batches."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[ConsumerRecord[bytes, bytes]]] = []
        self.failures = failures

    async def process(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], caught_up: Any = None
    ) -> None:
        self.batches.append(list(records))
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database unreachable")


def registered(buyer: str) -> CloudEvent[Any]:
    return envelope(
        BuyerRegistered(
            buyer_id=buyer,
            legal_name="Buyer Ltd",
            country="DE",
            segment="standard",
            preferred_language="en",
            registered_on=date(2024, 1, 2),
        ),
        id=str(uuid.uuid4()),
        source="erp/test",
        subject=buyer,
        tenantid="acme",
        time=datetime(2024, 1, 2, 9, tzinfo=UTC),
    )


def wiring(processor: RecordingProcessor) -> Any:
    return build_broker(
        bootstrap="127.0.0.1:1",
        topics=[ERP, CLOCK],
        group_id="arshield-test",
        processor=processor,
        batch_max=100,
        client_id="test",
        handles=[BuyerRegistered],
        failed_batch_pause=0,
    )


async def publish(broker: Any, event: CloudEvent[Any], topic: str = ERP) -> None:
    await broker.publish(
        serialize_event(event),
        topic,
        key=event.key.encode(),
        headers={name: value.decode() for name, value in event_headers(event)},
    )


async def test_a_published_cloudevent_reaches_the_processor_as_a_raw_record() -> None:
    processor = RecordingProcessor()
    broker = wiring(processor)
    event = registered("B-1")

    async with TestKafkaBroker(broker) as test_broker:
        await publish(test_broker, event)

    (batch,) = processor.batches
    (record,) = batch
    assert isinstance(record, ConsumerRecord)
    assert record.topic == ERP
    assert record.key == b"acme:B-1"
    assert parse_event(record.value) == event
    assert ("ce_type", b"arshield.erp.BuyerRegistered.v1") in record.headers


async def test_every_subscribed_topic_reaches_the_processor() -> None:
    processor = RecordingProcessor()
    broker = wiring(processor)

    async with TestKafkaBroker(broker) as test_broker:
        await publish(test_broker, registered("B-1"), ERP)
        await publish(test_broker, registered("B-2"), CLOCK)

    assert [batch[0].topic for batch in processor.batches] == [ERP, CLOCK]


async def test_a_failed_batch_is_nacked_rewinding_its_partition_and_a_redelivery_is_acked() -> None:
    processor = RecordingProcessor(failures=1)
    broker = wiring(processor)
    outcomes: list[tuple[str, Any]] = []
    ack, nack = KafkaAckableMessage.ack, KafkaAckableMessage.nack

    async def spy_ack(message: KafkaAckableMessage) -> None:
        outcomes.append(("ack", message.raw_message))
        await ack(message)

    async def spy_nack(message: KafkaAckableMessage) -> None:
        outcomes.append(("nack", message.raw_message))
        seek = mock.Mock()
        with mock.patch.object(message, "consumer", mock.Mock(seek=seek)):
            await nack(message)
        outcomes.append(("seek", seek.call_args_list))

    event = registered("B-1")
    with (
        mock.patch.object(KafkaAckableMessage, "ack", spy_ack),
        mock.patch.object(KafkaAckableMessage, "nack", spy_nack),
    ):
        async with TestKafkaBroker(broker) as test_broker:
            await publish(test_broker, event)
            # TestKafkaBroker does not redeliver after a seek: publish the record again, as Kafka
            # would hand it again from the rewound offset.
            await publish(test_broker, event)

    assert [parse_event(batch[0].value) for batch in processor.batches] == [event, event]
    assert [kind for kind, _ in outcomes] == ["nack", "seek", "ack"]
    (nacked,) = outcomes[0][1]
    assert isinstance(outcomes[0][1], tuple)
    assert outcomes[1][1] == [
        mock.call(partition=TopicPartition(ERP, nacked.partition), offset=nacked.offset)
    ]


async def test_the_broker_documents_its_topics_without_consuming() -> None:
    processor = RecordingProcessor()
    broker = wiring(processor)

    async with TestKafkaBroker(broker):
        pass

    assert processor.batches == []
    (subscriber,) = broker.subscribers
    assert set(subscriber.schema()) == {f"{ERP}:ConsumeBatch", f"{CLOCK}:ConsumeBatch"}
