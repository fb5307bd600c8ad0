"""Kafka topics: one per producing context, each with a dead-letter twin."""

from __future__ import annotations

from typing import Final

ERP: Final = "arshield.erp"
EXTERNAL: Final = "arshield.external"
CLOCK: Final = "arshield.clock"
LEDGER: Final = "arshield.ledger"
CREDIT: Final = "arshield.credit"
RISK: Final = "arshield.risk"
DUNNING: Final = "arshield.dunning"
INSURANCE: Final = "arshield.insurance"

ALL_TOPICS: Final[tuple[str, ...]] = (
    ERP,
    EXTERNAL,
    CLOCK,
    LEDGER,
    CREDIT,
    RISK,
    DUNNING,
    INSURANCE,
)

DLQ_SUFFIX: Final = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic where records of `topic` that fail to parse or validate go."""
    return f"{topic}{DLQ_SUFFIX}"


DLQ_TOPICS: Final[tuple[str, ...]] = tuple(dlq(topic) for topic in ALL_TOPICS)
