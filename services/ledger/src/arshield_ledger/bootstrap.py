"""The ledger's composition root: settings, event router, HTTP routes, projections, rate tables."""

from __future__ import annotations

from pathlib import Path

from arshield_latepay import ReferenceRates
from arshield_ledger.adapters.tables import PROJECTION_TABLES
from arshield_ledger.entrypoints.api import router as api_router
from arshield_ledger.entrypoints.consumers import build_router
from arshield_ledger.settings import LedgerSettings
from arshield_runtime.ingestion import router as ingestion_router
from arshield_runtime.service import ServiceDefinition

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(settings: LedgerSettings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        settings=settings or LedgerSettings(),
        router=build_router(),
        migrations=MIGRATIONS,
        # The ledger is the ERP's front door: it also hosts the HTTP ingestion of ERP facts.
        http_routers=[api_router, ingestion_router],
        projection_tables=PROJECTION_TABLES,
        state={"reference_rates": ReferenceRates.shipped()},
    )
