"""The composition root: the concrete adapters dunning runs with (tests pass fakes)."""

from __future__ import annotations

from pathlib import Path

from arshield_dunning.adapters import queries
from arshield_dunning.adapters.agencies import AGENCIES
from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.adapters.projections import projections
from arshield_dunning.adapters.public_events import publish
from arshield_dunning.application.wiring import kernel as dunning_kernel
from arshield_dunning.entrypoints.api import router as api_router
from arshield_dunning.settings import DunningSettings
from arshield_events import dunning as dunning_events
from arshield_latepay import ReferenceRates
from arshield_runtime.service import RunningService, ServiceDefinition
from arshield_runtime.statestore import PostgresStateStore, StateStore
from arshield_runtime.webhooks.dispatcher import Wake, WebhookDispatcher
from arshield_runtime.webhooks.secrets import SecretBox, seal_plaintext_secrets

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(
    settings: DunningSettings | None = None,
    *,
    store: StateStore | None = None,
    claims: LatepayClaims | None = None,
) -> ServiceDefinition:
    settings = settings or DunningSettings()
    claims = claims or LatepayClaims(ReferenceRates.shipped())
    kernel = dunning_kernel(
        claims,
        store or PostgresStateStore(),
        source=settings.source,
        read_models=projections(),
        publish=publish,
        queries=queries,
        watch_from_grade=settings.watch_from_grade,
    )
    box = SecretBox(settings.secrets_key.get_secret_value())
    # the runtime copies `state` onto the app before background tasks start: routes get the
    # wake-up now, and it reaches the dispatcher once that runs
    wake = Wake()
    state: dict[str, object] = {"kernel": kernel, "dispatcher": wake}

    async def dispatch_webhooks(running: RunningService) -> None:
        await seal_plaintext_secrets(running.engine, box, AGENCIES.tables)
        dispatcher = WebhookDispatcher(running.engine, AGENCIES.tables, settings)
        wake.attach(dispatcher.wake)
        try:
            await dispatcher.run()
        finally:
            wake.detach(dispatcher.wake)
            await dispatcher.close()

    return ServiceDefinition(
        settings=settings,
        router=kernel.router(),
        migrations=MIGRATIONS,
        http_routers=[api_router],
        background=[dispatch_webhooks],
        projection_tables=kernel.rebuild_tables,
        publishes=dunning_events.EVENTS,
        state=state,
    )
