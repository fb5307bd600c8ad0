"""The tenant's portfolio: ageing per currency and the buyers owing the most overdue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from arshield_ledger.adapters import queries
from arshield_ledger.domain import reports
from arshield_ledger.entrypoints.api.deps import (
    AgeingView,
    Amount,
    AsOf,
    Connection,
    ageing_view,
    money,
    resolve_as_of,
)
from arshield_runtime.http import ReadPrincipal

router = APIRouter()


class OverdueBuyer(BaseModel):
    buyer_id: str
    overdue: Amount


class PortfolioCurrency(BaseModel):
    ageing: AgeingView
    largest_overdue_buyers: list[OverdueBuyer]


class PortfolioAgeing(BaseModel):
    as_of: date
    currencies: list[PortfolioCurrency]


@router.get("/portfolio/ageing", response_model=PortfolioAgeing)
async def portfolio_ageing(
    connection: Connection,
    principal: ReadPrincipal,
    as_of: AsOf = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> PortfolioAgeing:
    """The tenant's ageing per currency with the buyers owing the most overdue."""
    day = await resolve_as_of(connection, principal.tenant_id, as_of)
    found = await queries.portfolio_ageing(connection, principal.tenant_id, day, top)
    currencies = []
    for currency in sorted(found.buckets):
        age = reports.Ageing(currency, disputed=found.disputed.get(currency, Decimal(0)))
        for bucket, amount in found.buckets[currency].items():
            age.buckets[bucket] = amount  # type: ignore[index]
        currencies.append(
            PortfolioCurrency(
                ageing=ageing_view(age),
                largest_overdue_buyers=[
                    OverdueBuyer(buyer_id=b, overdue=money(a, currency))
                    for b, a in found.largest_overdue.get(currency, [])
                ],
            )
        )
    return PortfolioAgeing(as_of=day, currencies=currencies)
