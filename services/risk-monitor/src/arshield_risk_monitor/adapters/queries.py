"""The read side: risk profiles, the portfolio by grade, the alert worklist, grade migration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_risk_monitor.adapters import tables as t


@dataclass(frozen=True)
class RiskProfile:
    buyer: Any
    history: list[Any]
    alerts: list[Any]


async def risk_profile(
    session: AsyncSession, tenant_id: str, buyer_id: str, *, history_limit: int = 100
) -> RiskProfile | None:
    b, h, a = t.buyers, t.history, t.alerts
    key = (b.c.tenant_id == tenant_id, b.c.buyer_id == buyer_id)
    row = (await session.execute(sa.select(b).where(*key))).first()
    if row is None:
        return None
    history = (
        await session.execute(
            sa.select(h)
            .where(h.c.tenant_id == tenant_id, h.c.buyer_id == buyer_id)
            .order_by(h.c.scored_on.desc())
            .limit(history_limit)
        )
    ).all()
    alerts = (
        await session.execute(
            sa.select(a)
            .where(a.c.tenant_id == tenant_id, a.c.buyer_id == buyer_id)
            .order_by(a.c.raised_on.desc(), a.c.alert_id)
            .limit(history_limit)
        )
    ).all()
    return RiskProfile(row, list(history), list(alerts))


async def grades(session: AsyncSession, tenant_id: str) -> list[tuple[int | None, int]]:
    b = t.buyers
    rows = await session.execute(
        sa.select(b.c.grade, sa.func.count())
        .where(b.c.tenant_id == tenant_id)
        .group_by(b.c.grade)
        .order_by(b.c.grade.nulls_last())
    )
    return [(row[0], int(row[1])) for row in rows]


async def alerts_page(
    session: AsyncSession,
    tenant_id: str,
    *,
    level: str | None,
    from_on: date | None,
    to_on: date | None,
    after: tuple[date, str] | None,
    limit: int,
) -> list[Any]:
    """Alerts newest first (by business date, then id), `limit` of them after the cursor."""
    a = t.alerts
    query = sa.select(a).where(a.c.tenant_id == tenant_id)
    if level is not None:
        query = query.where(a.c.level == level)
    if from_on is not None:
        query = query.where(a.c.raised_on >= from_on)
    if to_on is not None:
        query = query.where(a.c.raised_on <= to_on)
    if after is not None:
        on, ident = after
        query = query.where(
            sa.or_(a.c.raised_on < on, sa.and_(a.c.raised_on == on, a.c.alert_id > ident))
        )
    rows = await session.execute(query.order_by(a.c.raised_on.desc(), a.c.alert_id).limit(limit))
    return list(rows)


async def migration(
    session: AsyncSession, tenant_id: str, from_on: date, to_on: date
) -> list[tuple[int | None, int | None, int]]:
    """(grade at the start, grade at the end, buyers) over the period; None: not yet graded."""
    g = t.grade_changes

    def grade_at(day: date) -> Any:
        return (
            sa.select(g.c.buyer_id, g.c.to_grade)
            .where(g.c.tenant_id == tenant_id, g.c.changed_on <= day)
            .distinct(g.c.buyer_id)
            .order_by(g.c.buyer_id, g.c.changed_on.desc())
            .subquery()
        )

    start, end = grade_at(from_on), grade_at(to_on)
    rows = await session.execute(
        sa.select(start.c.to_grade, end.c.to_grade, sa.func.count())
        .select_from(end.outerjoin(start, start.c.buyer_id == end.c.buyer_id))
        .group_by(start.c.to_grade, end.c.to_grade)
        .order_by(start.c.to_grade.nulls_first(), end.c.to_grade)
    )
    return [(row[0], row[1], int(row[2])) for row in rows]
