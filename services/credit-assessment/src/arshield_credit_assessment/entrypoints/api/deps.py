"""What credit-assessment's routes depend on, as typed `Annotated[..., Depends()]` aliases, and
the pieces of the API's schema the features share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from arshield_credit_assessment.application.use_cases import CreditDesk
from arshield_runtime.http import Authenticated, ProblemError
from arshield_runtime.paging import page_after as page_after
from arshield_runtime.paging import page_of as page_of

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


async def _desk(request: Request) -> CreditDesk:
    """What the use cases decide with (`app.state.desk`, put together by bootstrap)."""
    desk: CreditDesk = request.app.state.desk
    return desk


async def _relay_wake(request: Request) -> Callable[[], None] | None:
    running = getattr(request.app.state, "running", None)
    return running.relay.wake if running is not None else None


Session = Annotated[AsyncSession, Depends(open_session)]
StatementConnection = Annotated[AsyncConnection, Depends(open_statement_connection)]
Desk = Annotated[CreditDesk, Depends(_desk)]
RelayWake = Annotated[Callable[[], None] | None, Depends(_relay_wake)]


def not_found(detail: str) -> ProblemError:
    return ProblemError(404, "Not found", detail)
