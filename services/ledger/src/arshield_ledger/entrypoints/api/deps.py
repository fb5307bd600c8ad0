"""What the ledger's routes depend on, as typed `Annotated` aliases, and the pieces of the API's
schema the features share (amounts, the `as_of` parameter, problems).

Without `as_of`, answers are as of the tenant's latest business day (the last clock tick consumed;
today's date before the first tick). With it, they are computed from the entries dated up to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arshield_events.fields import BusinessDate
from arshield_latepay import ReferenceRates
from arshield_ledger.adapters import queries
from arshield_ledger.domain import reports
from arshield_ledger.domain.state import BUCKETS
from arshield_runtime.http import Authenticated, ProblemError

AsOf = Annotated[
    BusinessDate | None, Query(description="business date to answer as of (default: latest)")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query()]


class Amount(BaseModel):
    amount: str
    currency: str


def money(amount: Decimal, currency: str) -> Amount:
    return Amount(
        amount=format(amount.normalize() if amount else Decimal(0), "f"), currency=currency
    )


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


async def _connection(request: Request, _: Authenticated) -> AsyncIterator[AsyncConnection]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as connection:
        yield connection


def _reference_rates(request: Request) -> ReferenceRates:
    rates: ReferenceRates = request.app.state.reference_rates
    return rates


Connection = Annotated[AsyncConnection, Depends(_connection)]
Rates = Annotated[ReferenceRates, Depends(_reference_rates)]


async def resolve_as_of(connection: AsyncConnection, tenant_id: str, as_of: date | None) -> date:
    if as_of is not None:
        return as_of
    latest = await queries.business_date(connection, tenant_id)
    return latest or datetime.now(UTC).date()


def not_found(what: str, key: str) -> ProblemError:
    return ProblemError(404, "Not found", f"no {what} {key!r}")


class AgeingView(BaseModel):
    currency: str
    buckets: dict[str, Amount]
    total: Amount
    overdue: Amount
    disputed: Amount


def ageing_view(age: reports.Ageing) -> AgeingView:
    c = age.currency
    return AgeingView(
        currency=c,
        buckets={b: money(age.buckets[b], c) for b in BUCKETS},
        total=money(age.total, c),
        overdue=money(age.overdue, c),
        disputed=money(age.disputed, c),
    )
