"""A buyer's balance, ageing and statement of account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from arshield_events.fields import BusinessDate
from arshield_ledger.adapters import queries
from arshield_ledger.domain import reports
from arshield_ledger.entrypoints.api.deps import (
    AgeingView,
    Amount,
    AsOf,
    Connection,
    ageing_view,
    money,
    not_found,
    resolve_as_of,
)
from arshield_runtime.http import PathId, ProblemError, ReadPrincipal

router = APIRouter()


async def _buyer(
    connection: AsyncConnection, tenant: str, buyer_id: str, as_of: date | None
) -> queries.BuyerEntries:
    found = await queries.buyer_entries(connection, tenant, buyer_id, as_of)
    if found is None:
        raise not_found("buyer", buyer_id)
    return found


class CurrencyBalance(BaseModel):
    currency: str
    outstanding: Amount
    overdue: Amount
    disputed: Amount
    unapplied_cash: Amount
    net_balance: Amount
    open_invoices: int


class BuyerBalance(BaseModel):
    buyer_id: str
    as_of: date
    balances: list[CurrencyBalance]


@router.get("/buyers/{buyer_id}/balance", response_model=BuyerBalance)
async def buyer_balance(
    buyer_id: PathId, connection: Connection, principal: ReadPrincipal, as_of: AsOf = None
) -> BuyerBalance:
    """What the buyer owes per currency: outstanding, overdue, disputed, cash on account."""
    day = await resolve_as_of(connection, principal.tenant_id, as_of)
    found = await _buyer(connection, principal.tenant_id, buyer_id, day)
    lines = reports.instalment_balances(buyer_id, found.entries, found.due_dates, day)
    cash = reports.cash_on_account(found.entries, day)
    ages = reports.ageing(lines, day)
    balances = []
    for currency in sorted(set(ages) | set(cash)):
        age = ages.get(currency, reports.Ageing(currency))
        held = cash.get(currency, Decimal(0))
        open_count = len(
            {b.invoice_id for b in lines if b.currency == currency and b.outstanding > 0}
        )
        balances.append(
            CurrencyBalance(
                currency=currency,
                outstanding=money(age.total, currency),
                overdue=money(age.overdue, currency),
                disputed=money(age.disputed, currency),
                unapplied_cash=money(held, currency),
                net_balance=money(age.total - held, currency),
                open_invoices=open_count,
            )
        )
    return BuyerBalance(buyer_id=buyer_id, as_of=day, balances=balances)


class BuyerAgeing(BaseModel):
    buyer_id: str
    as_of: date
    ageing: list[AgeingView]


@router.get("/buyers/{buyer_id}/ageing", response_model=BuyerAgeing)
async def buyer_ageing(
    buyer_id: PathId, connection: Connection, principal: ReadPrincipal, as_of: AsOf = None
) -> BuyerAgeing:
    """Outstanding amounts in the buckets current, 1-30, 31-60, 61-90, 90+ days past due."""
    day = await resolve_as_of(connection, principal.tenant_id, as_of)
    found = await _buyer(connection, principal.tenant_id, buyer_id, day)
    lines = reports.instalment_balances(buyer_id, found.entries, found.due_dates, day)
    ages = reports.ageing(lines, day)
    return BuyerAgeing(
        buyer_id=buyer_id, as_of=day, ageing=[ageing_view(ages[c]) for c in sorted(ages)]
    )


class StatementLineView(BaseModel):
    effective_on: date
    kind: str
    invoice_id: str | None
    ref: str
    amount: Amount
    balance: Amount


class StatementView(BaseModel):
    currency: str
    opening_balance: Amount
    closing_balance: Amount
    lines: list[StatementLineView]


class BuyerStatement(BaseModel):
    buyer_id: str
    period_from: date
    period_to: date
    statements: list[StatementView]


@router.get("/buyers/{buyer_id}/statement", response_model=BuyerStatement)
async def buyer_statement(
    buyer_id: PathId,
    connection: Connection,
    principal: ReadPrincipal,
    period_from: Annotated[BusinessDate, Query(alias="from")],
    period_to: Annotated[BusinessDate | None, Query(alias="to")] = None,
) -> BuyerStatement:
    """Statement of account: opening balance, every movement in the period, closing balance."""
    end = await resolve_as_of(connection, principal.tenant_id, period_to)
    if end < period_from:
        raise ProblemError(422, "Invalid request", "`to` is before `from`")
    found = await _buyer(connection, principal.tenant_id, buyer_id, end)
    statements = reports.statement(found.entries, period_from, end)
    return BuyerStatement(
        buyer_id=buyer_id,
        period_from=period_from,
        period_to=end,
        statements=[
            StatementView(
                currency=s.currency,
                opening_balance=money(s.opening, s.currency),
                closing_balance=money(s.closing, s.currency),
                lines=[
                    StatementLineView(
                        effective_on=line.effective_on,
                        kind=line.kind,
                        invoice_id=line.invoice_id,
                        ref=line.ref,
                        amount=money(line.amount, s.currency),
                        balance=money(line.balance, s.currency),
                    )
                    for line in s.lines
                ],
            )
            for s in statements.values()
        ],
    )
