"""Dunning's wiring on the kernel, on the in-memory state store (no database): facts and ticks go
through the translation table, the decider, the wake-ups and the public mapping, the way the
runtime's consumer drives them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from arshield_dunning.adapters import queries
from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.adapters.public_events import publish
from arshield_dunning.application.wiring import DayContext, DunningKernel, wiring
from arshield_dunning.domain.policy import Policy, Segment
from arshield_dunning.domain.state import BuyerDunning
from arshield_dunning.settings import DunningSettings
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import BuyerRegistered, InvoiceIssued, PaymentReceived
from arshield_events.money import Money
from arshield_latepay import ReferenceRates
from arshield_runtime.kernel import Kernel, run_batch
from arshield_runtime.statestore import InMemoryStateStore
from arshield_runtime.testing import kernel_broker

pytestmark = pytest.mark.unit

TENANT = "acme"
CLAIMS = LatepayClaims(ReferenceRates.shipped(), tenant_jurisdiction="EU")


def dunning_kernel(store: InMemoryStateStore) -> DunningKernel:
    base = wiring(
        CLAIMS, source="arshield/dunning", read_models=(), publish=publish, queries=queries
    )

    async def day_context(session: Any, tenant_id: str, day: date) -> DayContext:
        # the policies a tenant never wrote: the built-in defaults
        return DayContext({s: Policy.default(s) for s in Segment}, CLAIMS, None)

    # no database: no projections, the configuration in force from memory
    from dataclasses import replace

    return Kernel(replace(base, projections=(), day_context=day_context), store)


def fact(data: Payload, on: date) -> CloudEvent[Any]:
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source="erp/test",
        subject=getattr(data, "buyer_id", TENANT),
        tenantid=TENANT,
        time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


def tick(day: date) -> CloudEvent[Any]:
    return envelope(
        BusinessDayStarted(business_date=day),
        id=f"tick-{TENANT}-{day}",
        source="arshield/clock",
        subject=TENANT,
        tenantid=TENANT,
        time=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
    )


def state(store: InMemoryStateStore, buyer: str) -> BuyerDunning:
    return BuyerDunning.model_validate_json(store.states[(TENANT, buyer)][0])


async def test_facts_and_ticks_run_the_timeline_through_the_kernel() -> None:
    store = InMemoryStateStore()
    kernel = dunning_kernel(store)
    start, due = date(2024, 1, 2), date(2024, 2, 1)
    registered = BuyerRegistered(
        buyer_id="B1",
        legal_name="Kern AG",
        country="DE",
        segment="standard",
        preferred_language="en",
        registered_on=start,
    )
    issued = InvoiceIssued(
        invoice_id="INV-1",
        invoice_number="INV-1",
        buyer_id="B1",
        issued_on=start,
        due_on=due,
        amount=Money.of("1200.00", "EUR"),
        payment_terms_days=30,
    )
    assert await run_batch(kernel, [fact(registered, start), fact(issued, start)]) == []
    # a new invoice: not yet on a known policy, so the next tick looks at the buyer
    assert store.states[(TENANT, "B1")][1] == date.min

    first = await run_batch(kernel, [tick(start)])
    assert first == []  # nothing due yet; the tick records the policy and plans the reminder
    assert state(store, "B1").policy == Policy.default(Segment.STANDARD)
    assert store.states[(TENANT, "B1")][1] == date(2024, 1, 17)  # due - 15

    # days with nothing due do not even load the buyer: the reminder comes on its day
    assert await run_batch(kernel, [tick(date(2024, 1, 16))]) == []
    reminder = await run_batch(kernel, [tick(date(2024, 1, 17))])
    assert [(e.type, e.subject, e.data.sent_on) for e in reminder] == [
        ("arshield.dunning.PaymentReminderSent.v1", "B1", date(2024, 1, 17))
    ]
    overdue = await run_batch(kernel, [tick(date(2024, 2, 2))])
    assert [(e.data.level, e.data.reached_on) for e in overdue] == [
        ("first_overdue_notice", date(2024, 2, 2))
    ]

    # paid in full: nothing is scheduled any more, and later ticks decide nothing
    paid = PaymentReceived(
        payment_id="P1",
        buyer_id="B1",
        amount=Money.of("1200.00", "EUR"),
        received_on=date(2024, 2, 10),
        allocations=[{"invoice_id": "INV-1", "amount": Money.of("1200.00", "EUR")}],  # type: ignore[list-item]
    )
    assert await run_batch(kernel, [fact(paid, date(2024, 2, 10))]) == []
    assert store.states[(TENANT, "B1")][1] is None
    assert await run_batch(kernel, [tick(date(2024, 3, 5))]) == []
    assert await store.business_date(None, TENANT) == date(2024, 3, 5)


async def test_the_same_history_emits_the_same_events() -> None:
    """Event ids derive from the cause: two kernels fed the same log emit identical events."""
    start, due = date(2024, 1, 2), date(2024, 1, 10)
    issued = InvoiceIssued(
        invoice_id="INV-2",
        invoice_number="INV-2",
        buyer_id="B2",
        issued_on=start,
        due_on=due,
        amount=Money.of("50.00", "EUR"),
        payment_terms_days=8,
    )
    log = [fact(issued, start), tick(date(2024, 1, 11))]
    runs = []
    for _ in range(2):
        kernel = dunning_kernel(InMemoryStateStore())
        runs.append([e for event in log for e in await run_batch(kernel, [event])])
    assert [e.id for e in runs[0]] == [e.id for e in runs[1]]
    assert [e.type for e in runs[0]] == ["arshield.dunning.DunningLevelReached.v1"]


async def test_a_policy_written_on_the_log_governs_from_its_effective_date() -> None:
    """Configuration on the log: a standard policy v1 (formal notice at due + 10) read back from
    dunning's own topic on 4 Feb, in force from 5 Feb. The invoice due 31 Jan got its first notice
    on 1 Feb under v0; on 10 Feb it reaches the formal notice under v1 (not on 1 Mar under v0),
    although under v0 the buyer slept until 1 Mar: the kernel woke every buyer on 5 Feb."""
    from dataclasses import replace

    from arshield_dunning.application.wiring import policies_from
    from arshield_events.dunning import DunningPolicyWritten

    store = InMemoryStateStore()
    base = wiring(
        CLAIMS,
        source="arshield/dunning",
        read_models=(),
        publish=publish,
        queries=queries,
        store=store,
    )

    async def day_context(session: Any, tenant_id: str, day: date) -> DayContext:
        return DayContext(await policies_from(store, session, tenant_id, day), CLAIMS, None)

    kernel = Kernel(replace(base, projections=(), day_context=day_context), store)
    issued = InvoiceIssued(
        invoice_id="I1",
        invoice_number="I1",
        buyer_id="B1",
        issued_on=date(2024, 1, 1),
        due_on=date(2024, 1, 31),
        amount=Money(amount="1000.00", currency="EUR"),  # type: ignore[arg-type]
        payment_terms_days=30,
    )
    rules = {
        "escalation": [
            {"action": "first_overdue_notice", "days_after_due": 1},
            {"action": "formal_notice", "days_after_due": 10},
            {"action": "agency_handover", "days_after_due": 60},
        ]
    }
    written = envelope(
        DunningPolicyWritten(
            segment="standard", version=1, rules=rules, effective_on=date(2024, 2, 5)
        ),
        id="policy-1",
        source="arshield/dunning",
        subject=TENANT,
        tenantid=TENANT,
        time=datetime(2024, 2, 4, tzinfo=UTC),
    )
    forged = envelope(  # the same event from another source changes nothing
        DunningPolicyWritten(
            segment="standard", version=9, rules={}, effective_on=date(2024, 2, 5)
        ),
        id="policy-9",
        source="erp/test",
        subject=TENANT,
        tenantid=TENANT,
        time=datetime(2024, 2, 4, tzinfo=UTC),
    )
    emitted = list(await run_batch(kernel, [fact(issued, date(2024, 1, 1))]))
    day = date(2024, 1, 2)
    while day <= date(2024, 2, 12):
        if day == date(2024, 2, 5):
            await run_batch(kernel, [written, forged])
        emitted += await run_batch(kernel, [tick(day)])
        day = day.fromordinal(day.toordinal() + 1)
    levels = [
        (e.data.level, e.data.reached_on, e.data.policy_version)
        for e in emitted
        if e.type == "arshield.dunning.DunningLevelReached.v1"
    ]
    assert levels == [
        ("first_overdue_notice", date(2024, 2, 1), "standard.v0"),
        ("formal_notice", date(2024, 2, 10), "standard.v1"),
    ]


async def test_a_disputed_invoice_flagged_overdue_by_the_ledger_stays_paused() -> None:
    """The ledger announces a disputed invoice overdue too (flagged, for the insurer); dunning's
    timeline pauses on the dispute by its own rule and takes nothing from the announcement."""
    from arshield_events.erp import DisputeRaised
    from arshield_events.ledger import PaymentOverdue

    store = InMemoryStateStore()
    kernel = dunning_kernel(store)
    start, due = date(2024, 1, 2), date(2024, 2, 1)
    issued = InvoiceIssued(
        invoice_id="INV-D",
        invoice_number="INV-D",
        buyer_id="B3",
        issued_on=start,
        due_on=due,
        amount=Money.of("900.00", "EUR"),
        payment_terms_days=30,
    )
    raised = DisputeRaised(
        dispute_id="D1",
        invoice_id="INV-D",
        buyer_id="B3",
        disputed_amount=Money.of("900.00", "EUR"),
        reason="damaged goods",
        raised_on=date(2024, 1, 20),
    )
    await run_batch(kernel, [fact(issued, start), tick(start)])
    await run_batch(kernel, [fact(raised, date(2024, 1, 20))])
    before = state(store, "B3")
    flagged = PaymentOverdue(
        invoice_id="INV-D",
        buyer_id="B3",
        due_on=due,
        outstanding=Money.of("900.00", "EUR"),
        days_overdue=1,
        bucket="1-30",
        as_of=date(2024, 2, 2),
        disputed=True,
    )
    assert PaymentOverdue not in kernel.wiring.translate
    assert await run_batch(kernel, [fact(flagged, date(2024, 2, 2))]) == []
    assert state(store, "B3") == before
    # the dispute pauses the timeline: no overdue notice for the disputed invoice
    later = await run_batch(kernel, [tick(date(2024, 2, 2)), tick(date(2024, 3, 5))])
    assert [e for e in later if getattr(e.data, "invoice_id", None) == "INV-D"] == []


async def test_dunnings_subscriber_hands_its_topics_facts_to_the_kernel() -> None:
    """Through FastStream's TestKafkaBroker, on the topics dunning subscribes to: the ERP's facts
    and the clock's ticks reach the wiring as they do from Kafka."""
    store = InMemoryStateStore()
    start = date(2024, 1, 2)
    issued = InvoiceIssued(
        invoice_id="INV-1",
        invoice_number="INV-1",
        buyer_id="B1",
        issued_on=start,
        due_on=date(2024, 2, 1),
        amount=Money.of("1200.00", "EUR"),
        payment_terms_days=30,
    )
    async with kernel_broker(dunning_kernel(store), DunningSettings().topics) as broker:
        assert await broker.send(fact(issued, start), tick(start)) == []
        reminder = await broker.send(tick(date(2024, 1, 17)))
    assert [(e.type, e.subject) for e in reminder] == [
        ("arshield.dunning.PaymentReminderSent.v1", "B1")
    ]


def test_instalments_disputed_amounts_and_cash_on_account_reach_the_commands() -> None:
    """The ERP's instalments and disputed amount, what a payment names no invoice for, and the
    ledger's cash left on account are translated, so dunning can pursue per instalment, only the
    undisputed part, and net the cash in its letters."""
    from decimal import Decimal

    from arshield_dunning.application.wiring import (
        dispute_raised,
        invoice_issued,
        payment_received,
        payment_unapplied,
    )
    from arshield_dunning.domain.commands import (
        ApplyPayment,
        NoteCashOnAccount,
        NoteUnnamedPayment,
        RaiseDispute,
        TrackInvoice,
    )
    from arshield_events.erp import Allocation, DisputeRaised, Instalment
    from arshield_events.ledger import PaymentUnapplied

    day = date(2024, 1, 1)
    issued = InvoiceIssued(
        invoice_id="i1",
        invoice_number="N1",
        buyer_id="b1",
        issued_on=day,
        due_on=date(2024, 3, 1),
        amount=Money.of("300.00", "EUR"),
        payment_terms_days=60,
        instalments=(
            Instalment(seq=1, due_on=date(2024, 2, 1), amount=Money.of("100.00", "EUR")),
            Instalment(seq=2, due_on=date(2024, 3, 1), amount=Money.of("200.00", "EUR")),
        ),
    )
    ((_, track),) = invoice_issued(fact(issued, day))
    assert isinstance(track, TrackInvoice)
    assert [(p.seq, p.due_on, p.amount) for p in track.instalments] == [
        (1, date(2024, 2, 1), Decimal("100.00")),
        (2, date(2024, 3, 1), Decimal("200.00")),
    ]
    raised = DisputeRaised(
        dispute_id="d1",
        invoice_id="i1",
        buyer_id="b1",
        disputed_amount=Money.of("40.00", "EUR"),
        reason="short delivery",
        raised_on=day,
    )
    ((_, dispute),) = dispute_raised(fact(raised, day))
    assert isinstance(dispute, RaiseDispute)
    assert dispute.amount == Decimal("40.00")
    paid = PaymentReceived(
        payment_id="p1",
        buyer_id="b1",
        amount=Money.of("150.00", "EUR"),
        received_on=day,
        allocations=(Allocation(invoice_id="i1", amount=Money.of("100.00", "EUR")),),
    )
    (_, unnamed), (_, named) = payment_received(fact(paid, day))
    assert isinstance(unnamed, NoteUnnamedPayment)
    assert unnamed.amount.amount == Decimal("50.00")
    assert isinstance(named, ApplyPayment)
    left = PaymentUnapplied(
        payment_id="p1", buyer_id="b1", unapplied=Money.of("50.00", "EUR"), received_on=day
    )
    ((_, cash),) = payment_unapplied(fact(left, day))
    assert isinstance(cash, NoteCashOnAccount)
    assert cash.amount.amount == Decimal("50.00")
