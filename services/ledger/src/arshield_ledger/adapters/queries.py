"""Read-side queries over the projections; every "as of" answer reads entries dated <= as_of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from arshield_ledger.adapters.tables import anomalies, instalments, invoices, ledger_entries
from arshield_ledger.domain.interest import TenantLaw
from arshield_ledger.domain.reports import SALES_KINDS, WRITTEN_OFF, EntryRow
from arshield_runtime.db import business_dates
from arshield_runtime.kernel import TENANT
from arshield_runtime.statestore import PostgresStateStore

E = ledger_entries.c


def _entry(row: Any) -> EntryRow:
    return EntryRow(
        row.invoice_id,
        row.seq,
        row.currency,
        row.effective_on,
        row.kind,
        row.amount,
        row.ref,
        row.detail,
    )


async def business_date(connection: AsyncConnection, tenant_id: str) -> date | None:
    """The tenant's latest business date (the kernel's, advanced by each clock tick)."""
    value: date | None = await connection.scalar(
        sa.select(business_dates.c.business_date).where(business_dates.c.tenant_id == tenant_id)
    )
    return value


async def invoice_row(connection: AsyncConnection, tenant_id: str, invoice_id: str) -> Any:
    result = await connection.execute(
        sa.select(invoices).where(
            invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id
        )
    )
    return result.first()


async def invoice_entries(
    connection: AsyncConnection, tenant_id: str, invoice_ids: Sequence[str], as_of: date | None
) -> dict[str, list[EntryRow]]:
    query = sa.select(ledger_entries).where(E.tenant_id == tenant_id, E.invoice_id.in_(invoice_ids))
    if as_of is not None:
        query = query.where(E.effective_on <= as_of)
    out: dict[str, list[EntryRow]] = {i: [] for i in invoice_ids}
    for row in await connection.execute(query.order_by(E.buyer_id, E.entry_no)):
        out[row.invoice_id].append(_entry(row))
    return out


async def due_dates(
    connection: AsyncConnection, tenant_id: str, invoice_ids: Sequence[str]
) -> dict[str, dict[int, date]]:
    out: dict[str, dict[int, date]] = {i: {} for i in invoice_ids}
    rows = await connection.execute(
        sa.select(instalments.c.invoice_id, instalments.c.seq, instalments.c.due_on).where(
            instalments.c.tenant_id == tenant_id, instalments.c.invoice_id.in_(invoice_ids)
        )
    )
    for row in rows:
        out[row.invoice_id][row.seq] = row.due_on
    return out


@dataclass(frozen=True)
class BuyerEntries:
    entries: list[EntryRow]
    due_dates: dict[tuple[str, int], date]


async def buyer_entries(
    connection: AsyncConnection, tenant_id: str, buyer_id: str, as_of: date | None
) -> BuyerEntries | None:
    """The buyer's entries up to `as_of` with each instalment's due date (one round trip).

    None when the tenant has no such buyer (so another tenant's buyer is simply not found).
    """
    i = instalments.c
    query = (
        sa.select(ledger_entries, i.due_on)
        .select_from(
            ledger_entries.outerjoin(
                instalments,
                sa.and_(i.tenant_id == E.tenant_id, i.invoice_id == E.invoice_id, i.seq == E.seq),
            )
        )
        .where(E.tenant_id == tenant_id, E.buyer_id == buyer_id)
        .order_by(E.entry_no)
    )
    if as_of is not None:
        query = query.where(E.effective_on <= as_of)
    rows = (await connection.execute(query)).all()
    if not rows:
        exists = await connection.scalar(
            sa.select(sa.literal(1))
            .where(E.tenant_id == tenant_id, E.buyer_id == buyer_id)
            .limit(1)
        )
        if exists is None:
            return None
    entries = [_entry(row) for row in rows]
    dues = {
        (row.invoice_id, row.seq): row.due_on
        for row in rows
        if row.invoice_id is not None and row.seq is not None
    }
    return BuyerEntries(entries, dues)


async def list_invoices(
    connection: AsyncConnection,
    tenant_id: str,
    *,
    buyer_id: str | None,
    status: str | None,
    after: str | None,
    limit: int,
    issued_by: date | None = None,
) -> list[Any]:
    query = sa.select(invoices).where(invoices.c.tenant_id == tenant_id)
    if buyer_id is not None:
        query = query.where(invoices.c.buyer_id == buyer_id)
    if status is not None:
        query = query.where(invoices.c.status == status)
    if issued_by is not None:
        query = query.where(invoices.c.issued_on <= issued_by)
    if after is not None:
        query = query.where(invoices.c.invoice_id > after)
    return list(
        (await connection.execute(query.order_by(invoices.c.invoice_id).limit(limit))).all()
    )


_BALANCES = """
    SELECT e.buyer_id, e.currency, i.due_on, SUM(e.amount) AS outstanding,
           EXISTS (
               SELECT 1 FROM ledger_entries d
               WHERE d.tenant_id = e.tenant_id AND d.invoice_id = e.invoice_id
                 AND d.kind = 'dispute_raised' AND d.effective_on <= :as_of
                 AND NOT EXISTS (
                     SELECT 1 FROM ledger_entries r
                     WHERE r.tenant_id = d.tenant_id AND r.invoice_id = d.invoice_id
                       AND r.kind = 'dispute_resolved' AND r.ref = d.ref
                       AND r.effective_on <= :as_of)
           ) AS disputed
    FROM ledger_entries e
    JOIN instalments i
      ON i.tenant_id = e.tenant_id AND i.invoice_id = e.invoice_id AND i.seq = e.seq
    WHERE e.tenant_id = :tenant AND e.effective_on <= :as_of AND e.seq IS NOT NULL
    GROUP BY e.tenant_id, e.buyer_id, e.invoice_id, e.seq, e.currency, i.due_on
    HAVING SUM(e.amount) > 0
"""


@dataclass(frozen=True)
class PortfolioAgeing:
    buckets: dict[str, dict[str, Decimal]]
    """currency -> bucket -> amount"""
    disputed: dict[str, Decimal]
    largest_overdue: dict[str, list[tuple[str, Decimal]]]


async def portfolio_ageing(
    connection: AsyncConnection, tenant_id: str, as_of: date, top: int
) -> PortfolioAgeing:
    params = {"tenant": tenant_id, "as_of": as_of, "top": top}
    bucket_sql = f"""
        WITH b AS ({_BALANCES})
        SELECT currency,
               CASE WHEN :as_of - due_on <= 0 THEN 'current'
                    WHEN :as_of - due_on <= 30 THEN '1-30'
                    WHEN :as_of - due_on <= 60 THEN '31-60'
                    WHEN :as_of - due_on <= 90 THEN '61-90'
                    ELSE '90+' END AS bucket,
               SUM(outstanding) AS amount,
               SUM(CASE WHEN disputed THEN outstanding ELSE 0 END) AS disputed
        FROM b GROUP BY 1, 2
    """
    buckets: dict[str, dict[str, Decimal]] = {}
    disputed: dict[str, Decimal] = {}
    for row in await connection.execute(sa.text(bucket_sql), params):
        buckets.setdefault(row.currency, {})[row.bucket] = row.amount
        disputed[row.currency] = disputed.get(row.currency, Decimal(0)) + row.disputed
    top_sql = f"""
        WITH b AS ({_BALANCES}),
        o AS (SELECT currency, buyer_id, SUM(outstanding) AS overdue FROM b
              WHERE due_on < :as_of GROUP BY 1, 2),
        r AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY currency
                                           ORDER BY overdue DESC, buyer_id) AS n FROM o)
        SELECT currency, buyer_id, overdue FROM r WHERE n <= :top ORDER BY currency, n
    """
    largest: dict[str, list[tuple[str, Decimal]]] = {}
    for row in await connection.execute(sa.text(top_sql), params):
        largest.setdefault(row.currency, []).append((row.buyer_id, row.overdue))
    return PortfolioAgeing(buckets, disputed, largest)


@dataclass(frozen=True)
class PeriodTotals:
    credit_sales: dict[str, Decimal]
    """Net credit sales (`reports.SALES_KINDS`)."""
    opening: dict[str, Decimal]
    closing: dict[str, Decimal]
    closing_current: dict[str, Decimal]
    written_off: dict[str, Decimal]
    """Written off in the period (`reports.WRITTEN_OFF`), as a positive amount."""


async def period_totals(
    connection: AsyncConnection, tenant_id: str, start: date, end: date, buyer_id: str | None
) -> PeriodTotals:
    buyer_filter = " AND e.buyer_id = :buyer" if buyer_id is not None else ""
    balances = _BALANCES.replace("e.seq IS NOT NULL", "e.seq IS NOT NULL" + buyer_filter)

    async def receivables(as_of: date) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        sql = f"""
            WITH b AS ({balances})
            SELECT currency, SUM(outstanding) AS total,
                   SUM(CASE WHEN due_on >= :as_of THEN outstanding ELSE 0 END) AS current
            FROM b GROUP BY 1
        """
        params = {"tenant": tenant_id, "as_of": as_of, "buyer": buyer_id}
        rows = list(await connection.execute(sa.text(sql), params))
        return {r.currency: r.total for r in rows}, {r.currency: r.current for r in rows}

    # Net credit sales: issued less credit notes and cancellations dated in the period.
    sales_sql = sa.select(E.currency, sa.func.sum(E.amount).label("sales")).where(
        E.tenant_id == tenant_id, E.kind.in_(SALES_KINDS), E.effective_on.between(start, end)
    )
    if buyer_id is not None:
        sales_sql = sales_sql.where(E.buyer_id == buyer_id)
    sales = {r.currency: r.sales for r in await connection.execute(sales_sql.group_by(E.currency))}
    written_sql = sa.select(E.currency, (-sa.func.sum(E.amount)).label("amount")).where(
        E.tenant_id == tenant_id, E.kind == WRITTEN_OFF, E.effective_on.between(start, end)
    )
    if buyer_id is not None:
        written_sql = written_sql.where(E.buyer_id == buyer_id)
    rows = await connection.execute(written_sql.group_by(E.currency))
    written_off = {r.currency: r.amount for r in rows}
    opening, _ = await receivables(date.fromordinal(start.toordinal() - 1))
    closing, current = await receivables(end)
    return PeriodTotals(sales, opening, closing, current, written_off)


async def list_anomalies(
    connection: AsyncConnection,
    tenant_id: str,
    *,
    buyer_id: str | None,
    kind: str | None,
    as_of: date | None,
    after: tuple[str, str, int] | None,
    limit: int,
) -> list[Any]:
    a = anomalies.c
    query = sa.select(anomalies).where(a.tenant_id == tenant_id)
    if buyer_id is not None:
        query = query.where(a.buyer_id == buyer_id)
    if kind is not None:
        query = query.where(a.kind == kind)
    if as_of is not None:
        query = query.where(a.occurred_on <= as_of)
    if after is not None:
        occurred, buyer, number = after
        query = query.where(
            sa.tuple_(a.occurred_on, a.buyer_id, a.anomaly_no)
            > sa.tuple_(
                sa.literal(date.fromisoformat(occurred)), sa.literal(buyer), sa.literal(number)
            )
        )
    query = query.order_by(a.occurred_on, a.buyer_id, a.anomaly_no).limit(limit)
    return list((await connection.execute(query)).all())


async def tenant_law(connection: AsyncConnection, tenant_id: str, day: date) -> TenantLaw:
    """The tenant's profile in force on `day` (`TenantProfiled`, recorded by the kernel)."""
    profile = await PostgresStateStore().in_force(connection, tenant_id, TENANT, day)
    if profile is None:
        return TenantLaw()
    return TenantLaw(profile.body.get("jurisdiction"), profile.body.get("is_sme"))
