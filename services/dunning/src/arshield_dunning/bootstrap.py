"""The composition root: the concrete adapters dunning runs with."""

from __future__ import annotations

from pathlib import Path

from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.adapters.tables import PROJECTION_TABLES
from arshield_dunning.application.dispatcher import WebhookDispatcher
from arshield_dunning.entrypoints.api import router as api_router
from arshield_dunning.entrypoints.consumers import build_router
from arshield_dunning.settings import DunningSettings
from arshield_latepay import ReferenceRates
from arshield_runtime.service import RunningService, ServiceDefinition

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(settings: DunningSettings | None = None) -> ServiceDefinition:
    settings = settings or DunningSettings()
    claims = LatepayClaims(ReferenceRates.shipped(), settings.default_jurisdiction)
    state: dict[str, object] = {"claims": claims}

    async def dispatch_webhooks(running: RunningService) -> None:
        dispatcher = WebhookDispatcher(running.engine, settings)
        state["dispatcher"] = dispatcher
        try:
            await dispatcher.run()
        finally:
            await dispatcher.close()

    return ServiceDefinition(
        settings=settings,
        router=build_router(claims, watch_from_grade=settings.watch_from_grade),
        migrations=MIGRATIONS,
        http_routers=[api_router],
        background=[dispatch_webhooks],
        projection_tables=PROJECTION_TABLES,
        state=state,
    )
