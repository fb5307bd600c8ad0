"""What risk-monitor's routes depend on, as typed `Annotated[..., Depends()]` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_risk_monitor.adapters import scorecards as shipped
from arshield_risk_monitor.adapters.projections import projections
from arshield_risk_monitor.adapters.public_events import publish_with
from arshield_risk_monitor.application.wiring import RiskKernel
from arshield_risk_monitor.application.wiring import kernel as risk_kernel
from arshield_risk_monitor.domain.scorecard import Scorecard
from arshield_risk_monitor.settings import RiskMonitorSettings
from arshield_runtime.http import Authenticated, ProblemError
from arshield_runtime.statestore import PostgresStateStore

Limit = Annotated[int, Query(ge=1, le=500)]


async def open_session(request: Request, _: Authenticated) -> AsyncIterator[AsyncSession]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _settings(request: Request) -> RiskMonitorSettings:
    settings: RiskMonitorSettings = request.app.state.settings
    return settings


def _scorecards(request: Request) -> Mapping[str, Scorecard]:
    cards: Mapping[str, Scorecard] | None = getattr(request.app.state, "scorecards", None)
    if cards is None:
        cards = shipped.catalogue(_settings(request).scorecards_dir)
        request.app.state.scorecards = cards
    return cards


def _kernel(request: Request) -> RiskKernel:
    """The service's kernel (`app.state.kernel`, set by bootstrap), else one on PostgreSQL."""
    kernel: RiskKernel | None = getattr(request.app.state, "kernel", None)
    if kernel is None:
        settings = _settings(request)
        kernel = risk_kernel(
            _scorecards(request),
            settings.default_scorecard,
            PostgresStateStore(),
            source=settings.source,
            read_models=projections,
            publish=publish_with,
        )
        request.app.state.kernel = kernel
    return kernel


def _relay_wake(request: Request) -> Callable[[], None] | None:
    running = getattr(request.app.state, "running", None)
    return running.relay.wake if running is not None else None


Session = Annotated[AsyncSession, Depends(open_session)]
Settings = Annotated[RiskMonitorSettings, Depends(_settings)]
Kernel = Annotated[RiskKernel, Depends(_kernel)]
Scorecards = Annotated[Mapping[str, Scorecard], Depends(_scorecards)]
RelayWake = Annotated[Callable[[], None] | None, Depends(_relay_wake)]


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} {ident} does not exist")
