"""The platform's Kafka topics, created by `arshield stack up`.

Temporary home: `arshield_events.topics.ALL_TOPICS` will become the single source, and this module
will re-export it.
"""

from typing import Final

BASE_TOPICS: Final[tuple[str, ...]] = (
    "arshield.erp",
    "arshield.external",
    "arshield.clock",
    "arshield.ledger",
    "arshield.credit",
    "arshield.risk",
    "arshield.dunning",
    "arshield.insurance",
)
DLQ_SUFFIX: Final = ".dlq"
DLQ_TOPICS: Final[tuple[str, ...]] = tuple(t + DLQ_SUFFIX for t in BASE_TOPICS)
ALL_TOPICS: Final[tuple[str, ...]] = BASE_TOPICS + DLQ_TOPICS

TOPIC_PARTITIONS: Final = 6
TOPIC_CONFIGS: Final[dict[str, str]] = {"retention.ms": "-1", "retention.bytes": "-1"}
