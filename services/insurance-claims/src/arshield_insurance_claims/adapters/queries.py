"""The read side: the read models by tenant, in key order, a page at a time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_insurance_claims.adapters import tables as t


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


async def cover_history(
    session: AsyncSession, tenant_id: str, buyer_id: str
) -> list[dict[str, Any]]:
    c = t.cover
    return _rows(
        await session.execute(
            sa.select(c)
            .where(c.c.tenant_id == tenant_id, c.c.buyer_id == buyer_id)
            .order_by(c.c.seq)
        )
    )


async def limit_requests(
    session: AsyncSession, tenant_id: str, buyer_id: str
) -> list[dict[str, Any]]:
    r = t.limit_requests
    return _rows(
        await session.execute(
            sa.select(r)
            .where(r.c.tenant_id == tenant_id, r.c.buyer_id == buyer_id)
            .order_by(r.c.requested_on, r.c.request_id)
        )
    )


async def buyers_of_policy(session: AsyncSession, tenant_id: str, policy_id: str) -> list[str]:
    b = t.buyers
    query = sa.select(b.c.buyer_id).where(b.c.tenant_id == tenant_id, b.c.policy_id == policy_id)
    return list((await session.scalars(query.order_by(b.c.buyer_id))).all())


async def claimed_since(
    session: AsyncSession, tenant_id: str, policy_id: str, since: date
) -> Decimal:
    c = t.claims
    used = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(c.c.claimed_indemnity), 0)).where(
            c.c.tenant_id == tenant_id, c.c.policy_id == policy_id, c.c.filed_on >= since
        )
    )
    return Decimal(used or 0)


async def buyer_ids(
    session: AsyncSession, tenant_id: str, *, after: str | None, limit: int
) -> list[str]:
    b = t.buyers
    query = sa.select(b.c.buyer_id).where(b.c.tenant_id == tenant_id)
    if after is not None:
        query = query.where(b.c.buyer_id > after)
    return list((await session.scalars(query.order_by(b.c.buyer_id).limit(limit))).all())


async def worklist(
    session: AsyncSession,
    tenant_id: str,
    *,
    until: date | None,
    open_only: bool,
    after: tuple[date, str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    d = t.deadlines
    query = sa.select(d).where(d.c.tenant_id == tenant_id)
    if until is not None:
        query = query.where(d.c.due_on <= until)
    if open_only:
        query = query.where(d.c.done_on.is_(None))
    if after is not None:
        query = query.where(sa.tuple_(d.c.due_on, d.c.buyer_id, d.c.kind) > sa.tuple_(*after))
    return _rows(
        await session.execute(query.order_by(d.c.due_on, d.c.buyer_id, d.c.kind).limit(limit))
    )


async def notifications(
    session: AsyncSession,
    tenant_id: str,
    *,
    buyer_id: str | None,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    n = t.notifications
    query = sa.select(n).where(n.c.tenant_id == tenant_id)
    if buyer_id is not None:
        query = query.where(n.c.buyer_id == buyer_id)
    if after is not None:
        query = query.where(n.c.notification_id > after)
    return _rows(await session.execute(query.order_by(n.c.notification_id).limit(limit)))


async def claims(
    session: AsyncSession,
    tenant_id: str,
    *,
    buyer_id: str | None,
    status: str | None,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    c = t.claims
    query = sa.select(c).where(c.c.tenant_id == tenant_id)
    if buyer_id is not None:
        query = query.where(c.c.buyer_id == buyer_id)
    if status is not None:
        query = query.where(c.c.status == status)
    if after is not None:
        query = query.where(c.c.claim_id > after)
    return _rows(await session.execute(query.order_by(c.c.claim_id).limit(limit)))


async def claim(session: AsyncSession, tenant_id: str, claim_id: str) -> dict[str, Any] | None:
    c = t.claims
    row = (
        await session.execute(
            sa.select(c).where(c.c.tenant_id == tenant_id, c.c.claim_id == claim_id)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def recoveries(
    session: AsyncSession,
    tenant_id: str,
    *,
    claim_id: str | None,
    buyer_id: str | None,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    r = t.recoveries
    query = sa.select(r).where(r.c.tenant_id == tenant_id)
    if claim_id is not None:
        query = query.where(r.c.claim_id == claim_id)
    if buyer_id is not None:
        query = query.where(r.c.buyer_id == buyer_id)
    if after is not None:
        query = query.where(r.c.recovery_id > after)
    return _rows(await session.execute(query.order_by(r.c.recovery_id).limit(limit)))


async def recovered_for_claim(
    session: AsyncSession, tenant_id: str, claim_id: str
) -> list[dict[str, Any]]:
    r = t.recoveries
    return _rows(
        await session.execute(
            sa.select(r)
            .where(r.c.tenant_id == tenant_id, r.c.claim_id == claim_id)
            .order_by(r.c.received_on, r.c.recovery_id)
        )
    )
