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


@dataclass(frozen=True)
class PublishedHistory:
    """What the service published over a period, as a backtest reads it: the buyers, the
    insolvencies (its known defaults), each buyer's first watch and first warning (a critical
    alert counts as both) and its published PDs."""

    from_on: date
    to_on: date
    buyers: tuple[str, ...]
    defaults: dict[str, date]
    first_watch: dict[str, date]
    first_warning: dict[str, date]
    timeline: dict[str, list[tuple[date, float]]]


async def published_span(session: AsyncSession, tenant_id: str) -> tuple[date, date] | None:
    """The first and last business date the tenant's buyers were scored on."""
    h, b = t.history, t.buyers
    first = await session.scalar(
        sa.select(sa.func.min(h.c.scored_on)).where(h.c.tenant_id == tenant_id)
    )
    last = await session.scalar(
        sa.select(sa.func.max(b.c.assessed_on)).where(b.c.tenant_id == tenant_id)
    )
    return None if first is None or last is None else (first, max(first, last))


async def published_history(
    session: AsyncSession, tenant_id: str, from_on: date, to_on: date
) -> PublishedHistory:
    """The tenant's published history over [from_on, to_on]; buyers insolvent before it are left
    out (nothing was left to foretell)."""
    b, h, a = t.buyers, t.history, t.alerts
    rows = await session.execute(
        sa.select(b.c.buyer_id, b.c.insolvent_on)
        .where(
            b.c.tenant_id == tenant_id,
            sa.or_(b.c.insolvent_on.is_(None), b.c.insolvent_on >= from_on),
        )
        .order_by(b.c.buyer_id)
    )
    buyers, defaults = [], {}
    for buyer_id, insolvent_on in rows:
        buyers.append(buyer_id)
        if insolvent_on is not None and insolvent_on <= to_on:
            defaults[buyer_id] = insolvent_on
    firsts = await session.execute(
        sa.select(a.c.buyer_id, a.c.level, sa.func.min(a.c.raised_on))
        .where(a.c.tenant_id == tenant_id, a.c.raised_on.between(from_on, to_on))
        .group_by(a.c.buyer_id, a.c.level)
    )
    watch: dict[str, date] = {}
    warning: dict[str, date] = {}
    for buyer_id, level, first in firsts:
        watch[buyer_id] = min(first, watch.get(buyer_id, first))
        if level in ("warning", "critical"):
            warning[buyer_id] = min(first, warning.get(buyer_id, first))
    marks = await session.execute(
        sa.select(h.c.buyer_id, h.c.scored_on, h.c.pd)
        .where(h.c.tenant_id == tenant_id, h.c.scored_on <= to_on)
        .order_by(h.c.buyer_id, h.c.scored_on)
    )
    timeline: dict[str, list[tuple[date, float]]] = {}
    for buyer_id, scored_on, pd in marks:
        timeline.setdefault(buyer_id, []).append((scored_on, float(pd)))
    return PublishedHistory(from_on, to_on, tuple(buyers), defaults, watch, warning, timeline)
