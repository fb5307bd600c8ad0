"""The read side: what routes and the business day read from dunning's tables (no writes); the
application's `Queries`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import tables as t
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment


async def current_policies(session: AsyncSession, tenant_id: str) -> dict[Segment, Policy]:
    """The newest version per segment; the built-in default (version 0) if none was written."""
    rows = await session.execute(
        sa.select(t.policies.c.segment, t.policies.c.version, t.policies.c.rules)
        .where(t.policies.c.tenant_id == tenant_id)
        .ext(postgresql.distinct_on(t.policies.c.segment))
        .order_by(t.policies.c.segment, t.policies.c.version.desc())
    )
    current = {segment: Policy.default(segment) for segment in Segment}
    for row in rows:
        segment = Segment(row.segment)
        current[segment] = Policy(
            segment=segment, version=row.version, rules=PolicyRules.model_validate(row.rules)
        )
    return current


async def policy_versions(
    session: AsyncSession,
    tenant_id: str,
    segment: Segment,
    *,
    before: int | None = None,
    limit: int | None = None,
) -> list[Policy]:
    """The segment's versions, newest first and the built-in default (0) last; `before` and
    `limit` select a page."""
    query = sa.select(t.policies.c.version, t.policies.c.rules).where(
        t.policies.c.tenant_id == tenant_id, t.policies.c.segment == segment.value
    )
    if before is not None:
        query = query.where(t.policies.c.version < before)
    query = query.order_by(t.policies.c.version.desc())
    if limit is not None:
        query = query.limit(limit)
    written = [
        Policy(segment=segment, version=r.version, rules=PolicyRules.model_validate(r.rules))
        for r in await session.execute(query)
    ]
    if (limit is None or len(written) < limit) and (before is None or before > 0):
        written.append(Policy.default(segment))
    return written


async def delivery_target(session: AsyncSession, tenant_id: str) -> str | None:
    """The agency new cases go to: the tenant's first enabled agency."""
    value = await session.scalar(
        sa.select(t.agencies.c.agency_id)
        .where(t.agencies.c.tenant_id == tenant_id, t.agencies.c.enabled.is_(True))
        .order_by(t.agencies.c.created_at, t.agencies.c.agency_id)
        .limit(1)
    )
    return str(value) if value is not None else None


async def buyer_of_invoice(session: AsyncSession, tenant_id: str, invoice_id: str) -> str | None:
    value = await session.scalar(
        sa.select(t.invoice_index.c.buyer_id).where(
            t.invoice_index.c.tenant_id == tenant_id,
            t.invoice_index.c.invoice_id == invoice_id,
        )
    )
    return str(value) if value is not None else None


# --- rows for the API (decimals as strings, as the API shows amounts) ---------------------------


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for k, v in out.items():
        if isinstance(v, Decimal):
            out[k] = str(v)
    return out


async def letter(session: AsyncSession, tenant_id: str, letter_id: str) -> dict[str, Any] | None:
    row = (
        await session.execute(
            sa.select(t.letters).where(
                t.letters.c.letter_id == letter_id, t.letters.c.tenant_id == tenant_id
            )
        )
    ).first()
    return None if row is None else _row(row)


async def invoice_letters(
    session: AsyncSession,
    tenant_id: str,
    invoice_id: str,
    *,
    after: tuple[date, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The invoice's letters by date and id, after `after` (`limit` of them)."""
    lt = t.letters
    query = sa.select(lt.c.letter_id, lt.c.kind, lt.c.language, lt.c.as_of).where(
        lt.c.tenant_id == tenant_id, sa.literal(invoice_id) == sa.any_(lt.c.invoice_ids)
    )
    if after is not None:
        query = query.where(sa.tuple_(lt.c.as_of, lt.c.letter_id) > after)
    rows = await session.execute(query.order_by(lt.c.as_of, lt.c.letter_id).limit(limit))
    return [dict(r._mapping) for r in rows]


async def invoice_actions(
    session: AsyncSession, tenant_id: str, invoice_id: str
) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(t.actions)
        .where(t.actions.c.tenant_id == tenant_id, t.actions.c.invoice_id == invoice_id)
        .order_by(t.actions.c.taken_on, t.actions.c.created_at)
    )
    return [dict(r._mapping) for r in rows]


async def buyer_actions(
    session: AsyncSession, tenant_id: str, buyer_id: str
) -> list[dict[str, Any]]:
    """The buyer's own actions (statements, controller assignment), not its invoices'."""
    rows = await session.execute(
        sa.select(t.actions)
        .where(
            t.actions.c.tenant_id == tenant_id,
            t.actions.c.buyer_id == buyer_id,
            t.actions.c.invoice_id.is_(None),
        )
        .order_by(t.actions.c.taken_on, t.actions.c.action)
    )
    return [_row(r) for r in rows]


async def _page(
    session: AsyncSession,
    table: sa.Table,
    tenant_id: str,
    key: str,
    *,
    after: str | None,
    limit: int,
    where: dict[str, str | None],
) -> list[dict[str, Any]]:
    query = sa.select(table).where(table.c.tenant_id == tenant_id)
    for column, value in where.items():
        if value:
            query = query.where(table.c[column] == value)
    if after is not None:
        query = query.where(table.c[key] > after)
    rows = await session.execute(query.order_by(table.c[key]).limit(limit))
    return [_row(r) for r in rows]


async def cases(
    session: AsyncSession,
    tenant_id: str,
    *,
    after: str | None,
    limit: int,
    buyer_id: str | None,
    status: str | None,
) -> list[dict[str, Any]]:
    where = {"buyer_id": buyer_id, "status": status}
    return await _page(
        session, t.cases, tenant_id, "case_id", after=after, limit=limit, where=where
    )


async def case(session: AsyncSession, tenant_id: str, case_id: str) -> dict[str, Any] | None:
    row = (
        await session.execute(
            sa.select(t.cases).where(t.cases.c.case_id == case_id, t.cases.c.tenant_id == tenant_id)
        )
    ).first()
    return None if row is None else _row(row)


async def promises(
    session: AsyncSession, tenant_id: str, *, after: str | None, limit: int, status: str | None
) -> list[dict[str, Any]]:
    return await _page(
        session,
        t.promises,
        tenant_id,
        "promise_id",
        after=after,
        limit=limit,
        where={"status": status},
    )


async def promise(session: AsyncSession, promise_id: str) -> dict[str, Any]:
    row = (
        await session.execute(sa.select(t.promises).where(t.promises.c.promise_id == promise_id))
    ).one()
    return _row(row)


async def pauses(
    session: AsyncSession, tenant_id: str, *, after: str | None, limit: int, active: bool
) -> list[dict[str, Any]]:
    p = t.pauses
    key = sa.func.concat(p.c.invoice_id, "|", p.c.reference_id)
    query = sa.select(p, key.label("pause_key")).where(p.c.tenant_id == tenant_id)
    if active:
        query = query.where(p.c.resumed_on.is_(None))
    if after is not None:
        query = query.where(key > after)
    rows = await session.execute(query.order_by(key).limit(limit))
    return [_row(r) for r in rows]
