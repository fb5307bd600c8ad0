"""The wiring on the kernel, without a database: public facts in, public credit events out."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from arshield_credit_assessment.adapters import public_events
from arshield_credit_assessment.application.wiring import CreditKernel, DayContext, kernel, wiring
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
SOURCE = "arshield/credit-assessment"


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
    store = InMemoryStateStore()
    credit_wiring = wiring(
        REVIEWER, source=SOURCE, store=store, read_models=(), public=public_events
    )

    async def default_policy(session: Any, tenant_id: str, day: date) -> DayContext:
        return DayContext(DEFAULT_POLICY, None)

    return Kernel(dataclasses.replace(credit_wiring, day_context=default_policy), store)


def kernel_without_read_models() -> CreditKernel:
    """The kernel as the service wires it, on an in-memory store and without read models."""
    return kernel(
        REVIEWER, InMemoryStateStore(), source=SOURCE, read_models=(), public=public_events
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


def band(
    low: int, high: int, terms: int, security: str, share: str, cap: str, appetite: str
) -> Any:
    return {
        "from_grade": low,
        "to_grade": high,
        "max_terms_days": terms,
        "security": security,
        **({"secured_above_percent": "50"} if security == "letter_of_credit" else {}),
        "capacity_percent_of_equity": share,
        "grade_cap": cap,
        "uninsured_appetite": appetite,
        "review_months": 12,
    }


def version_1(published_on: date) -> CloudEvent[Any]:
    """Version 1: grades 4-6 get an uninsured appetite of 20,000 (the default's is 50,000)."""
    data = credit.CreditPolicyPublished.model_validate(
        {
            "version": 1,
            "policy_version": "credit-v1",
            "currency": "EUR",
            "bands": [
                band(1, 3, 60, "open_account", "15", "500000", "100000"),
                band(4, 6, 45, "open_account", "10", "200000", "20000"),
                band(7, 8, 30, "letter_of_credit", "5", "50000", "10000"),
                band(9, 10, 0, "prepayment", "0", "0", "0"),
            ],
            "hold_overdue_days": 30,
            "referral_tolerance_percent": "110",
            "unrated_grade": 5,
            "published_by": "admin",
            "published_on": published_on,
            "effective_on": published_on + timedelta(days=1),
        }
    )
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source=SOURCE,
        subject="t1",
        tenantid="t1",
        time=datetime(2024, 3, 1, 9, tzinfo=UTC),
    )


def registered(buyer: str, on: date) -> CloudEvent[Any]:
    return ev(
        erp.BuyerRegistered(
            buyer_id=buyer,
            legal_name="B",
            country="DE",
            segment="core",
            preferred_language="de",
            registered_on=on,
        ),
        subject=buyer,
    )


async def test_a_buyer_first_seen_after_the_days_tick_is_limited_under_the_version_in_force() -> (
    None
):
    """Version 1 is in force from day 2; b2 registers after day 2's tick, so no day command
    reaches it before day 3: it is still limited under version 1 (unrated grade 5: min(cap
    200,000, 0 cover + appetite 20,000) = 20,000), not the built-in default's 50,000. b1, seen
    before any tick and any version, has the default's 50,000 until day 2 brings version 1."""
    k = kernel_without_read_models()
    day2 = DAY + timedelta(days=1)
    out = await run_batch(
        k,
        [
            registered("b1", DAY),
            ev(BusinessDayStarted(business_date=DAY)),
            version_1(DAY),
            ev(BusinessDayStarted(business_date=day2)),
            registered("b2", day2),
        ],
    )
    limits = [
        (e.data.buyer_id, e.data.new_limit.amount, e.data.policy_version)
        for e in out
        if isinstance(e.data, credit.CreditLimitChanged)
    ]
    assert limits == [
        ("b1", 50_000, "credit-v0"),
        ("b1", 20_000, "credit-v1"),
        ("b2", 20_000, "credit-v1"),
    ]


async def test_before_the_first_tick_a_buyer_adopts_the_first_version_recorded() -> None:
    k = kernel_without_read_models()
    out = await run_batch(k, [version_1(DAY), registered("b1", DAY)])
    (limit,) = [e.data for e in out if isinstance(e.data, credit.CreditLimitChanged)]
    assert (limit.new_limit.amount, limit.policy_version) == (20_000, "credit-v1")
