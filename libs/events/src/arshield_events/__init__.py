"""arshield's public event language: envelope, money, versioned event payloads, topics (no I/O)."""

from arshield_events import clock, erp, ledger, topics
from arshield_events.envelope import (
    CONTENT_TYPE,
    CloudEvent,
    Payload,
    derived_event_id,
    envelope,
    partition_key,
)
from arshield_events.money import CurrencyMismatch, DecimalString, Money, sum_money

__all__ = [
    "CONTENT_TYPE",
    "CloudEvent",
    "CurrencyMismatch",
    "DecimalString",
    "Money",
    "Payload",
    "clock",
    "derived_event_id",
    "envelope",
    "erp",
    "ledger",
    "partition_key",
    "sum_money",
    "topics",
]
