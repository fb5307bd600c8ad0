"""What operators change through the API: policy versions, agencies, re-deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


async def add_agency(
    session: AsyncSession, tenant_id: str, agency_id: str, name: str, url: str, sealed: str
) -> None:
    await session.execute(
        t.agencies.insert().values(
            agency_id=agency_id, tenant_id=tenant_id, name=name, url=url, secret=sealed
        )
    )


async def change_agency(session: AsyncSession, agency_id: str, values: dict[str, Any]) -> None:
    if values:
        await session.execute(
            t.agencies.update().where(t.agencies.c.agency_id == agency_id).values(values)
        )


async def redeliver(session: AsyncSession, delivery_id: str, now: datetime) -> None:
    """Send the delivery again (same webhook-id) with a fresh retry schedule."""
    await session.execute(
        t.deliveries.update()
        .where(t.deliveries.c.delivery_id == delivery_id)
        .values(status="pending", cycle_attempts=0, next_attempt_at=now)
    )
