"""Replay IBM's late-payment histories through Kafka and PostgreSQL: every invoice's days late
must equal the file's DaysLate."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from arshield_cli.clock import tick
from arshield_cli.importers.receivables_csv import read_facts
from arshield_events import topics
from arshield_events.erp import BuyerRegistered
from arshield_events.ledger import InvoiceSettled, PaymentOverdue
from arshield_ledger.adapters.tables import invoices
from arshield_ledger.bootstrap import MIGRATIONS
from arshield_runtime.db import create_engine, migrate

from .harness import consume_all, dead_letters, emitted, payloads, produce

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[5]  # the repository
DATASET = ROOT.parent / "shared" / "datasets" / "ibm-late-payment-histories.csv"
TENANT = "ibm"


def expected_days_late() -> dict[str, int]:
    with DATASET.open(newline="") as handle:
        return {
            row["invoiceNumber"].strip(): int(row["DaysLate"]) for row in csv.DictReader(handle)
        }


@pytest.mark.skipif(not DATASET.exists(), reason="the shared dataset is not on this machine")
async def test_every_invoice_settles_with_the_files_days_late(
    kafka_bootstrap: str, fresh_database: str, fresh_topics: Any
) -> None:
    erp_topic, clock_topic = await fresh_topics(topics.ERP, topics.CLOCK, partitions=3)
    facts = [
        f
        for f in read_facts(DATASET, tenant=TENANT)
        if not isinstance(f.event.data, BuyerRegistered)
    ]
    first, last = facts[0].on, facts[-1].on + timedelta(days=1)
    records: list[tuple[str, Any]] = []
    by_day: dict[Any, list[Any]] = {}
    for fact in facts:
        by_day.setdefault(fact.on, []).append(fact.event)
    day = first
    while day <= last:
        # Each day's facts, then the day's tick once they are in (the clock publishes when quiet).
        records += [(erp_topic, e) for e in by_day.get(day, [])]
        records.append((clock_topic, tick(TENANT, day)))
        day += timedelta(days=1)
    await produce(kafka_bootstrap, records)

    await migrate(MIGRATIONS, fresh_database)
    engine = create_engine(fresh_database)
    try:
        handled = await consume_all(kafka_bootstrap, [erp_topic, clock_topic], engine)
        assert handled == len(records)
        assert await dead_letters(engine) == []
        expected = expected_days_late()
        out = await emitted(engine)
        settled = {s.invoice_id: s.days_late for s in payloads(out, InvoiceSettled)}
        assert settled == expected
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(invoices.c.invoice_id, invoices.c.days_late, invoices.c.status)
            )
            stored = {r.invoice_id: (r.days_late, r.status) for r in rows}
        assert stored == {number: (days, "paid") for number, days in expected.items()}
        # An invoice still unpaid when the tick of the day after its due date came was announced
        # overdue that day (one paid that day settled before the tick); a disputed one too, flagged
        # `disputed` (the insurer must hear of it; dunning pauses on its own rule).
        disputed = _disputed()
        first = [o for o in payloads(out, PaymentOverdue) if o.days_overdue == 1]
        overdue = {o.invoice_id for o in first if not o.disputed}
        assert overdue == {n for n, days in expected.items() if days > 1 and n not in disputed}
        flagged = {o.invoice_id for o in first if o.disputed}
        assert flagged == {n for n, days in expected.items() if days > 1 and n in disputed}
    finally:
        await engine.dispose()


def _disputed() -> set[str]:
    with DATASET.open(newline="") as handle:
        return {
            row["invoiceNumber"].strip()
            for row in csv.DictReader(handle)
            if row["Disputed"].strip().lower() == "yes"
        }
