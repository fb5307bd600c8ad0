"""The composition root: the concrete adapters risk-monitor runs with (tests pass fakes)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from arshield_events import risk as risk_events
from arshield_risk_monitor.adapters import scorecards as shipped
from arshield_risk_monitor.adapters.projections import projections
from arshield_risk_monitor.adapters.public_events import publish_with
from arshield_risk_monitor.application.wiring import kernel as risk_kernel
from arshield_risk_monitor.application.wiring import router
from arshield_risk_monitor.domain.scorecard import Scorecard
from arshield_risk_monitor.entrypoints.api import router as api_router
from arshield_risk_monitor.settings import RiskMonitorSettings
from arshield_runtime.service import ServiceDefinition
from arshield_runtime.statestore import PostgresStateStore, StateStore

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(
    settings: RiskMonitorSettings | None = None,
    *,
    store: StateStore | None = None,
    scorecards: Mapping[str, Scorecard] | None = None,
) -> ServiceDefinition:
    settings = settings or RiskMonitorSettings()
    cards = scorecards if scorecards is not None else shipped.catalogue(settings.scorecards_dir)
    kernel = risk_kernel(
        cards,
        settings.default_scorecard,
        store or PostgresStateStore(),
        source=settings.source,
        read_models=projections,
        publish=publish_with,
    )
    return ServiceDefinition(
        settings=settings,
        router=router(kernel),
        migrations=MIGRATIONS,
        http_routers=[api_router],
        projection_tables=kernel.rebuild_tables,
        publishes=risk_events.EVENTS,
        state={"kernel": kernel, "scorecards": cards},
    )
