"""What the routes depend on, as typed `Annotated[..., Depends()]` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import PlainSerializer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_events.money import format_decimal
from arshield_insurance_claims.adapters import postgres
from arshield_insurance_claims.application import ports
from arshield_insurance_claims.application.wiring import InsuranceKernel
from arshield_insurance_claims.settings import InsuranceClaimsSettings
from arshield_runtime.http import Authenticated, ProblemError
from arshield_runtime.statestore import PostgresStateStore

Limit = Annotated[int, Query(ge=1, le=500)]


def _amount(value: Decimal) -> str:
    """At least two decimals, no trailing zeros beyond them: "7200.00", "0.125"."""
    normal = value.normalize()
    if normal.as_tuple().exponent > -2:  # type: ignore[operator]
        normal = value.quantize(Decimal("0.01"))
    return format_decimal(normal)


Amount = Annotated[Decimal, PlainSerializer(_amount, return_type=str)]
"""An amount as every route writes it, whether it comes from a table or a buyer's state."""


async def open_session(request: Request, _: Authenticated) -> AsyncIterator[AsyncSession]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _settings(request: Request) -> InsuranceClaimsSettings:
    settings: InsuranceClaimsSettings = request.app.state.settings
    return settings


def _kernel(request: Request) -> InsuranceKernel:
    """The service's kernel (`app.state.kernel`, set by bootstrap), else one on PostgreSQL."""
    kernel: InsuranceKernel | None = getattr(request.app.state, "kernel", None)
    if kernel is None:
        kernel = postgres.kernel(PostgresStateStore(), source=_settings(request).source)
        request.app.state.kernel = kernel
    return kernel


def _ports(request: Request) -> ports.Ports:
    """The application's ports (`app.state.ports`, set by bootstrap), else those on PostgreSQL."""
    found: ports.Ports | None = getattr(request.app.state, "ports", None)
    return postgres.PORTS if found is None else found


def _relay_wake(request: Request) -> Callable[[], None] | None:
    running = getattr(request.app.state, "running", None)
    return running.relay.wake if running is not None else None


Session = Annotated[AsyncSession, Depends(open_session)]
Settings = Annotated[InsuranceClaimsSettings, Depends(_settings)]
Kernel = Annotated[InsuranceKernel, Depends(_kernel)]
Ports = Annotated[ports.Ports, Depends(_ports)]
RelayWake = Annotated[Callable[[], None] | None, Depends(_relay_wake)]


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} {ident} does not exist")
