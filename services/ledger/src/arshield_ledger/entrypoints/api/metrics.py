"""Collection metrics over a period: DSO, best possible DSO, average days delinquent, CEI."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from arshield_events.fields import BusinessDate
from arshield_ledger.adapters import queries
from arshield_ledger.domain import reports
from arshield_ledger.entrypoints.api.deps import Amount, Connection, money, text
from arshield_runtime.http import Filter, ProblemError, ReadPrincipal

router = APIRouter()


class Metrics(BaseModel):
    currency: str
    days: int
    credit_sales: Amount
    opening_receivables: Amount
    closing_receivables: Amount
    closing_current_receivables: Amount
    written_off: Amount
    dso: str | None
    best_possible_dso: str | None
    average_days_delinquent: str | None
    cei_percent: str | None


class MetricsView(BaseModel):
    period_from: date
    period_to: date
    buyer_id: str | None
    definition: str
    metrics: list[Metrics]


DSO_DEFINITION = (
    "CRF, countback-free, over net credit sales (issued less credit notes and cancellations in "
    "the period): DSO = receivables at period end / credit sales in the period x days; "
    "best possible DSO = current receivables at period end / credit sales x days; "
    "ADD = DSO - best possible DSO; CEI = (opening receivables + sales - closing receivables - "
    "written off) / (opening receivables + sales - closing current receivables) x 100"
)


@router.get("/metrics/dso", response_model=MetricsView)
async def collection_metrics(
    connection: Connection,
    principal: ReadPrincipal,
    period_from: Annotated[BusinessDate, Query(alias="from")],
    period_to: Annotated[BusinessDate, Query(alias="to")],
    buyer_id: Filter = None,
) -> MetricsView:
    """DSO, best possible DSO, average days delinquent and CEI per currency over a period."""
    if period_to < period_from:
        raise ProblemError(422, "Invalid request", "`to` is before `from`")
    totals = await queries.period_totals(
        connection, principal.tenant_id, period_from, period_to, buyer_id
    )
    metrics = []
    zero = Decimal(0)
    for currency in sorted({*totals.credit_sales, *totals.opening, *totals.closing}):
        m = reports.collection_metrics(
            currency=currency,
            start=period_from,
            end=period_to,
            credit_sales=totals.credit_sales.get(currency, zero),
            opening_receivables=totals.opening.get(currency, zero),
            closing_receivables=totals.closing.get(currency, zero),
            closing_current=totals.closing_current.get(currency, zero),
            written_off=totals.written_off.get(currency, zero),
        )
        metrics.append(
            Metrics(
                currency=currency,
                days=m.days,
                credit_sales=money(m.credit_sales, currency),
                opening_receivables=money(m.opening_receivables, currency),
                closing_receivables=money(m.closing_receivables, currency),
                closing_current_receivables=money(m.closing_current, currency),
                written_off=money(m.written_off, currency),
                dso=text(m.dso),
                best_possible_dso=text(m.best_possible_dso),
                average_days_delinquent=text(m.average_days_delinquent),
                cei_percent=text(m.cei),
            )
        )
    return MetricsView(
        period_from=period_from,
        period_to=period_to,
        buyer_id=buyer_id,
        definition=DSO_DEFINITION,
        metrics=metrics,
    )
