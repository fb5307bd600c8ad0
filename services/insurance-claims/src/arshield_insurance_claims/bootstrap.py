"""The composition root: the concrete adapters insurance-claims runs with (tests pass fakes)."""

from __future__ import annotations

from pathlib import Path

from arshield_events import insurance as insurance_events
from arshield_insurance_claims.adapters import postgres
from arshield_insurance_claims.application.wiring import router as consumer_router
from arshield_insurance_claims.entrypoints.api import router as api_router
from arshield_insurance_claims.settings import InsuranceClaimsSettings
from arshield_runtime.service import RunningService, ServiceDefinition
from arshield_runtime.statestore import PostgresStateStore, StateStore
from arshield_runtime.webhooks.dispatcher import Wake, WebhookDispatcher
from arshield_runtime.webhooks.secrets import SecretBox, seal_plaintext_secrets

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(
    settings: InsuranceClaimsSettings | None = None, *, store: StateStore | None = None
) -> ServiceDefinition:
    settings = settings or InsuranceClaimsSettings()
    ports = postgres.PORTS
    kernel = postgres.kernel(store or PostgresStateStore(), source=settings.source)
    box = SecretBox(settings.secrets_key.get_secret_value())
    # the runtime copies `state` onto the app before background tasks start: routes get the
    # wake-up now, and it reaches the dispatcher once that runs
    wake = Wake()
    state: dict[str, object] = {"kernel": kernel, "ports": ports, "dispatcher": wake}

    async def dispatch_webhooks(running: RunningService) -> None:
        await seal_plaintext_secrets(running.engine, box, ports.insurers.tables)
        dispatcher = WebhookDispatcher(running.engine, ports.insurers.tables, settings)
        wake.attach(dispatcher.wake)
        try:
            await dispatcher.run()
        finally:
            wake.detach(dispatcher.wake)
            await dispatcher.close()

    return ServiceDefinition(
        settings=settings,
        router=consumer_router(kernel, ports),
        migrations=MIGRATIONS,
        http_routers=[api_router],
        background=[dispatch_webhooks],
        projection_tables=[*kernel.rebuild_tables, "insurance_policies"],
        publishes=insurance_events.EVENTS,
        state=state,
    )
