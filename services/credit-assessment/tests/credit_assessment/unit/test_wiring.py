"""The wiring on the kernel, without a database: public facts in, public credit events out."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from arshield_credit_assessment.application.wiring import DayContext, wiring
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY
from arshield_credit_assessment.settings import CreditSettings
from arshield_events import credit, erp, risk
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.money import Money
from arshield_runtime.kernel import Kernel, run_batch
from arshield_runtime.statestore import InMemoryStateStore
from arshield_runtime.testing import kernel_broker

from .factories import REVIEWER

pytestmark = pytest.mark.unit

DAY = date(2024, 3, 1)


def ev(data: Payload, subject: str = "b1") -> CloudEvent[Any]:
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source="erp/test",
        subject="t1" if data.tenant_keyed else subject,
        tenantid="t1",
        time=datetime(2024, 3, 1, 9, tzinfo=UTC),
    )


def credit_kernel() -> Kernel[Any, Any, Any]:
    """The wiring without a database: no read models, the default policy in force."""
    credit_wiring = wiring(REVIEWER, source="arshield/credit-assessment")

    async def default_policy(session: Any, tenant_id: str, day: date) -> DayContext:
        return DayContext(DEFAULT_POLICY, None)

    return Kernel(
        dataclasses.replace(credit_wiring, projections=(), day_context=default_policy),
        InMemoryStateStore(),
    )


def downgrade_history() -> list[CloudEvent[Any]]:
    return [
        ev(
            erp.BuyerRegistered(
                buyer_id="b1",
                legal_name="B",
                country="DE",
                segment="core",
                preferred_language="de",
                registered_on=DAY,
            )
        ),
        ev(BusinessDayStarted(business_date=DAY)),
        ev(
            risk.BuyerDowngraded(
                buyer_id="b1",
                from_grade=5,
                to_grade=7,
                reasons=("late",),
                policy_version="sc-1",
                downgraded_on=DAY,
            )
        ),
        ev(
            erp.OrderPlaced(
                order_id="o1", buyer_id="b1", amount=Money.of("12000", "EUR"), placed_on=DAY
            )
        ),
    ]


async def test_a_downgrade_publishes_the_cut_and_the_next_order_above_it_is_declined() -> None:
    out = await run_batch(credit_kernel(), downgrade_history())
    limits = [e.data for e in out if isinstance(e.data, credit.CreditLimitChanged)]
    assert [(x.previous_limit, x.new_limit.amount) for x in limits] == [
        (None, 50_000),
        (Money.of("50000", "EUR"), 10_000),
    ]
    terms = [e.data for e in out if isinstance(e.data, credit.CreditTermsChanged)]
    assert [(t.payment_terms_days, t.security) for t in terms] == [
        (45, "open_account"),
        (30, "letter_of_credit"),
    ]
    (decision,) = [e.data for e in out if isinstance(e.data, credit.CreditDecisionMade)]
    assert decision.decision == "declined"
    assert decision.reason_codes[0] == "over_limit"
    assert decision.credit_limit == Money.of("10000", "EUR")


async def test_the_subscriber_hands_its_topics_facts_to_the_kernel() -> None:
    """Through FastStream's TestKafkaBroker, on the topics the service subscribes to: the ERP's
    facts, the clock's tick and risk-monitor's downgrade reach the wiring as from Kafka."""
    async with kernel_broker(credit_kernel(), CreditSettings().topics) as broker:
        out = await broker.send(*downgrade_history())
    direct = await run_batch(credit_kernel(), downgrade_history())
    assert [e.type for e in out] == [e.type for e in direct]
    assert len(out) == 5
    (decision,) = [e.data for e in out if isinstance(e.data, credit.CreditDecisionMade)]
    assert decision.decision == "declined"
