"""Importer for CloudEvents JSONL exports (one event per line), dated by their business date.

Any ERP or data provider that exports its facts as arshield CloudEvents can be replayed: each event
is published on the business day its payload names (the day an invoice was issued, a payment
received, a rating published ...), after that day's tick, exactly as the CSV importer's facts are.
An event whose payload names no business date is dated by its `time`. Several files are merged by
business date; within a day the events keep their order in the files, so a file written in order
(a buyer's registration before its invoices, an invoice before its payment) replays in order.
Invoices never settled are simply invoices with no payment: nothing in the file has to close them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from arshield_cli.importers.receivables_csv import Fact
from arshield_cli.publishing import read_jsonl
from arshield_events.envelope import CloudEvent

# The payload field that carries a fact's business date, in order of preference: the day a report
# or notice became known comes before the period it describes.
BUSINESS_DATE_FIELDS = (
    "registered_on",
    "issued_on",
    "received_on",
    "raised_on",
    "resolved_on",
    "cancelled_on",
    "confirmed_on",
    "placed_on",
    "reported_on",
    "published_on",
    "business_date",
)


def business_date(event: CloudEvent[Any]) -> date:
    for name in BUSINESS_DATE_FIELDS:
        value = getattr(event.data, name, None)
        if isinstance(value, date):
            return value
    return event.time.date()


def read_event_facts(paths: Sequence[Path]) -> tuple[list[Fact], list[tuple[Path, int, str]]]:
    """The valid events of every file as facts in business-date order (stable within a day), and
    (file, line, reason) for the lines refused."""
    facts: list[Fact] = []
    problems: list[tuple[Path, int, str]] = []
    for number, path in enumerate(paths):
        events, refused = read_jsonl(path)
        problems += [(path, line, reason) for line, reason in refused]
        facts += [
            Fact(business_date(event), (number, index), event) for index, event in enumerate(events)
        ]
    facts.sort(key=lambda fact: fact.on)
    return facts, problems
