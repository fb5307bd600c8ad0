"""The Kafka side of consuming: a FastStream batch subscriber over aiokafka, manual offset
commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from arshield_runtime.consumer import BatchProcessor

log = logging.getLogger(__name__)


def build_broker(
    *,
    bootstrap: str,
    topics: Sequence[str],
    group_id: str,
    processor: BatchProcessor,
    batch_max: int,
    client_id: str,
) -> KafkaBroker:
    """A broker whose one subscriber hands each polled batch to `processor`.

    The offset is committed only after the batch's transaction committed; a crash in between makes
    Kafka redeliver the batch, which the inbox turns into no second effect.
    """
    broker = KafkaBroker(bootstrap, client_id=client_id, logger=log, log_level=logging.DEBUG)

    @broker.subscriber(
        *topics,
        group_id=group_id,
        batch=True,
        max_records=batch_max,
        batch_timeout_ms=10,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
    )
    async def consume_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        try:
            await processor.process(batch)
        except Exception:
            log.exception("batch failed outside any handler; it will be consumed again")
            await message.nack()
            await asyncio.sleep(1.0)
            return
        try:
            await message.ack()
        except KafkaError as error:
            # The effects are committed; a redelivery after this is absorbed by the inbox.
            log.warning("offset commit failed (%r); the batch may be redelivered", error)

    return broker
