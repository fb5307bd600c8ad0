"""The ledger's read API (`read` scope, tenant-scoped, `as_of` on answers that change with time).

Without `as_of`, answers are as of the tenant's latest business day (the last clock tick consumed;
today's date before the first tick). With it, they are computed from the entries dated up to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arshield_events.fields import BusinessDate
from arshield_events.ledger import InvoiceStatus
from arshield_latepay import ReferenceRates
from arshield_ledger.adapters import queries
from arshield_ledger.domain import reports
from arshield_ledger.domain.interest import InvoiceTerms, invoice_interest
from arshield_ledger.domain.model import BUCKETS
from arshield_runtime.http import (
    Authenticated,
    Filter,
    Page,
    PathId,
    ProblemError,
    ReadPrincipal,
    decode_cursor,
    encode_cursor,
)

router = APIRouter(prefix="/v1", tags=["ledger"])

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


async def _connection(request: Request, _: Authenticated) -> AsyncIterator[AsyncConnection]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as connection:
        yield connection


Connection = Annotated[AsyncConnection, Depends(_connection)]


async def _as_of(connection: AsyncConnection, tenant_id: str, as_of: date | None) -> date:
    if as_of is not None:
        return as_of
    latest = await queries.business_date(connection, tenant_id)
    return latest or datetime.now(UTC).date()


def _not_found(what: str, key: str) -> ProblemError:
    return ProblemError(404, "Not found", f"no {what} {key!r}")


# -- invoices ----------------------------------------------------------------------------------


class HistoryItem(BaseModel):
    effective_on: date
    kind: str
    instalment_seq: int | None
    amount: Amount
    ref: str
    detail: str


class InstalmentView(BaseModel):
    seq: int | None
    due_on: date
    outstanding: Amount


class InvoiceView(BaseModel):
    invoice_id: str
    invoice_number: str
    buyer_id: str
    as_of: date
    amount: Amount
    outstanding: Amount
    paid: Amount
    credited: Amount
    status: InvoiceStatus
    issued_on: date
    due_on: date
    settled_on: date | None
    days_late: int | None
    disputed: bool
    instalments: list[InstalmentView]
    history: list[HistoryItem]


def _invoice_view(
    row: Any,
    entries: list[reports.EntryRow],
    dues: dict[int, date],
    as_of: date,
    *,
    live: bool,
    history: bool,
) -> InvoiceView:
    state = reports.invoice_as_of(entries, dues, as_of)
    currency = row.currency
    status: InvoiceStatus = row.status if live else state.status
    settled_on, days_late = state.settled_on, state.days_late
    return InvoiceView(
        invoice_id=row.invoice_id,
        invoice_number=row.invoice_number,
        buyer_id=row.buyer_id,
        as_of=as_of,
        amount=money(row.amount, currency),
        outstanding=money(state.outstanding, currency),
        paid=money(state.paid, currency),
        credited=money(state.credited, currency),
        status=status,
        issued_on=row.issued_on,
        due_on=row.due_on,
        settled_on=settled_on,
        days_late=days_late,
        disputed=bool(state.open_disputes),
        instalments=[
            InstalmentView(seq=seq or None, due_on=due, outstanding=money(left, currency))
            for seq, due, left in state.instalments
        ],
        history=[
            HistoryItem(
                effective_on=e.effective_on,
                kind=e.kind,
                instalment_seq=e.seq or None,
                amount=money(e.amount, e.currency),
                ref=e.ref,
                detail=e.detail,
            )
            for e in entries
            if e.effective_on <= as_of
        ]
        if history
        else [],
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceView)
async def get_invoice(
    invoice_id: PathId, connection: Connection, principal: ReadPrincipal, as_of: AsOf = None
) -> InvoiceView:
    """The invoice with its full history and outstanding amount as of a date."""
    tenant = principal.tenant_id
    row = await queries.invoice_row(connection, tenant, invoice_id)
    day = await _as_of(connection, tenant, as_of)
    if row is None or row.issued_on > day:
        raise _not_found("invoice", invoice_id)
    entries = (await queries.invoice_entries(connection, tenant, [invoice_id], None))[invoice_id]
    dues = (await queries.due_dates(connection, tenant, [invoice_id]))[invoice_id]
    return _invoice_view(row, entries, dues, day, live=as_of is None, history=True)


@router.get("/invoices", response_model=Page[InvoiceView])
async def list_invoices(
    connection: Connection,
    principal: ReadPrincipal,
    buyer_id: Filter = None,
    status: InvoiceStatus | None = None,
    as_of: AsOf = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[InvoiceView]:
    """Invoices by id, optionally of one buyer and in one status (as of a date when given)."""
    position = decode_cursor(cursor)
    after = position["after"] if position else None
    tenant = principal.tenant_id
    items: list[InvoiceView] = []
    day = await _as_of(connection, tenant, as_of)
    while len(items) < limit:
        chunk = await queries.list_invoices(
            connection,
            tenant,
            buyer_id=buyer_id,
            status=status if as_of is None else None,
            after=after,
            limit=limit if as_of is None else 200,
            issued_by=as_of,
        )
        if not chunk:
            after = None
            break
        ids = [row.invoice_id for row in chunk]
        entries = await queries.invoice_entries(connection, tenant, ids, as_of)
        dues = await queries.due_dates(connection, tenant, ids)
        for row in chunk:
            view = _invoice_view(
                row,
                entries[row.invoice_id],
                dues[row.invoice_id],
                day,
                live=as_of is None,
                history=False,
            )
            after = row.invoice_id
            if status is None or view.status == status:
                items.append(view)
            if len(items) == limit:
                break
        if len(chunk) < (limit if as_of is None else 200) and len(items) < limit:
            after = None
            break
    next_cursor = encode_cursor({"after": after}) if after else None
    return Page[InvoiceView](items=items, next_cursor=next_cursor)


# -- buyers ------------------------------------------------------------------------------------


async def _buyer(
    connection: AsyncConnection, tenant: str, buyer_id: str, as_of: date | None
) -> queries.BuyerEntries:
    found = await queries.buyer_entries(connection, tenant, buyer_id, as_of)
    if found is None:
        raise _not_found("buyer", buyer_id)
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
    day = await _as_of(connection, principal.tenant_id, as_of)
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


class AgeingView(BaseModel):
    currency: str
    buckets: dict[str, Amount]
    total: Amount
    overdue: Amount
    disputed: Amount


class BuyerAgeing(BaseModel):
    buyer_id: str
    as_of: date
    ageing: list[AgeingView]


def _ageing_view(age: reports.Ageing) -> AgeingView:
    c = age.currency
    return AgeingView(
        currency=c,
        buckets={b: money(age.buckets[b], c) for b in BUCKETS},
        total=money(age.total, c),
        overdue=money(age.overdue, c),
        disputed=money(age.disputed, c),
    )


@router.get("/buyers/{buyer_id}/ageing", response_model=BuyerAgeing)
async def buyer_ageing(
    buyer_id: PathId, connection: Connection, principal: ReadPrincipal, as_of: AsOf = None
) -> BuyerAgeing:
    """Outstanding amounts in the buckets current, 1-30, 31-60, 61-90, 90+ days past due."""
    day = await _as_of(connection, principal.tenant_id, as_of)
    found = await _buyer(connection, principal.tenant_id, buyer_id, day)
    lines = reports.instalment_balances(buyer_id, found.entries, found.due_dates, day)
    ages = reports.ageing(lines, day)
    return BuyerAgeing(
        buyer_id=buyer_id, as_of=day, ageing=[_ageing_view(ages[c]) for c in sorted(ages)]
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
    end = await _as_of(connection, principal.tenant_id, period_to)
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


# -- portfolio and metrics -------------------------------------------------------------------------


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
    day = await _as_of(connection, principal.tenant_id, as_of)
    found = await queries.portfolio_ageing(connection, principal.tenant_id, day, top)
    currencies = []
    for currency in sorted(found.buckets):
        age = reports.Ageing(currency, disputed=found.disputed.get(currency, Decimal(0)))
        for bucket, amount in found.buckets[currency].items():
            age.buckets[bucket] = amount  # type: ignore[index]
        currencies.append(
            PortfolioCurrency(
                ageing=_ageing_view(age),
                largest_overdue_buyers=[
                    OverdueBuyer(buyer_id=b, overdue=money(a, currency))
                    for b, a in found.largest_overdue.get(currency, [])
                ],
            )
        )
    return PortfolioAgeing(as_of=day, currencies=currencies)


class Metrics(BaseModel):
    currency: str
    days: int
    credit_sales: Amount
    opening_receivables: Amount
    closing_receivables: Amount
    closing_current_receivables: Amount
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
    "ADD = DSO - best possible DSO; CEI = (opening receivables + sales - closing receivables) / "
    "(opening receivables + sales - closing current receivables) x 100"
)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


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
    for currency in sorted(set(totals.credit_sales) | set(totals.opening) | set(totals.closing)):
        m = reports.collection_metrics(
            currency=currency,
            start=period_from,
            end=period_to,
            credit_sales=totals.credit_sales.get(currency, zero),
            opening_receivables=totals.opening.get(currency, zero),
            closing_receivables=totals.closing.get(currency, zero),
            closing_current=totals.closing_current.get(currency, zero),
        )
        metrics.append(
            Metrics(
                currency=currency,
                days=m.days,
                credit_sales=money(m.credit_sales, currency),
                opening_receivables=money(m.opening_receivables, currency),
                closing_receivables=money(m.closing_receivables, currency),
                closing_current_receivables=money(m.closing_current, currency),
                dso=_text(m.dso),
                best_possible_dso=_text(m.best_possible_dso),
                average_days_delinquent=_text(m.average_days_delinquent),
                cei_percent=_text(m.cei),
            )
        )
    return MetricsView(
        period_from=period_from,
        period_to=period_to,
        buyer_id=buyer_id,
        definition=DSO_DEFINITION,
        metrics=metrics,
    )


# -- interest ------------------------------------------------------------------------------------


class InterestPeriodView(BaseModel):
    due_on: date
    start: date
    end: date
    days: int
    principal: Amount
    reference_rate: str | None
    annual_rate: str
    interest: Amount


class InterestView(BaseModel):
    invoice_id: str
    as_of: date
    jurisdiction: str | None
    jurisdiction_assumed: bool
    basis: str
    interest: Amount | None
    compensation: Amount | None
    periods: list[InterestPeriodView]
    rate_table_versions: dict[str, int]


@router.get("/invoices/{invoice_id}/interest", response_model=InterestView)
async def invoice_interest_view(
    invoice_id: PathId,
    request: Request,
    connection: Connection,
    principal: ReadPrincipal,
    as_of: AsOf = None,
) -> InterestView:
    """Late-payment interest accrued up to `as_of` and the fixed compensation, by jurisdiction."""
    rates: ReferenceRates = request.app.state.reference_rates
    tenant = principal.tenant_id
    row = await queries.invoice_row(connection, tenant, invoice_id)
    day = await _as_of(connection, tenant, as_of)
    if row is None or row.issued_on > day:
        raise _not_found("invoice", invoice_id)
    entries = (await queries.invoice_entries(connection, tenant, [invoice_id], day))[invoice_id]
    dues = (await queries.due_dates(connection, tenant, [invoice_id]))[invoice_id]
    terms = InvoiceTerms(
        row.currency, row.amount, row.issued_on, row.jurisdiction, row.agreed_annual_rate
    )
    answer = invoice_interest(terms, entries, dues, day, rates)
    claim = answer.claim
    return InterestView(
        invoice_id=invoice_id,
        as_of=day,
        jurisdiction=claim.jurisdiction.value if claim else None,
        jurisdiction_assumed=answer.jurisdiction_assumed,
        basis=answer.note,
        interest=money(claim.interest, claim.currency) if claim else None,
        compensation=money(claim.compensation, claim.compensation_currency) if claim else None,
        periods=[
            InterestPeriodView(
                due_on=p.due_on,
                start=p.start,
                end=p.end,
                days=p.days,
                principal=money(p.principal, row.currency),
                reference_rate=_text(p.reference_rate),
                annual_rate=format(p.annual_rate, "f"),
                interest=money(p.amount, row.currency),
            )
            for p in (claim.periods if claim else ())
        ],
        rate_table_versions=claim.rate_table_versions if claim else {},
    )


# -- anomalies -------------------------------------------------------------------------------------


class AnomalyView(BaseModel):
    buyer_id: str
    anomaly_no: int
    kind: str
    occurred_on: date
    invoice_id: str | None
    ref: str
    detail: str


@router.get("/anomalies", response_model=Page[AnomalyView])
async def list_anomalies(
    connection: Connection,
    principal: ReadPrincipal,
    buyer_id: Filter = None,
    kind: Filter = None,
    as_of: AsOf = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AnomalyView]:
    """The judgement calls the ledger took (overpayments, facts before their invoice, ...)."""
    position = decode_cursor(cursor)
    after = None
    if position:
        occurred, buyer, number = position["after"]
        after = (str(occurred), str(buyer), int(number))
    rows = await queries.list_anomalies(
        connection,
        principal.tenant_id,
        buyer_id=buyer_id,
        kind=kind,
        as_of=as_of,
        after=after,
        limit=limit,
    )
    items = [
        AnomalyView(
            buyer_id=r.buyer_id,
            anomaly_no=r.anomaly_no,
            kind=r.kind,
            occurred_on=r.occurred_on,
            invoice_id=r.invoice_id,
            ref=r.ref,
            detail=r.detail,
        )
        for r in rows
    ]
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = encode_cursor(
            {"after": [last.occurred_on.isoformat(), last.buyer_id, last.anomaly_no]}
        )
    return Page[AnomalyView](items=items, next_cursor=next_cursor)
