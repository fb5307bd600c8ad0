"""A service's Kafka wiring in unit tests: FastStream's `TestKafkaBroker` in front of the kernel.

`kernel_broker(kernel, topics)` builds the subscriber exactly as the service does (`build_broker`,
the topics it subscribes to), routes each published record to the kernel on the in-memory state
store (`run_batch`: no database; the wiring's projections must be fakes), and collects what the
kernel emitted. An event sent to a topic the service does not subscribe to reaches nothing, as in
production; that is what these tests can catch that `run_batch` alone cannot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker

from arshield_events.envelope import CloudEvent
from arshield_events.registry import event_headers, parse_event, serialize_event
from arshield_runtime.kernel import Kernel, run_batch
from arshield_runtime.messaging import EventRouter
from arshield_runtime.subscriber import HandlesAllPolled, build_broker


@dataclass
class KernelProcessor(HandlesAllPolled):
    """Each polled batch parsed and handled by the kernel in memory; what it emitted is kept."""

    kernel: Kernel[Any, Any, Any]
    router: EventRouter | None = None
    emitted: list[CloudEvent[Any]] = field(default_factory=list)

    async def process(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], caught_up: Any = None
    ) -> None:
        events = [parse_event(record.value or b"") for record in records]
        self.emitted += await run_batch(self.kernel, events, router=self.router)


@dataclass
class BrokerUnderTest:
    broker: KafkaBroker
    processor: KernelProcessor

    async def send(self, *events: CloudEvent[Any]) -> list[CloudEvent[Any]]:
        """Publish `events`, each to its contract topic with its key and CloudEvents headers, and
        return what the kernel emitted in answer."""
        start = len(self.processor.emitted)
        for event in events:
            await self.broker.publish(
                serialize_event(event),
                event.data.topic,
                key=event.key.encode(),
                headers={name: value.decode() for name, value in event_headers(event)},
            )
        return self.processor.emitted[start:]


@asynccontextmanager
async def kernel_broker(
    kernel: Kernel[Any, Any, Any], topics: Sequence[str], router: EventRouter | None = None
) -> AsyncIterator[BrokerUnderTest]:
    """The service's subscriber on `topics` (its settings' list), under `TestKafkaBroker`;
    `router`: the service's, if it adds handlers to the kernel's."""
    processor = KernelProcessor(kernel, router)
    broker = build_broker(
        bootstrap="127.0.0.1:1",  # never dialled: TestKafkaBroker replaces the connection
        topics=topics,
        group_id="unit",
        processor=processor,
        batch_max=100,
        client_id="unit",
        handles=sorted((router or kernel.router()).payload_types, key=lambda t: t.__name__),
        failed_batch_pause=0,
    )
    async with TestKafkaBroker(broker) as test_broker:
        yield BrokerUnderTest(test_broker, processor)
