"""The Kafka side of consuming: a FastStream batch subscriber over aiokafka, manual offset
commits, and the AsyncAPI description of what the service consumes and publishes.

The subscriber long-polls: an idle consumer blocks in Kafka's fetch (`getmany` with a long
timeout returns as soon as records arrive) instead of FastStream's short fetch followed by a
sleep, so it costs nothing while idle and adds no wait to a record that arrives.

The subscriber hands raw records to the processor (which parses them, dedupes them against the
inbox and handles them in one transaction), so FastStream never decodes a payload itself. The
typed CloudEvent schemas are attached to the document only: the subscriber's channels show, per
topic, the events the service's router handles, and documentation-only publishers (never used to
send: the outbox relay publishes) show the events it emits and its dead-letter topics.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import chain
from typing import Any, Protocol, cast

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.publisher.specification import KafkaPublisherSpecification
from faststream.kafka.subscriber.specification import KafkaSubscriberSpecification
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.specification.asyncapi.utils import resolve_payloads
from faststream.specification.schema import SubscriberSpec
from pydantic.json_schema import models_json_schema

from arshield_events.envelope import Payload, envelope_class
from arshield_events.topics import dlq

log = logging.getLogger(__name__)

FETCH_MAX_BYTES = 4 * 1024 * 1024
PARTITION_FETCH_MAX_BYTES = 512 * 1024
"""What one fetch brings at most (all partitions, and per partition). A consumer behind a backlog
(a replay publishes its facts faster than the services take them) would otherwise hold up to 50 MB
of records in memory ahead of its batches, as Python objects several times that size; a few
batches ahead is all the pipeline needs."""

LONG_POLL_MS = 30_000
"""How long an idle consumer blocks in one fetch; records end it at once, and stopping the broker
cancels it."""


class RecordProcessor(Protocol):
    """What the subscriber hands each polled batch to (`consumer.BatchProcessor`, or a fake)."""

    async def process(
        self,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        caught_up: Collection[TopicPartition] | None = None,
    ) -> None:
        """Handle a polled batch; `caught_up`: the partitions read to their end (None: unknown)."""

    def commit_offsets(self) -> dict[TopicPartition, int] | None:
        """What Kafka may commit after `process` (per partition, the first record not handled
        yet), or None for everything polled."""

    def forget(self) -> dict[TopicPartition, int]:
        """After a failed batch: drop what is held in memory; returns, per partition, the offset
        to read again from."""

    def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        """The group gave `partitions` to another instance: drop what is held of them (the new
        owner reads them again from the committed offset)."""


class HandlesAllPolled:
    """For a processor that handles every record of a batch before it returns (nothing held):
    Kafka commits everything polled, and a failed batch leaves nothing to forget."""

    def commit_offsets(self) -> None:
        return None

    def forget(self) -> dict[TopicPartition, int]:
        return {}

    def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        return None


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions leave this instance only between two batches: the revoke waits for the batch in
    hand to commit (its effects and its offsets), so the next owner of a task reads the database
    and the offsets as this instance left them."""

    def __init__(self, processor: RecordProcessor, batches: asyncio.Lock) -> None:
        self._processor = processor
        self._batches = batches

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._batches:
            self._processor.revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None


def build_broker(
    *,
    bootstrap: str,
    topics: Sequence[str],
    group_id: str,
    processor: RecordProcessor,
    batch_max: int,
    client_id: str,
    handles: Iterable[type[Payload]] = (),
    publishes: Iterable[type[Payload]] = (),
    failed_batch_pause: float = 1.0,
) -> KafkaBroker:
    """A broker whose one subscriber hands each polled batch to `processor`.

    The offset is committed only after the batch's transaction committed; a crash in between makes
    Kafka redeliver the batch, which the inbox turns into no second effect. A batch that fails
    outside any handler is nacked (its partitions rewound to its first records) and polled again
    after `failed_batch_pause` seconds.

    `handles` (the router's payload types) and `publishes` (the payload types the service emits)
    only describe the service in its AsyncAPI document.
    """
    broker = KafkaBroker(bootstrap, client_id=client_id, logger=log, log_level=logging.DEBUG)
    batches = asyncio.Lock()

    subscriber = broker.subscriber(
        *topics,
        group_id=group_id,
        batch=True,
        max_records=batch_max,
        batch_timeout_ms=LONG_POLL_MS,
        auto_offset_reset="earliest",
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_MAX_BYTES,
        listener=_Rebalance(processor, batches),
        # Partition p of every topic to one instance (topics are co-partitioned): a task's day
        # partitions are never split between two instances.
        partition_assignment_strategy=(RangePartitionAssignor,),
        ack_policy=AckPolicy.MANUAL,
        description=f"CloudEvents consumed as group {group_id}, in batches of up to {batch_max} "
        "records, each batch in one transaction with the inbox; offsets committed after it.",
    )

    if type(subscriber) is BatchSubscriber:
        # Same layout, one method changed: the fetch blocks until records arrive.
        subscriber.__class__ = LongPollBatchSubscriber

    @subscriber
    async def consume_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        if isinstance(records, list):
            # FastStream's TestKafkaBroker hands a batch as a list, aiokafka as a tuple (which
            # `nack` expects, to rewind each partition to the batch's first record).
            records = message.raw_message = tuple(records)
        batch = records if isinstance(records, tuple) else (records,)
        async with batches:
            held = assigned_only(batch, message.consumer)
            if held is not batch:
                message.raw_message = held  # what `nack` rewinds
            if held:
                await handle(message, held)

    async def handle(
        message: KafkaMessage, batch: tuple[ConsumerRecord[bytes, bytes], ...]
    ) -> None:
        try:
            await processor.process(batch, await caught_up(message.consumer))
        except Exception:
            log.exception("batch failed outside any handler; it will be consumed again")
            rewind = processor.forget()
            await message.nack()
            for tp, offset in rewind.items():
                message.consumer.seek(tp, offset)
            await asyncio.sleep(failed_batch_pause)
            return
        try:
            offsets = processor.commit_offsets()
            if offsets is None:
                await message.ack()
            else:
                # Records held for a business day not yet taken are read again after a restart.
                consumer = cast("AIOKafkaConsumer", message.consumer)
                assigned = consumer.assignment()
                await consumer.commit({tp: n for tp, n in offsets.items() if tp in assigned})
        except KafkaError as error:
            # The effects are committed; a redelivery after this is absorbed by the inbox.
            log.warning("offset commit failed (%r); the batch may be redelivered", error)

    document(broker, subscriber, topics, handles=handles, publishes=publishes)
    return broker


def assigned_only(
    batch: tuple[ConsumerRecord[bytes, bytes], ...], consumer: object
) -> tuple[ConsumerRecord[bytes, bytes], ...]:
    """The records of `batch` whose partition this instance still holds: a batch fetched before a
    rebalance may carry records of a partition given to another instance meanwhile, which reads
    them again from the committed offset."""
    if not isinstance(consumer, AIOKafkaConsumer):
        return batch
    assigned = consumer.assignment()
    if all(TopicPartition(r.topic, r.partition) in assigned for r in batch):
        return batch
    return tuple(r for r in batch if TopicPartition(r.topic, r.partition) in assigned)


async def caught_up(consumer: object) -> set[TopicPartition] | None:
    """The assigned partitions read to their end as of the last fetch (None under a test broker)."""
    if not isinstance(consumer, AIOKafkaConsumer):
        return None
    done = set()
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is not None and await consumer.position(tp) >= high:
            done.add(tp)
    return done


class LongPollBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber without the sleep after an empty fetch.

    FastStream's fetch waits at most `batch_timeout_ms`, then sleeps as long again when nothing
    came: a short timeout polls all the time, a long one delays a record arriving during the
    sleep. Here the fetch itself is the wait (aiokafka returns as soon as any partition has
    records), and an empty fetch goes straight back to waiting.
    """

    __slots__ = ()

    async def get_msg(self, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord[Any, Any], ...]:
        fetched = await consumer.getmany(
            timeout_ms=self.batch_timeout_ms, max_records=self.max_records
        )
        return tuple(chain.from_iterable(fetched.values()))


# --- the AsyncAPI description --------------------------------------------------------------------

PayloadSchemas = list[tuple[dict[str, Any], str]]
"""FastStream's form of a message's payloads: (JSON schema, name) pairs, one per alternative."""


def document(
    broker: KafkaBroker,
    subscriber: Any,
    topics: Sequence[str],
    *,
    handles: Iterable[type[Payload]],
    publishes: Iterable[type[Payload]],
) -> None:
    """Attach the typed CloudEvent schemas to `broker`'s AsyncAPI description.

    The batch `subscriber`'s description is replaced by one that shows, per topic, the envelopes
    of the handled payload types on that topic. Each published topic gets
    a publisher that only documents (the outbox relay sends, not FastStream), as does each consumed
    topic's dead-letter twin.
    """
    handled = sorted(set(handles), key=_event_name)
    published = sorted(set(publishes), key=_event_name)
    schemas = envelope_schemas([*handled, *published])
    by_topic: dict[str, list[type[Payload]]] = defaultdict(list)
    for payload_type in handled:
        by_topic[payload_type.topic].append(payload_type)
    consumed = {topic: [schemas[t] for t in by_topic.get(topic, ())] for topic in topics}
    subscriber.specification = _DocumentedSubscriber(subscriber.specification, consumed)

    emitted: dict[str, list[type[Payload]]] = defaultdict(list)
    for payload_type in published:
        emitted[payload_type.topic].append(payload_type)
    for topic, types in sorted(emitted.items()):
        publisher = broker.publisher(
            topic,
            title=f"{topic}:Outbox",
            description="CloudEvents this service emits, through its transactional outbox: "
            + ", ".join(t.event_name for t in types),
        )
        publisher.specification = cast(
            "Any", _DocumentedPublisher(publisher.specification, [schemas[t] for t in types])
        )
    for topic in topics:
        dead_letters = broker.publisher(
            dlq(topic),
            title=f"{dlq(topic)}:DeadLetters",
            description=f"Records of {topic} this service could not handle, dead-lettered through "
            "its outbox.",
        )
        dead_letters.specification = cast(
            "Any", _DocumentedPublisher(dead_letters.specification, [DEAD_LETTER_SCHEMA])
        )


DEAD_LETTER_SCHEMA: dict[str, Any] = {
    "title": "DeadLetteredRecord",
    "description": "The original record's key, value (bytes, unchanged: possibly not JSON) and "
    "headers, plus headers dlq_origin_topic, dlq_origin_partition, dlq_origin_offset, dlq_error "
    "(why it was refused) and dlq_service.",
}


def envelope_schemas(payload_types: Sequence[type[Payload]]) -> dict[type[Payload], dict[str, Any]]:
    """The JSON schema of `CloudEvent[T]` for each payload type, titled by its event name.

    Built in one pass so two nested models of the same name get distinct definitions; each schema
    carries the definitions under `$defs` (FastStream moves them to the document's components).
    The envelope's `type` is pinned to the event name.
    """
    if not payload_types:
        return {}
    keys = [(envelope_class(t), "validation") for t in payload_types]
    refs, top = models_json_schema(keys, ref_template="#/$defs/{model}")  # type: ignore[arg-type]
    definitions: dict[str, Any] = top.get("$defs", {})
    envelopes = {key: refs[key]["$ref"].rsplit("/", 1)[-1] for key in keys}  # type: ignore[index]
    shared = {name: d for name, d in definitions.items() if name not in envelopes.values()}
    result: dict[type[Payload], dict[str, Any]] = {}
    for payload_type, key in zip(payload_types, keys, strict=True):
        schema = dict(definitions[envelopes[key]])
        name = payload_type.event_name
        schema["title"] = name
        summary = (payload_type.__doc__ or "").strip().split("\n\n")[0]
        schema["description"] = " ".join(summary.split()) or f"A {name} CloudEvent."
        properties = dict(schema.get("properties", {}))
        properties["type"] = {**properties.get("type", {}), "const": name}
        schema["properties"] = properties
        schema["$defs"] = shared
        result[payload_type] = schema
    return result


def _event_name(payload_type: type[Payload]) -> str:
    return payload_type.event_name


def _payloads(schemas: Sequence[dict[str, Any]]) -> PayloadSchemas:
    # Deep copies: the generator moves `$defs` out of the payloads it is given.
    return [(copy.deepcopy(schema), schema["title"]) for schema in schemas]


class _DocumentedSubscriber(KafkaSubscriberSpecification):
    """The batch subscriber's description, with each topic's typed payloads."""

    __slots__ = ("_by_topic",)

    def __init__(
        self, original: KafkaSubscriberSpecification, by_topic: Mapping[str, list[dict[str, Any]]]
    ) -> None:
        super().__init__(original._outer_config, original.config, original.calls)
        self._by_topic = by_topic

    def get_schema(self) -> dict[str, SubscriberSpec]:
        channels = super().get_schema()
        for channel in channels.values():
            schemas = self._by_topic.get(channel.address or "", [])
            if schemas:
                channel.operation.message.payload = resolve_payloads(_payloads(schemas))
            else:
                channel.operation.message.payload = {
                    "title": f"{channel.address}:CloudEvent",
                    "description": "A CloudEvent (application/cloudevents+json). This service "
                    "handles none of this topic's event types: it skips them, and dead-letters "
                    "records that are not valid CloudEvents.",
                    "type": "object",
                }
        return channels


class _DocumentedPublisher(KafkaPublisherSpecification):
    """A documentation-only publisher's description: the typed payloads it carries."""

    __slots__ = ("_schemas",)

    def __init__(self, original: Any, schemas: list[dict[str, Any]]) -> None:
        super().__init__(original._outer_config, original.config)
        self._schemas = schemas

    def get_payloads(self) -> PayloadSchemas:
        return _payloads(self._schemas)
