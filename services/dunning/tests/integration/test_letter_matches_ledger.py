"""One law, one figure (DOMAIN.md, Dunning): a letter's interest and compensation equal the ledger's
`/interest` answer for the same invoice on the same day.

Both sides run their production paths over the real Kafka and PostgreSQL: the ERP's facts go to
the ledger's router (its consumer's batch processor, into its own database); the ledger's published
facts are relayed from its outbox to the ledger topic dunning reads; dunning runs as its process
and takes its business days from clock ticks; the ledger's answer comes from its HTTP route.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer

from arshield_cli.clock import tick
from arshield_events import topics
from arshield_events.dunning import DunningLevelReached
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import (
    Allocation,
    BuyerRegistered,
    ContractTerms,
    CreditNoteIssued,
    DisputeRaised,
    DisputeResolved,
    Instalment,
    InvoiceIssued,
    PaymentReceived,
)
from arshield_events.money import Money
from arshield_events.registry import parse_event
from arshield_ledger.bootstrap import bootstrap as ledger_bootstrap
from arshield_ledger.entrypoints.api import router as ledger_router
from arshield_ledger.settings import LedgerSettings
from arshield_runtime.auth import create_api_key
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.db import create_engine, migrate, outbox
from arshield_runtime.http import create_app
from arshield_runtime.service import merged_by_time

pytestmark = pytest.mark.integration


@pytest.fixture
async def ledger_database(new_database: Any) -> str:
    """The ledger's own database, beside dunning's."""
    return str(await new_database())


def erp(tenant: str, data: Payload, on: date) -> CloudEvent[Any]:
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source="erp/test",
        subject="B1",
        tenantid=tenant,
        time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


async def run_ledger(bootstrap: str, topic: str, database_url: str, settings: Any) -> None:
    """Everything on `topic` through the ledger's own router, as its consumer hands it over."""
    engine = create_engine(database_url)
    processor = BatchProcessor(
        engine, ledger_bootstrap(settings).router, service="ledger", source="arshield/ledger"
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        consumer.subscribe([topic])
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        partitions = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async for records in merged_by_time(consumer, ends, 500):
            await processor.process(records)
    finally:
        await consumer.stop()
        await engine.dispose()


async def ledger_published(database_url: str) -> list[CloudEvent[Any]]:
    """The ledger's events waiting in its outbox (no relay runs here), in emission order."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(outbox.c.value, outbox.c.topic).order_by(outbox.c.id)
            )
            return [parse_event(r.value) for r in rows if not r.topic.endswith(".dlq")]
    finally:
        await engine.dispose()


Claimed = tuple[Decimal, Decimal, Decimal]
"""(principal, interest, compensation) claimed, or owed in the ledger's answer."""


async def letters_and_ledger(
    stack: Any,
    dunning: Any,
    tenant: str,
    ledger_database: str,
    kafka_bootstrap: str,
    facts: list[tuple[Payload, date]],
    ticks: tuple[date, date],
    invoice_id: str,
) -> dict[str, tuple[date, Claimed, Claimed]]:
    """Each level's letter: its day, what it claims, and the ledger's `/interest` answer for the
    same invoice and day (`principal_outstanding`, `interest_owed`, `compensation_owed`)."""
    since = await stack.offsets()
    erp_topic = stack.topic_map[topics.ERP]
    await stack.publish([erp(tenant, data, on) for data, on in facts])
    settings = LedgerSettings(
        database_url=ledger_database,
        kafka_bootstrap=kafka_bootstrap,
        topics=[erp_topic],
        consumer_group=f"ledger-test-{uuid.uuid4().hex[:8]}",
        http_port=random.randint(20000, 40000),
        environment="test",
    )
    await migrate(ledger_bootstrap(settings).migrations, ledger_database)
    await run_ledger(kafka_bootstrap, erp_topic, ledger_database, settings)
    await stack.publish(await ledger_published(ledger_database))
    await stack.wait_consumed(dunning.group)
    day, days = ticks[0], []
    while day <= ticks[1]:
        days.append(tick(tenant, day))
        day += timedelta(days=1)
    await stack.publish(days)
    await stack.wait_consumed(dunning.group)
    letters = [
        e.data for e in await stack.events(tenant, since) if isinstance(e.data, DunningLevelReached)
    ]
    engine = create_engine(ledger_database)
    out: dict[str, tuple[date, Claimed, Claimed]] = {}
    try:
        app = create_app(settings, engine, routers=[ledger_router])
        app.state.reference_rates = ledger_bootstrap(settings).state["reference_rates"]
        key = await create_api_key(engine, tenant_id=tenant, name="test", scopes=["read"])
        headers = {"Authorization": f"Bearer {key}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as ledger:
            for letter in letters:
                answer = await ledger.get(
                    f"/v1/invoices/{invoice_id}/interest",
                    params={"as_of": letter.reached_on.isoformat()},
                    headers=headers,
                )
                assert answer.status_code == 200, answer.text
                body = answer.json()
                out[letter.level] = (
                    letter.reached_on,
                    (
                        letter.claimed_principal.amount,
                        letter.late_interest.amount,
                        letter.fixed_compensation.amount,
                    ),
                    (
                        Decimal(body["principal_outstanding"]["amount"]),
                        Decimal(body["interest_owed"]["amount"]),
                        Decimal(body["compensation_owed"]["amount"]),
                    ),
                )
    finally:
        await engine.dispose()
    return out


def _buyer(country: str, language: str) -> tuple[Payload, date]:
    return (
        BuyerRegistered(
            buyer_id="B1",
            legal_name="Muster GmbH",
            country=country,
            segment="standard",
            preferred_language=language,
            registered_on=date(2024, 1, 1),
        ),
        date(2024, 1, 1),
    )


async def test_a_letter_claims_interest_on_the_principal_the_ledgers_split_left(
    stack: Any, dunning: Any, tenant: str, ledger_database: str, kafka_bootstrap: str
) -> None:
    """BGB § 367 Abs. 1 (costs, then interest, then principal), one rule for both sides.
    10,000 EUR under German law due Friday 31 January 2025; 5,000 paid on 2 March 2025 naming it.
    Basiszinssatz of 1 January 2025 2.27 % + 9 = 11.27 %. Interest 1 February-2 March (30 days):
    10,000 x 11.27 % x 30/365 = 92.6301 -> 92.63; the payment settles 40 + 92.63 and 4,867.37
    of the principal: 5,132.63 left.

    Formal notice on 2 March: principal 5,132.63, no interest nor compensation left to claim.
    Agency hand-over on 1 April: 5,132.63 x 11.27 % x 30/365 (3 March-1 April) = 47.5436 ->
    47.54 interest owed (accrued 92.6301 + 47.5436 = 140.17, of which 92.63 paid); each equal to
    the ledger's `/interest` answer that day."""
    start = date(2025, 1, 1)
    paid = Money.of("5000.00", "EUR")
    facts: list[tuple[Payload, date]] = [
        _buyer("DE", "de"),
        (
            InvoiceIssued(
                invoice_id="INV-DE",
                invoice_number="R-1",
                buyer_id="B1",
                issued_on=start,
                due_on=date(2025, 1, 31),
                amount=Money.of("10000.00", "EUR"),
                payment_terms_days=30,
                contract_terms=ContractTerms(
                    jurisdiction="DE", late_interest="statutory", retention_of_title=False
                ),
            ),
            start,
        ),
        (
            PaymentReceived(
                payment_id="PAY-DE",
                buyer_id="B1",
                amount=paid,
                received_on=date(2025, 3, 2),
                allocations=(Allocation(invoice_id="INV-DE", amount=paid),),
            ),
            date(2025, 3, 2),
        ),
    ]
    seen = await letters_and_ledger(
        stack,
        dunning,
        tenant,
        ledger_database,
        kafka_bootstrap,
        facts,
        (date(2025, 1, 31), date(2025, 4, 1)),
        "INV-DE",
    )
    formal, handover = seen["formal_notice"], seen["agency_handover"]
    assert formal == (
        date(2025, 3, 2),
        (Decimal("5132.63"), Decimal(0), Decimal(0)),
        (Decimal("5132.63"), Decimal(0), Decimal(0)),
    )
    assert handover == (
        date(2025, 4, 1),
        (Decimal("5132.63"), Decimal("47.54"), Decimal(0)),
        (Decimal("5132.63"), Decimal("47.54"), Decimal(0)),
    )


async def test_a_letter_charges_no_interest_on_what_a_correcting_credit_note_credited(
    stack: Any, dunning: Any, tenant: str, ledger_database: str, kafka_bootstrap: str
) -> None:
    """DOMAIN.md (Ledger): a credit note an upheld dispute names reduces interest from the due
    date. 10,000 EUR without contract terms (EUR, no tenant jurisdiction: Directive 2011/7/EU,
    ECB MRO of 1 January 2024 4.50 % + 8 = 12.50 %) due 31 January 2024; 2,000 disputed on
    10 February, upheld on 15 March with credit note CN-1 of 2,000 that day.
    Hand-over on 31 March: 8,000 x 12.50 % x 60/365 = 164.3836 -> 164.38 EUR and 40 EUR (from
    the note's date it would be 194.52), equal to the ledger's `/interest` that day."""
    start = date(2024, 1, 1)
    facts: list[tuple[Payload, date]] = [
        _buyer("NL", "en"),
        (
            InvoiceIssued(
                invoice_id="INV-C",
                invoice_number="N-1",
                buyer_id="B1",
                issued_on=start,
                due_on=date(2024, 1, 31),
                amount=Money.of("10000.00", "EUR"),
                payment_terms_days=30,
            ),
            start,
        ),
        (
            DisputeRaised(
                dispute_id="D-1",
                invoice_id="INV-C",
                buyer_id="B1",
                disputed_amount=Money.of("2000.00", "EUR"),
                reason="damaged goods",
                raised_on=date(2024, 2, 10),
            ),
            date(2024, 2, 10),
        ),
        (
            CreditNoteIssued(
                credit_note_id="CN-1",
                invoice_id="INV-C",
                buyer_id="B1",
                amount=Money.of("2000.00", "EUR"),
                issued_on=date(2024, 3, 15),
            ),
            date(2024, 3, 15),
        ),
        (
            DisputeResolved(
                dispute_id="D-1",
                invoice_id="INV-C",
                buyer_id="B1",
                outcome="upheld",
                credit_note_id="CN-1",
                resolved_on=date(2024, 3, 15),
            ),
            date(2024, 3, 15),
        ),
    ]
    seen = await letters_and_ledger(
        stack,
        dunning,
        tenant,
        ledger_database,
        kafka_bootstrap,
        facts,
        (date(2024, 1, 31), date(2024, 3, 31)),
        "INV-C",
    )
    assert seen["agency_handover"] == (
        date(2024, 3, 31),
        (Decimal("8000.00"), Decimal("164.38"), Decimal(40)),
        (Decimal("8000.00"), Decimal("164.38"), Decimal(40)),
    )


async def test_letter_interest_equals_the_ledgers_interest_for_an_invoice_in_instalments(
    stack: Any, dunning: Any, tenant: str, ledger_database: str, kafka_bootstrap: str
) -> None:
    """3,000 EUR in instalments of 1,000 due 1 February, 1 March and 1 April 2024; 400 EUR paid on
    10 February naming no invoice (the ledger applies it to instalment 1). EU Directive, 12.50 %.

    First notice on 2 February: 1,000 x 12.50 % x 1/365 = 0.34 EUR.
    Formal notice on 2 March: instalment 1 bears 1,000 for 2-10 February (9 days) and 600 for
    11 February-2 March (21 days), instalment 2 1,000 for 1 day:
    0.125 x (9,000 + 12,600 + 1,000)/365 = 7.7397 -> 7.74 EUR; 40 EUR compensation. Each equal
    to the ledger's `/interest` answer that day."""
    start = date(2024, 1, 1)
    facts: list[tuple[Payload, date]] = [
        _buyer("NL", "en"),
        (
            InvoiceIssued(
                invoice_id="INV-1",
                invoice_number="INV-1",
                buyer_id="B1",
                issued_on=start,
                due_on=date(2024, 4, 1),
                amount=Money.of("3000.00", "EUR"),
                payment_terms_days=91,
                instalments=tuple(
                    Instalment(
                        seq=n, due_on=date(2024, n + 1, 1), amount=Money.of("1000.00", "EUR")
                    )
                    for n in (1, 2, 3)
                ),
            ),
            start,
        ),
        (
            PaymentReceived(
                payment_id="PAY-1",
                buyer_id="B1",
                amount=Money.of("400.00", "EUR"),
                received_on=date(2024, 2, 10),
            ),
            date(2024, 2, 10),
        ),
    ]
    # the ticks that matter: from the day before the first notice
    seen = await letters_and_ledger(
        stack,
        dunning,
        tenant,
        ledger_database,
        kafka_bootstrap,
        facts,
        (date(2024, 2, 1), date(2024, 3, 2)),
        "INV-1",
    )
    # (the first notice's principal is what was owed when its tick came, after the 10 February
    # payment published before the ticks; interest and compensation are the 2 February figures)
    on, letter, answer = seen["first_overdue_notice"]
    assert (on, letter[1:], answer[1:]) == (date(2024, 2, 2), *[(Decimal("0.34"), Decimal(40))] * 2)
    formal = (Decimal("2600.00"), Decimal("7.74"), Decimal(40))
    assert seen["formal_notice"] == (date(2024, 3, 2), formal, formal)
