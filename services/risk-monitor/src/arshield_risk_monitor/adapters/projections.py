"""Risk-monitor's read models, one `<ReadModel>Projection` each, kept by the kernel from a
transaction's changes (in order; idempotent: a replayed change writes the same rows)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arshield_risk_monitor.adapters import tables as t
from arshield_risk_monitor.adapters.public_events import Labels, RiskChange, alert_id
from arshield_risk_monitor.domain.events import Assessed, LevelChanged, ScorePublished
from arshield_runtime.db import BulkInsert


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class BuyerRiskProjection:
    """Each registered buyer's latest assessment: grade, PD, points per factor, signals, level."""

    tables = ("risk_buyers",)
    _upsert = BulkInsert(
        t.buyers,
        (
            "tenant_id",
            "buyer_id",
            "grade",
            "pd",
            "score",
            "scorecard_version",
            "factors",
            "signals",
            "level",
            "insolvent_on",
            "assessed_on",
        ),
        conflict=("tenant_id", "buyer_id"),
        update=(
            "grade",
            "pd",
            "score",
            "scorecard_version",
            "factors",
            "signals",
            "level",
            "insolvent_on",
            "assessed_on",
        ),
    )

    def __init__(self, labels_of: Labels) -> None:
        self.labels_of = labels_of

    async def apply(self, session: AsyncSession, changes: Sequence[RiskChange]) -> None:
        latest: dict[tuple[str, str], tuple[Any, ...]] = {}
        for change in changes:
            state, a = change.after, change.after.current
            if a is None or not state.registered:
                continue
            if not any(isinstance(e, Assessed) for e in change.events):
                continue
            labels = self.labels_of(a.version)
            factors = [
                {"signal": s, "label": label, "points": p}
                for (s, label), p in zip(labels, a.points, strict=True)
            ]
            insolvent_on = state.insolvency.on if state.insolvency else None
            latest[(change.tenant_id, change.buyer_id)] = (
                change.tenant_id,
                change.buyer_id,
                a.grade,
                a.pd,
                a.score,
                a.version,
                _json(factors),
                _json(a.signals),
                state.level,
                insolvent_on,
                a.on,
            )
        await self._upsert.execute(session, list(latest.values()))


class ScoreHistoryProjection:
    """Every published score with the signals behind it (one row per buyer and day)."""

    tables = ("risk_score_history",)
    _upsert = BulkInsert(
        t.history,
        (
            "tenant_id",
            "buyer_id",
            "scored_on",
            "grade",
            "pd",
            "score",
            "scorecard_version",
            "signals",
        ),
        conflict=("tenant_id", "buyer_id", "scored_on"),
        update=("grade", "pd", "score", "scorecard_version", "signals"),
    )

    async def apply(self, session: AsyncSession, changes: Sequence[RiskChange]) -> None:
        rows: dict[tuple[str, str, date], tuple[Any, ...]] = {}
        for change in changes:
            for e in change.events:
                if isinstance(e, ScorePublished):
                    a = e.assessment
                    rows[(change.tenant_id, change.buyer_id, a.on)] = (
                        change.tenant_id,
                        change.buyer_id,
                        a.on,
                        a.grade,
                        a.pd,
                        a.score,
                        a.version,
                        _json(a.signals),
                    )
        await self._upsert.execute(session, list(rows.values()))


class GradeMigrationProjection:
    """Each buyer's grade moves (the first grade too), one row per buyer and day: the grade it
    started the day with and the one it ended with."""

    tables = ("risk_grade_changes",)
    _upsert = BulkInsert(
        t.grade_changes,
        ("tenant_id", "buyer_id", "changed_on", "from_grade", "to_grade"),
        conflict=("tenant_id", "buyer_id", "changed_on"),
        update=("to_grade",),
    )

    async def apply(self, session: AsyncSession, changes: Sequence[RiskChange]) -> None:
        rows: dict[tuple[str, str, date], tuple[Any, ...]] = {}
        for change in changes:
            for e in change.events:
                if isinstance(e, ScorePublished) and e.previous_grade != e.assessment.grade:
                    key = (change.tenant_id, change.buyer_id, e.assessment.on)
                    first = rows[key][3] if key in rows else e.previous_grade
                    rows[key] = (*key, first, e.assessment.grade)
        await self._upsert.execute(session, list(rows.values()))


class AlertsProjection:
    """The alert worklist: every alert raised."""

    tables = ("risk_alerts",)
    _insert = BulkInsert(
        t.alerts,
        (
            "alert_id",
            "tenant_id",
            "buyer_id",
            "level",
            "signal",
            "detail",
            "scorecard_version",
            "raised_on",
        ),
        conflict=("alert_id",),
    )

    async def apply(self, session: AsyncSession, changes: Sequence[RiskChange]) -> None:
        rows: dict[str, tuple[Any, ...]] = {}
        for change in changes:
            for e in change.events:
                if isinstance(e, LevelChanged) and e.raised and e.level is not None:
                    ident = alert_id(change, e)
                    rows[ident] = (
                        ident,
                        change.tenant_id,
                        change.buyer_id,
                        e.level,
                        e.signal,
                        e.detail,
                        e.version,
                        e.on,
                    )
        await self._insert.execute(session, list(rows.values()))


def projections(labels_of: Callable[[str], list[tuple[str, str]]]) -> list[Any]:
    return [
        BuyerRiskProjection(labels_of),
        ScoreHistoryProjection(),
        GradeMigrationProjection(),
        AlertsProjection(),
    ]
