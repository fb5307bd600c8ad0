"""The ledger's wiring run by the kernel on the in-memory state store (no database, no broker):
facts become commands, decisions become states, read-model changes and public events, and the
business-day tick wakes exactly the buyers with an overdue announcement due."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import Payload, envelope
from arshield_events.erp import InvoiceIssued, PaymentReceived, TenantProfiled
from arshield_events.ledger import InvoiceBalanceChanged, PaymentOverdue
from arshield_events.money import Money
from arshield_ledger.adapters.public_events import publish
from arshield_ledger.application.wiring import STATE, wiring
from arshield_ledger.settings import LedgerSettings
from arshield_runtime.kernel import Kernel, run_batch
from arshield_runtime.messaging import Rejected
from arshield_runtime.statestore import InMemoryStateStore
from arshield_runtime.testing import kernel_broker

pytestmark = pytest.mark.unit


def fact(data: Payload, tenant: str = "acme") -> Any:
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source="erp/test",
        subject=getattr(data, "buyer_id", tenant),
        tenantid=tenant,
        time=datetime(2025, 1, 2, 9, tzinfo=UTC),
    )


def issued(invoice_id: str, buyer: str, amount: str, due_on: date) -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=invoice_id,
        invoice_number=f"N-{invoice_id}",
        buyer_id=buyer,
        amount=Money(amount=Decimal(amount), currency="EUR"),
        issued_on=date(2025, 1, 1),
        due_on=due_on,
        payment_terms_days=30,
    )


def paid(payment_id: str, buyer: str, amount: str, on: date, invoice_id: str) -> PaymentReceived:
    return PaymentReceived.model_validate(
        {
            "payment_id": payment_id,
            "buyer_id": buyer,
            "amount": {"amount": amount, "currency": "EUR"},
            "received_on": on,
            "allocations": [
                {"invoice_id": invoice_id, "amount": {"amount": amount, "currency": "EUR"}}
            ],
        }
    )


def tick(day: date, tenant: str = "acme") -> Any:
    return fact(BusinessDayStarted(business_date=day), tenant)


class Recorder:
    """Stands in for the projections: remembers the changes the kernel hands them."""

    tables = ("recorded",)

    def __init__(self) -> None:
        self.changes: list[Any] = []

    async def apply(self, session: Any, changes: Any) -> None:
        self.changes.extend(changes)


def kernel_on(store: InMemoryStateStore, recorder: Recorder) -> Kernel[Any, Any, Any]:
    # The read models are the database's; a unit test records what they would be given.
    return Kernel(wiring((recorder,), publish), store)


async def test_facts_and_ticks_through_the_kernel() -> None:
    store, recorder = InMemoryStateStore(), Recorder()
    kernel = kernel_on(store, recorder)
    out = await run_batch(
        kernel,
        [
            fact(issued("i-1", "b-1", "100.00", date(2025, 1, 31))),
            fact(issued("i-2", "b-2", "50.00", date(2025, 2, 28))),
            fact(paid("p-1", "b-2", "50.00", date(2025, 2, 10), "i-2")),
        ],
    )
    assert [(e.type.rsplit(".", 2)[1], e.subject) for e in out] == [
        ("InvoiceBalanceChanged", "b-1"),
        ("InvoiceBalanceChanged", "b-2"),
        ("InvoiceBalanceChanged", "b-2"),
        ("InvoiceSettled", "b-2"),
    ]
    state = STATE.validate_json(store.states[("acme", "b-1")][0])
    assert state.invoices["i-1"].outstanding == Decimal("100.00")
    # b-1 wakes the day after its due date; b-2 owes nothing and never wakes.
    assert store.states[("acme", "b-1")][1] == date(2025, 2, 1)
    assert store.states[("acme", "b-2")][1] is None
    assert len(recorder.changes) == 3

    assert await run_batch(kernel, [tick(date(2025, 1, 31))]) == []
    overdue = await run_batch(kernel, [tick(date(2025, 2, 1))])
    assert [(e.data.invoice_id, e.data.bucket, e.data.days_overdue) for e in overdue[1:]] == [
        ("i-1", "1-30", 1)
    ]
    assert overdue[0].data.status == "overdue"
    assert store.states[("acme", "b-1")][1] == date(2025, 3, 3)  # 31 days past due: 31-60
    assert await store.business_date(None, "acme") == date(2025, 2, 1)


async def test_the_same_facts_decide_the_same_event_ids() -> None:
    facts = [fact(issued("i-1", "b-1", "100.00", date(2025, 1, 31)))]
    ticks = [tick(date(2025, 3, 5))]
    ids = []
    for _ in range(2):
        kernel = kernel_on(InMemoryStateStore(), Recorder())
        await run_batch(kernel, facts)
        ids.append([e.id for e in await run_batch(kernel, ticks)])
    assert ids[0] == ids[1]
    assert len(ids[0]) == 2  # the balance (overdue) and the announcement in 31-60


async def test_a_refused_fact_is_rejected_with_the_reason_and_changes_nothing() -> None:
    store = InMemoryStateStore()
    kernel = kernel_on(store, Recorder())
    await run_batch(kernel, [fact(issued("i-1", "b-1", "100.00", date(2025, 1, 31)))])
    before = dict(store.states)
    with pytest.raises(Rejected, match="different content"):
        await run_batch(kernel, [fact(issued("i-1", "b-1", "101.00", date(2025, 1, 31)))])
    assert store.states == before


async def test_the_ledgers_subscriber_hands_its_topics_facts_to_the_kernel() -> None:
    """Through FastStream's TestKafkaBroker, on the topics the ledger subscribes to: facts on
    `arshield.erp` and the clock's ticks reach the wiring as they do from Kafka."""
    store = InMemoryStateStore()
    kernel = kernel_on(store, Recorder())
    async with kernel_broker(kernel, LedgerSettings().topics) as broker:
        balances = await broker.send(
            fact(issued("i-1", "b-1", "100.00", date(2025, 1, 31))),
            fact(paid("p-1", "b-1", "40.00", date(2025, 1, 20), "i-1")),
        )
        overdue = await broker.send(tick(date(2025, 2, 1)))
    assert [(e.data.invoice_id, e.data.outstanding.amount) for e in balances] == [
        ("i-1", Decimal("100.00")),
        ("i-1", Decimal("60.00")),
    ]
    assert [e.type for e in overdue] == [
        "arshield.ledger.InvoiceBalanceChanged.v1",
        "arshield.ledger.PaymentOverdue.v1",
    ]
    assert await store.business_date(None, "acme") == date(2025, 2, 1)


async def test_the_tenants_law_splits_a_partial_payment_and_the_public_events_agree() -> None:
    """An invoice without contract terms follows the tenant's profile (DE, read by the wiring and
    passed to the decider): BGB § 367 sends 40 EUR and 10,000 x 11.27 % x 30/365 = 92.63 of a
    5,000 payment on 2025-03-02 to costs and interest, so the balance published is 5,132.63, and
    so is the overdue announcement of the next tick (31 days past due: 31-60)."""
    store, recorder = InMemoryStateStore(), Recorder()
    kernel = Kernel(wiring((recorder,), publish, store=store), store)
    profile = TenantProfiled(jurisdiction="DE", effective_on=date(2025, 1, 1))
    invoice = issued("i-1", "b-1", "10000.00", date(2025, 1, 31))
    out = await run_batch(
        kernel,
        [
            fact(profile),
            fact(invoice),
            fact(paid("p-1", "b-1", "5000.00", date(2025, 3, 2), "i-1")),
            tick(date(2025, 3, 3)),
        ],
    )
    balances = [
        (e.data.outstanding.amount, e.data.status)
        for e in out
        if isinstance(e.data, InvoiceBalanceChanged)
    ]
    assert balances[-2:] == [
        (Decimal("5132.63"), "partially_paid"),
        (Decimal("5132.63"), "overdue"),
    ]
    [overdue] = [e.data for e in out if isinstance(e.data, PaymentOverdue)]
    assert (overdue.outstanding.amount, overdue.bucket) == (Decimal("5132.63"), "31-60")
    state = STATE.validate_json(store.states[("acme", "b-1")][0])
    assert (state.tenant_jurisdiction, state.invoices["i-1"].interest_paid) == (
        "DE",
        Decimal("92.63"),
    )
