"""Small Kafka look-ups shared by the runtime and the command line."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def topic_partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of `topics`, asked of the broker (a consumer that has not subscribed does
    not know them)."""
    names = sorted(set(topics))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    found = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]
    missing = set(names) - {tp.topic for tp in found}
    if missing:
        raise LookupError(f"unknown topics: {sorted(missing)}")
    return sorted(found)
