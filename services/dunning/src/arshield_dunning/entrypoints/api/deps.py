"""What dunning's routes depend on, as typed `Annotated[..., Depends()]` aliases, and the
paging helpers every list route shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import PlainSerializer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_dunning.adapters import queries
from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.adapters.projections import projections
from arshield_dunning.adapters.public_events import publish
from arshield_dunning.application.wiring import DunningKernel
from arshield_dunning.application.wiring import kernel as dunning_kernel
from arshield_dunning.settings import DunningSettings
from arshield_latepay import ReferenceRates
from arshield_runtime.http import Authenticated, ProblemError
from arshield_runtime.paging import bad_cursor as bad_cursor
from arshield_runtime.paging import cursor_field as cursor_field
from arshield_runtime.paging import page_after as page_after
from arshield_runtime.paging import page_of as page_of
from arshield_runtime.statestore import PostgresStateStore

Limit = Annotated[int, Query(ge=1, le=500)]

IsoDateTime = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str)]
"""A timestamp as `datetime.isoformat()` writes it (`+00:00`), as these routes always answered."""


async def open_session(request: Request, _: Authenticated) -> AsyncIterator[AsyncSession]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _settings(request: Request) -> DunningSettings:
    settings: DunningSettings = request.app.state.settings
    return settings


def _kernel(request: Request) -> DunningKernel:
    """The service's kernel (`app.state.kernel`, set by bootstrap); an app built without it gets
    one on PostgreSQL with the shipped claim rules."""
    kernel: DunningKernel | None = getattr(request.app.state, "kernel", None)
    if kernel is None:
        settings = _settings(request)
        claims = LatepayClaims(ReferenceRates.shipped())
        kernel = dunning_kernel(
            claims,
            PostgresStateStore(),
            source=settings.source,
            read_models=projections(),
            publish=publish,
            queries=queries,
            watch_from_grade=settings.watch_from_grade,
        )
        request.app.state.kernel = kernel
    return kernel


def _now(request: Request) -> datetime:
    """The app's clock (`app.state.clock`, settable by tests), else the wall clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def _relay_wake(request: Request) -> Callable[[], None] | None:
    running = getattr(request.app.state, "running", None)
    return running.relay.wake if running is not None else None


Session = Annotated[AsyncSession, Depends(open_session)]
Settings = Annotated[DunningSettings, Depends(_settings)]
Kernel = Annotated[DunningKernel, Depends(_kernel)]
Now = Annotated[datetime, Depends(_now)]
RelayWake = Annotated[Callable[[], None] | None, Depends(_relay_wake)]


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} {ident} does not exist")
