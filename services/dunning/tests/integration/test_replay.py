"""Replaying IBM's late-payment histories with daily ticks, killing the service mid-way.

The expected counts come from the file alone, by the rule of the acceptance criteria: an action for
day D fires when, at D's tick, the invoice is known (issued before D: a day's facts follow its
tick), still unpaid (settled on D or later) and not paused (no dispute raised before D).
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from arshield_cli.clock import tick
from arshield_cli.importers.receivables_csv import read_facts
from arshield_events.envelope import CloudEvent, envelope
from arshield_events.erp import BuyerRegistered, InvoiceIssued
from arshield_events.money import Money
from arshield_runtime.webhooks.signing import new_secret

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
CSV = (
    Path(os.environ.get("ARSHIELD_SHARED_DIR", REPO.parent / "shared"))
    / "datasets"
    / "ibm-late-payment-histories.csv"
)

# The default policy's offsets from the due date of the three counted actions.
OFFSETS = {"reminder": -15, "first_overdue_notice": 1, "formal_notice": 30}


def _day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").replace(tzinfo=UTC).date()


def expected_counts(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            issued, due, settled = (_day(row[k]) for k in ("InvoiceDate", "DueDate", "SettledDate"))
            disputed_from = min(due, settled) if row["Disputed"] == "Yes" else None
            for action, offset in OFFSETS.items():
                day = due + timedelta(days=offset)
                known = issued < day
                unpaid = settled >= day
                paused = disputed_from is not None and disputed_from < day
                if known and unpaid and not paused:
                    counts[action] += 1
    return counts


@pytest.mark.skipif(not CSV.exists(), reason=f"dataset not found at {CSV}")
async def test_replaying_the_ibm_histories_with_a_kill_gives_the_implied_actions_once(
    stack: Any,
    dunning: Any,
    api_keys: dict[str, str],
    tenant: str,
    receiver_factory: Any,
) -> None:
    expected = expected_counts(CSV)
    assert expected["reminder"] > 1000  # the rule sees the file (not an empty comparison)

    # One extra buyer, outside the file, that never pays: its hand-over goes out as a webhook
    # while the service is killed and restarted around it.
    secret = new_secret()
    receiver = await receiver_factory(secret)
    async with httpx.AsyncClient(base_url=dunning.url) as api:
        created = await api.post(
            "/v1/agencies",
            headers={"authorization": f"Bearer {api_keys['admin']}"},
            json={"name": "Agency", "url": receiver.url, "secret": secret},
        )
        assert created.status_code == 201

    by_day: dict[date, list[CloudEvent[Any]]] = defaultdict(list)
    for fact in read_facts(CSV, tenant=tenant):
        by_day[fact.on].append(fact.event)
    first = min(by_day)
    debtor_due = first + timedelta(days=30)
    by_day[first] += [
        envelope(
            BuyerRegistered(
                buyer_id="NEVER-PAYS",
                legal_name="Never Pays Ltd",
                country="GB",
                segment="standard",
                preferred_language="en",
                registered_on=first,
            ),
            id=f"{tenant}-np-buyer",
            source="erp/test",
            subject="NEVER-PAYS",
            tenantid=tenant,
            time=datetime.now(UTC),
        ),
        envelope(
            InvoiceIssued(
                invoice_id="NP-1",
                invoice_number="NP-1",
                buyer_id="NEVER-PAYS",
                issued_on=first,
                due_on=debtor_due,
                amount=Money.of("5000.00", "GBP"),
                payment_terms_days=30,
            ),
            id=f"{tenant}-np-invoice",
            source="erp/test",
            subject="NEVER-PAYS",
            tenantid=tenant,
            time=datetime.now(UTC),
        ),
    ]
    handover_day = debtor_due + timedelta(days=60)
    last = max(by_day)
    kill_days = {handover_day, first + (last - first) * 2 // 3}

    since = await stack.offsets()
    day = first
    while day <= last:
        await stack.publish([tick(tenant, day)])
        if day in kill_days:
            await asyncio.sleep(0.05)  # the tick is in flight (or just handled)
            dunning.kill()
            await dunning.start()
        facts = by_day.get(day)
        if facts:
            await stack.wait_consumed(dunning.group)
            await stack.publish(facts)
            await stack.wait_consumed(dunning.group)
        day += timedelta(days=1)
    await stack.wait_consumed(dunning.group)

    conn = await asyncpg.connect(dunning.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT invoice_id, action, taken_on FROM dunning_actions "
            "WHERE tenant_id = $1 AND buyer_id <> 'NEVER-PAYS'",
            tenant,
        )
        np_rows = await conn.fetch(
            "SELECT action FROM dunning_actions WHERE buyer_id = 'NEVER-PAYS' ORDER BY taken_on"
        )
    finally:
        await conn.close()
    counts = Counter(r["action"] for r in rows)
    for action in OFFSETS:
        assert counts[action] == expected[action], (action, counts, expected)
    per_invoice = Counter((r["invoice_id"], r["action"]) for r in rows)
    assert max(per_invoice.values()) == 1  # none twice
    assert [r["action"] for r in np_rows] == [
        "reminder",
        "first_overdue_notice",
        "formal_notice",
        "agency_handover",
    ]

    # What went out on the log: each decision once (a relay may re-send a record after a kill,
    # with the same id, which consumers drop as a duplicate).
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        events = await stack.events(tenant, since)
        unique = {e.id: e for e in events}
        published = Counter(
            (e.type.split(".")[2], getattr(e.data, "level", None)) for e in unique.values()
        )
        if published[("CaseHandedToAgency", None)] or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert published[("PaymentReminderSent", None)] == expected["reminder"] + 1
    assert published[("DunningLevelReached", "first_overdue_notice")] == (
        expected["first_overdue_notice"] + 1
    )
    assert published[("DunningLevelReached", "formal_notice")] == expected["formal_notice"] + 1
    assert published[("CaseHandedToAgency", None)] == 1
    decisions = Counter(
        (
            e.type,
            getattr(e.data, "invoice_id", None),
            getattr(e.data, "level", None),
            getattr(e.data, "promise_id", None),
            getattr(e.data, "reference_id", None),
        )
        for e in unique.values()
    )
    assert max(decisions.values()) == 1

    # The hand-over webhook was not lost, and every copy carries one webhook-id.
    received = await receiver.wait_for(1, within=30)
    assert all(r.verified for r in received)
    assert len({r.headers["webhook-id"] for r in received}) == 1
