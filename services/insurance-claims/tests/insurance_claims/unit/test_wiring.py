"""The wiring on the kernel with the in-memory state store (no database): public facts go through
the translation table, the business day through the day context and the decider, decisions out
through the public mapping, as the consumer drives them."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from arshield_events import insurance as public
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import InvoiceIssued
from arshield_events.money import Money
from arshield_events.risk import BuyerInsolvent
from arshield_insurance_claims.adapters.postgres import PORTS
from arshield_insurance_claims.adapters.public_events import publish
from arshield_insurance_claims.application.wiring import (
    DayContext,
    InsuranceKernel,
    aggregate_used,
    wiring,
)
from arshield_insurance_claims.domain.commands import AggregateBudget
from arshield_insurance_claims.domain.state import BuyerInsurance
from arshield_insurance_claims.settings import InsuranceClaimsSettings
from arshield_runtime.kernel import Kernel, run_batch
from arshield_runtime.statestore import InMemoryStateStore
from arshield_runtime.testing import kernel_broker

from .harness import D, policy

pytestmark = pytest.mark.unit

TENANT = "acme"
SOURCE = "arshield/insurance-claims"
POLICY = policy()


def kernel(store: InMemoryStateStore) -> InsuranceKernel:
    async def day_context(session: Any, tenant_id: str, day: date) -> DayContext:
        return DayContext({"POL-1": POLICY}, AggregateBudget({"POL-1": POLICY.aggregate_limit}))

    base = wiring(SOURCE, PORTS, read_models=(), publish=publish)
    return Kernel(dataclasses.replace(base, day_context=day_context), store)


def fact(data: Payload, on: date, source: str = "erp/test", id_: str | None = None) -> Any:
    return envelope(
        data,
        id=id_ or str(uuid.uuid4()),
        source=source,
        subject=getattr(data, "buyer_id", TENANT),
        tenantid=TENANT,
        time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


def tick(on: date) -> CloudEvent[Any]:
    return envelope(
        BusinessDayStarted(business_date=on),
        id=f"tick-{on}",
        source="arshield/clock",
        subject=TENANT,
        tenantid=TENANT,
        time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


def cover_changed() -> public.CoverChanged:
    return public.CoverChanged(
        insurance_policy_id="POL-1",
        buyer_id="B1",
        change="granted",
        decided_by="insurer",
        cover=Money.of("8000.00", "EUR"),
        notified_on=date(2025, 1, 2),
        effective_on=date(2025, 1, 2),
        decision_id="DEC-1",
        decision="full",
    )


def issued(invoice_id: str, amount: str, due_on: date) -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=invoice_id,
        invoice_number=invoice_id,
        buyer_id="B1",
        issued_on=due_on - timedelta(days=60),
        due_on=due_on,
        amount=Money.of(amount, "EUR"),
        payment_terms_days=60,
    )


def state(store: InMemoryStateStore) -> BuyerInsurance:
    return BuyerInsurance.model_validate_json(store.states[(TENANT, "B1")][0])


async def history(store: InMemoryStateStore) -> list[CloudEvent[Any]]:
    k = kernel(store)
    out: list[CloudEvent[Any]] = []
    # a cover decision read back from the service's own topic (as a rebuild does)
    out += await run_batch(k, [fact(cover_changed(), date(2025, 1, 2), SOURCE, "cover-1")])
    out += await run_batch(k, [fact(issued("A", "6000.00", D), D - timedelta(days=60))])
    out += await run_batch(k, [tick(D + timedelta(days=1))])
    insolvent = BuyerInsolvent(buyer_id="B1", source="manual", insolvent_on=D + timedelta(days=5))
    out += await run_batch(k, [fact(insolvent, D + timedelta(days=5), "arshield/risk-monitor")])
    out += await run_batch(k, [tick(D + timedelta(days=6))])
    return out


async def test_an_insolvency_through_the_kernel_is_notified_stopped_and_claimed() -> None:
    store = InMemoryStateStore()
    emitted = await history(store)
    assert [e.type for e in emitted] == [
        "arshield.insurance.StopSupplyRequired.v1",
        "arshield.insurance.OverdueNotifiedToInsurer.v1",
        "arshield.insurance.ClaimFiled.v1",
    ]
    claim = emitted[-1].data
    assert claim.claimed_indemnity == Money.of("5400.00", "EUR")
    assert claim.date_of_loss == D + timedelta(days=5)
    assert claim.filed_on == D + timedelta(days=6)
    assert {e.subject for e in emitted} == {"B1"}
    assert store.states[(TENANT, "B1")][1] is None  # claimed: nothing more to wake for


async def test_the_same_log_emits_the_same_events() -> None:
    first, second = await history(InMemoryStateStore()), await history(InMemoryStateStore())
    assert [e.id for e in first] == [e.id for e in second]


async def test_a_decision_read_back_is_restored_once_and_anothers_is_ignored() -> None:
    store = InMemoryStateStore()
    k = kernel(store)
    restored = await run_batch(k, [fact(cover_changed(), date(2025, 1, 2), SOURCE, "cover-1")])
    assert restored == []  # restored, not published again
    before = state(store)
    assert len(before.covers) == 1
    assert before.covers[0].amount == Decimal(8000)
    again = await run_batch(k, [fact(cover_changed(), date(2025, 1, 2), SOURCE, "cover-2")])
    foreign = await run_batch(k, [fact(cover_changed(), date(2025, 1, 2), "arshield/other")])
    assert again == foreign == []
    assert state(store) == before


async def test_the_subscriber_hands_its_topics_facts_to_the_kernel() -> None:
    """Through FastStream's TestKafkaBroker, on the topics the service subscribes to: its own
    cover decision, the ERP's invoice, risk-monitor's insolvency and the clock's ticks reach the
    wiring as they do from Kafka, and the same claim comes out."""
    insolvent = BuyerInsolvent(buyer_id="B1", source="manual", insolvent_on=D + timedelta(days=5))
    async with kernel_broker(
        kernel(InMemoryStateStore()), InsuranceClaimsSettings().topics
    ) as broker:
        emitted = await broker.send(
            fact(cover_changed(), date(2025, 1, 2), SOURCE, "cover-1"),
            fact(issued("A", "6000.00", D), D - timedelta(days=60)),
            tick(D + timedelta(days=1)),
            fact(insolvent, D + timedelta(days=5), "arshield/risk-monitor"),
            tick(D + timedelta(days=6)),
        )
    assert [e.id for e in emitted] == [e.id for e in await history(InMemoryStateStore())]
    assert emitted[-1].data.claimed_indemnity == Money.of("5400.00", "EUR")


async def test_a_business_day_is_left_what_each_policy_year_has_not_claimed() -> None:
    """Through the read models' port: each policy's aggregate limit less what was claimed under
    it since the start of the policy year the day falls in (the last anniversary of its period
    start on or before the day)."""
    asked: list[tuple[str, str, date]] = []

    class Claimed:
        async def claimed_since(
            self, session: Any, tenant_id: str, policy_id: str, since: date
        ) -> Decimal:
            asked.append((tenant_id, policy_id, since))
            return {"POL-1": Decimal("250000.00"), "POL-2": Decimal(0)}[policy_id]

    mid_year = policy(
        policy_id="POL-2", aggregate_limit=Decimal("500000"), period_start_on=date(2024, 7, 1)
    )
    policies = {"POL-1": POLICY, "POL-2": mid_year}
    session, claimed = cast(Any, None), cast(Any, Claimed())  # all the port the day needs
    budget = await aggregate_used(session, claimed, TENANT, policies, date(2025, 3, 10))
    # 1,000,000 - 250,000 since 2025-01-01; 500,000 - 0 since 2024-07-01 (2025-07-01 is to come)
    assert budget.remaining == {"POL-1": Decimal("750000.00"), "POL-2": Decimal("500000")}
    assert asked == [(TENANT, "POL-1", date(2025, 1, 1)), (TENANT, "POL-2", date(2024, 7, 1))]
