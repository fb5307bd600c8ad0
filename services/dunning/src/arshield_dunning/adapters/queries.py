"""The read side: what routes and the business day read from dunning's tables (no writes)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import tables as t
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment


async def current_policies(session: AsyncSession, tenant_id: str) -> dict[Segment, Policy]:
    """The newest version per segment; the built-in default (version 0) if none was written."""
    rows = await session.execute(
        sa.select(t.policies.c.segment, t.policies.c.version, t.policies.c.rules)
        .where(t.policies.c.tenant_id == tenant_id)
        .distinct(t.policies.c.segment)
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


async def buyers_with_invoices(session: AsyncSession, tenant_id: str) -> list[str]:
    """The tenant's buyers that have an invoice dunning knows, in buyer order."""
    rows = await session.execute(
        sa.select(t.invoice_index.c.buyer_id)
        .where(t.invoice_index.c.tenant_id == tenant_id)
        .distinct()
        .order_by(t.invoice_index.c.buyer_id)
    )
    return [row.buyer_id for row in rows]
