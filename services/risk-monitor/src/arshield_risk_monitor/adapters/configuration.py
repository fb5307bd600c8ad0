"""The scorecard versions put in force (`ScorecardActivated`, read back from the service's own
topic): recorded when consumed, so live and a rebuild see them at the same point of the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_risk_monitor.adapters import tables as t


@dataclass(frozen=True)
class Activation:
    scorecard_version: str
    effective_on: date
    activated_by: str
    activated_on: date


async def record_activation(
    session: AsyncSession, tenant_id: str, event_id: str, activation: Activation
) -> None:
    """Record the activation (in force from its effective date, after those recorded before it
    for the same date)."""
    a = t.activations
    position = await session.scalar(
        sa.select(sa.func.count()).select_from(a).where(a.c.tenant_id == tenant_id)
    )
    await session.execute(
        pg_insert(a)
        .values(
            event_id=event_id,
            tenant_id=tenant_id,
            scorecard_version=activation.scorecard_version,
            effective_on=activation.effective_on,
            activated_by=activation.activated_by,
            activated_on=activation.activated_on,
            position=int(position or 0) + 1,
        )
        .on_conflict_do_nothing()
    )


async def version_in_force(session: AsyncSession, tenant_id: str, day: date) -> str | None:
    a = t.activations
    version: str | None = await session.scalar(
        sa.select(a.c.scorecard_version)
        .where(a.c.tenant_id == tenant_id, a.c.effective_on <= day)
        .order_by(a.c.effective_on.desc(), a.c.position.desc())
        .limit(1)
    )
    return version


async def activations(session: AsyncSession, tenant_id: str) -> list[Activation]:
    a = t.activations
    rows = await session.execute(
        sa.select(a).where(a.c.tenant_id == tenant_id).order_by(a.c.effective_on, a.c.position)
    )
    return [
        Activation(r.scorecard_version, r.effective_on, r.activated_by, r.activated_on)
        for r in rows
    ]
