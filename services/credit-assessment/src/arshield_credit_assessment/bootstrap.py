"""The composition root: the kernel over credit-assessment's wiring with its read models and
public mapping, the contract reviewer with the shipped reference rates, the desk the HTTP use
cases decide with (its records read through the service's queries), and the HTTP routes."""

from __future__ import annotations

from pathlib import Path

from arshield_credit_assessment.adapters import public_events, queries
from arshield_credit_assessment.adapters.projections import projections
from arshield_credit_assessment.application.use_cases import CreditDesk
from arshield_credit_assessment.application.wiring import kernel as credit_kernel
from arshield_credit_assessment.domain.review import ContractReviewer
from arshield_credit_assessment.entrypoints.api import router as api_router
from arshield_credit_assessment.settings import CreditSettings
from arshield_events import credit as credit_events
from arshield_latepay import ReferenceRates
from arshield_runtime.service import ServiceDefinition
from arshield_runtime.statestore import PostgresStateStore, StateStore

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(
    settings: CreditSettings | None = None,
    *,
    store: StateStore | None = None,
    reference_rates: ReferenceRates | None = None,
) -> ServiceDefinition:
    settings = settings or CreditSettings()
    reviewer = ContractReviewer(
        reference_rates or ReferenceRates.shipped(), settings.default_jurisdiction
    )
    kernel = credit_kernel(
        reviewer,
        store or PostgresStateStore(),
        source=settings.source,
        read_models=projections(),
        public=public_events,
    )
    desk = CreditDesk(
        kernel, reviewer, records=queries, public=public_events, source=settings.source
    )
    return ServiceDefinition(
        settings=settings,
        router=kernel.router(),
        migrations=MIGRATIONS,
        http_routers=[api_router],
        projection_tables=kernel.rebuild_tables,
        publishes=credit_events.EVENTS,
        state={"kernel": kernel, "desk": desk},
    )
