"""What operators change through the API: policy versions, the application's `PolicyBook`
(agencies and re-deliveries are the runtime's webhook endpoints and deliveries)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import tables as t
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment


async def add_policy(
    session: AsyncSession, tenant_id: str, segment: Segment, rules: PolicyRules, created_by: str
) -> Policy:
    """Write the next version; concurrent writers serialise on the tenant's segment."""
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
        {"k": f"dunning-policy:{tenant_id}:{segment.value}"},
    )
    latest = await session.scalar(
        sa.select(sa.func.max(t.policies.c.version)).where(
            t.policies.c.tenant_id == tenant_id, t.policies.c.segment == segment.value
        )
    )
    version = (latest or 0) + 1
    await session.execute(
        t.policies.insert().values(
            tenant_id=tenant_id,
            segment=segment.value,
            version=version,
            rules=rules.model_dump(mode="json"),
            created_by=created_by,
        )
    )
    return Policy(segment=segment, version=version, rules=rules)
