"""Reading a topic back: one tenant's events, from the start of every partition to its end."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer

from arshield_events.envelope import CloudEvent
from arshield_events.registry import EventRejected, parse_event
from arshield_runtime.kafka import topic_partitions


async def tenant_events(bootstrap: str, topic: str, tenant: str) -> list[CloudEvent[Any]]:
    """Every valid event of `tenant` on `topic` as it stands now, in partition order."""
    partitions = await topic_partitions(bootstrap, [topic])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    events: list[CloudEvent[Any]] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=500)).items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    try:
                        event = parse_event(record.value or b"")
                    except EventRejected:
                        continue
                    if event.tenantid == tenant:
                        events.append(event)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return events
