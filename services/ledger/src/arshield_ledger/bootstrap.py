"""The ledger's composition root: the kernel over its wiring, HTTP routes, rate tables."""

from __future__ import annotations

from pathlib import Path

from arshield_events import ledger as ledger_events
from arshield_latepay import ReferenceRates
from arshield_ledger.adapters.projections import PROJECTIONS
from arshield_ledger.adapters.public_events import publish
from arshield_ledger.application.wiring import wiring
from arshield_ledger.entrypoints.api import router as api_router
from arshield_ledger.settings import LedgerSettings
from arshield_runtime.ingestion import router as ingestion_router
from arshield_runtime.kernel import Kernel
from arshield_runtime.service import ServiceDefinition
from arshield_runtime.statestore import PostgresStateStore, StateStore

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(
    settings: LedgerSettings | None = None,
    *,
    store: StateStore | None = None,
    reference_rates: ReferenceRates | None = None,
) -> ServiceDefinition:
    store = store or PostgresStateStore()
    rates = reference_rates or ReferenceRates.shipped()
    ledger = wiring(PROJECTIONS, publish, store=store, rates=rates)
    kernel = Kernel(ledger, store)
    return ServiceDefinition(
        settings=settings or LedgerSettings(),
        router=kernel.router(),
        migrations=MIGRATIONS,
        # The ledger is the ERP's front door: it also hosts the HTTP ingestion of ERP facts.
        http_routers=[api_router, ingestion_router],
        projection_tables=kernel.rebuild_tables,
        publishes=ledger_events.EVENTS,
        state={"reference_rates": rates},
    )
