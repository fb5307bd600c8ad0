"""risk-monitor's Kafka wiring under FastStream's TestKafkaBroker, on the topics it subscribes to
and with its own router (the insolvency notice's handler added to the kernel's): the ERP's facts,
the external feed and the clock's ticks reach the service as they do from Kafka."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from arshield_events.clock import BusinessDayStarted
from arshield_events.erp import BuyerRegistered
from arshield_events.external import InsolvencyNoticePublished
from arshield_risk_monitor.adapters.public_events import publish_with
from arshield_risk_monitor.application.wiring import router, wiring
from arshield_risk_monitor.domain.scorecard import Scorecard
from arshield_risk_monitor.settings import RiskMonitorSettings
from arshield_runtime.kernel import Kernel, run_batch
from arshield_runtime.statestore import InMemoryStateStore
from arshield_runtime.testing import kernel_broker

pytestmark = pytest.mark.unit

DAY = date(2026, 3, 2)


def kernel_on(
    scorecards: Mapping[str, Scorecard], store: InMemoryStateStore
) -> Kernel[Any, Any, Any]:
    base = wiring(
        scorecards,
        "test-1",
        source="arshield/risk-monitor",
        store=store,
        read_models=lambda labels: (),
        publish=publish_with,
    )
    return Kernel(replace(base, projections=()), store)


REGISTERED = BuyerRegistered(
    buyer_id="b1",
    legal_name="Kern AG",
    country="DE",
    segment="standard",
    preferred_language="de",
    registered_on=DAY,
)
NOTICE = InsolvencyNoticePublished(
    buyer_id="b1",
    published_on=DAY,
    provider_id="court-register",
    proceeding="proceedings_opened",
    notice_ref="IN-1/26",
)


async def test_an_insolvency_notice_on_the_external_feed_reaches_the_service(
    scorecards: Mapping[str, Scorecard], ev: Any
) -> None:
    kernel = kernel_on(scorecards, InMemoryStateStore())
    topics = RiskMonitorSettings().topics
    async with kernel_broker(kernel, topics, router(kernel)) as broker:
        await broker.send(ev(BusinessDayStarted(business_date=DAY), source="arshield/clock"))
        await broker.send(ev(REGISTERED))
        out = await broker.send(ev(NOTICE, source="feeds/test"))
    assert [e.type for e in out][:1] == ["arshield.risk.BuyerInsolvent.v1"]
    assert out[0].data.insolvent_on == DAY


async def test_a_notice_is_handled_on_its_tasks_day_though_another_task_is_days_ahead(
    scorecards: Mapping[str, Scorecard], ev: Any
) -> None:
    """Tasks take their days apart: the tenant's latest business date may be a later day another
    task reached; the notice read on its own task's day raises the critical alert on that day."""
    store = InMemoryStateStore()
    kernel = kernel_on(scorecards, store)
    await run_batch(kernel, [ev(REGISTERED)], router=router(kernel), day=DAY)
    await store.advance(None, ev(REGISTERED).tenantid, date(2026, 3, 4))
    out = await run_batch(kernel, [ev(NOTICE, source="feeds/test")], router=router(kernel), day=DAY)
    alerts = [e.data for e in out if e.type == "arshield.risk.RiskAlertRaised.v1"]
    assert [(a.level, a.raised_on) for a in alerts] == [("critical", DAY)]
