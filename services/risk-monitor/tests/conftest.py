"""Shared fixtures for risk-monitor's tests: the hand-made test scorecards (tests/fixtures), a
CloudEvent factory, and a harness that runs consumed batches through the service's router on the
in-memory state store (no database)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.registry import parse_event
from arshield_events.risk import ScorecardActivated
from arshield_risk_monitor.adapters.public_events import publish_with
from arshield_risk_monitor.adapters.scorecards import from_directory
from arshield_risk_monitor.application.wiring import router, wiring
from arshield_risk_monitor.domain.scorecard import Scorecard
from arshield_risk_monitor.domain.state import BuyerRisk
from arshield_runtime.kernel import Kernel
from arshield_runtime.messaging import BatchScope, HandlerContext, Origin, Rejected
from arshield_runtime.statestore import InMemoryStateStore

SCORECARDS_DIR = Path(__file__).parent / "fixtures" / "scorecards"
SOURCE = "arshield/risk-monitor"
_ids = itertools.count()


@pytest.fixture
def scorecards() -> Mapping[str, Scorecard]:
    cards = from_directory(SCORECARDS_DIR)
    assert set(cards) == {"test-1", "test-2"}, "the test scorecards are missing"
    return cards


def make_event(
    data: Payload, tenant: str = "acme", *, source: str = "erp/test", id: str | None = None
) -> CloudEvent[Any]:
    subject = tenant if data.tenant_keyed else str(getattr(data, "buyer_id", tenant))
    return envelope(
        data,
        id=id or f"e-{next(_ids)}",
        source=source,
        subject=subject,
        tenantid=tenant,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def ev() -> Any:
    return make_event


class Harness:
    """The service's consumer router over the in-memory store (the projections, which need
    PostgreSQL, left out)."""

    def __init__(self, scorecards: Mapping[str, Scorecard], default: str | None) -> None:
        self.store = InMemoryStateStore()
        base = wiring(
            scorecards,
            default,
            source=SOURCE,
            store=self.store,
            read_models=lambda labels: (),
            publish=publish_with,
        )
        self.kernel = Kernel(replace(base, projections=()), self.store)
        self.router = router(self.kernel)
        self.rejected: list[str] = []

    async def run(self, *events: CloudEvent[Any]) -> list[CloudEvent[Any]]:
        scope, emitted = BatchScope(), []
        session: Any = None
        await self.router.prepare(session, events, scope)
        for e in events:
            handler = self.router.handler_for(e.data)
            if handler is None:
                continue
            ctx = HandlerContext(session, e, Origin("unit", 0, 0), SOURCE, batch=scope)
            try:
                await handler(ctx)
            except Rejected as rejected:
                self.rejected.append(str(rejected))
                continue
            emitted += [parse_event(record.value) for record in ctx.emitted]
        await scope.flush(session)
        return emitted

    async def tick(self, day: date, tenant: str = "acme") -> list[CloudEvent[Any]]:
        tick = BusinessDayStarted(business_date=day)
        return await self.run(make_event(tick, tenant, source="arshield/clock", id=f"tick-{day}"))

    async def activate(self, version: str, effective_on: date, tenant: str = "acme") -> None:
        """The service's own `ScorecardActivated` read back from its topic."""
        activated = ScorecardActivated(
            scorecard_version=version,
            effective_on=effective_on,
            activated_by="test",
            activated_on=effective_on,
        )
        await self.run(make_event(activated, tenant, source=SOURCE))

    async def state(self, buyer: str, tenant: str = "acme") -> BuyerRisk:
        raw = (await self.store.load(None, [(tenant, buyer)]))[(tenant, buyer)]
        return self.kernel.wiring.state.validate_json(raw)

    async def wake(self, buyer: str, tenant: str = "acme") -> date | None:
        return self.store.states[(tenant, buyer)][1]


@pytest.fixture
def harness(scorecards: Mapping[str, Scorecard]) -> Harness:
    return Harness(scorecards, "test-1")


@pytest.fixture
def make_harness(scorecards: Mapping[str, Scorecard]) -> Any:
    """A harness whose default scorecard version is the argument (None: none)."""
    return lambda default: Harness(scorecards, default)
