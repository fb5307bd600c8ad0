"""What credit-assessment's routes depend on, as typed `Annotated[..., Depends()]` aliases, and
the pieces of the API's schema the features share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from arshield_credit_assessment.application.wiring import CreditKernel
from arshield_credit_assessment.application.wiring import kernel as credit_kernel
from arshield_credit_assessment.domain.review import ContractReviewer
from arshield_credit_assessment.settings import CreditSettings
from arshield_latepay import ReferenceRates
from arshield_runtime.http import Authenticated, ProblemError
from arshield_runtime.paging import page_after as page_after
from arshield_runtime.paging import page_of as page_of
from arshield_runtime.statestore import PostgresStateStore

Limit = Annotated[int, Query(ge=1, le=500)]


class Amount(BaseModel):
    amount: str
    currency: str


def money(amount: Decimal | None, currency: str) -> Amount | None:
    if amount is None:
        return None
    return Amount(
        amount=format(amount.normalize() if amount else Decimal(0), "f"), currency=currency
    )


async def open_session(request: Request, _: Authenticated) -> AsyncIterator[AsyncSession]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


async def open_statement_connection(
    request: Request, _: Authenticated
) -> AsyncIterator[AsyncConnection]:
    """A connection whose every statement commits on its own: no BEGIN nor COMMIT round trip, no
    ORM session to set up. For a request that reads its state and then writes one outbox
    statement (the credit check), where that one write is all there is to make atomic."""
    engine: AsyncEngine | None = getattr(request.app.state, "statement_engine", None)
    if engine is None:
        engine = request.app.state.engine.execution_options(isolation_level="AUTOCOMMIT")
        request.app.state.statement_engine = engine
    async with engine.connect() as connection:
        yield connection


# The dependencies below are coroutines so FastAPI runs them on the event loop: a plain function
# would be sent to a worker thread on every request.


async def _settings(request: Request) -> CreditSettings:
    settings: CreditSettings = request.app.state.settings
    return settings


async def _reviewer(request: Request) -> ContractReviewer:
    reviewer: ContractReviewer | None = getattr(request.app.state, "reviewer", None)
    if reviewer is None:
        reviewer = ContractReviewer(
            ReferenceRates.shipped(), request.app.state.settings.default_jurisdiction
        )
        request.app.state.reviewer = reviewer
    return reviewer


async def _kernel(request: Request) -> CreditKernel:
    """The service's kernel (`app.state.kernel`, set by bootstrap), else one on PostgreSQL."""
    kernel: CreditKernel | None = getattr(request.app.state, "kernel", None)
    if kernel is None:
        kernel = credit_kernel(
            await _reviewer(request), PostgresStateStore(), source=request.app.state.settings.source
        )
        request.app.state.kernel = kernel
    return kernel


async def _relay_wake(request: Request) -> Callable[[], None] | None:
    running = getattr(request.app.state, "running", None)
    return running.relay.wake if running is not None else None


Session = Annotated[AsyncSession, Depends(open_session)]
StatementConnection = Annotated[AsyncConnection, Depends(open_statement_connection)]
Settings = Annotated[CreditSettings, Depends(_settings)]
Kernel = Annotated[CreditKernel, Depends(_kernel)]
Reviewer = Annotated[ContractReviewer, Depends(_reviewer)]
RelayWake = Annotated[Callable[[], None] | None, Depends(_relay_wake)]


def not_found(detail: str) -> ProblemError:
    return ProblemError(404, "Not found", detail)


def invalid(loc: str, msg: str) -> ProblemError:
    return ProblemError(422, "Invalid request", f"{loc}: {msg}", errors=[{"loc": loc, "msg": msg}])


def jsonable(value: Any) -> Any:
    return value
