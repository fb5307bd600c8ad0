"""A buyer's risk profile: grade, PD, points per factor, signals with their history, alerts."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_risk_monitor.adapters import queries
from arshield_risk_monitor.entrypoints.api.deps import Session, not_found
from arshield_runtime.http import PathId, ReadPrincipal

router = APIRouter()


class FactorOut(BaseModel):
    signal: str
    label: str
    value: float | None
    points: int


class ScoredOut(BaseModel):
    scored_on: date
    grade: int
    pd: float
    score: int | None
    scorecard_version: str
    signals: dict[str, float | None]


class AlertOut(BaseModel):
    alert_id: str
    buyer_id: str
    level: str
    signal: str
    detail: str
    scorecard_version: str
    raised_on: date


class RiskProfileOut(BaseModel):
    buyer_id: str
    grade: int | None
    pd: float | None
    score: int | None
    scorecard_version: str
    level: str | None
    insolvent_on: date | None
    assessed_on: date
    factors: list[FactorOut]
    signals: dict[str, float | None]
    history: list[ScoredOut]
    alerts: list[AlertOut]


def alert_out(row: Any) -> dict[str, Any]:
    return {
        "alert_id": row.alert_id,
        "buyer_id": row.buyer_id,
        "level": row.level,
        "signal": row.signal,
        "detail": row.detail,
        "scorecard_version": row.scorecard_version,
        "raised_on": row.raised_on,
    }


@router.get("/buyers/{buyer_id}/risk", response_model=RiskProfileOut)
async def risk_profile(buyer_id: PathId, principal: ReadPrincipal, session: Session) -> Any:
    """The buyer's grade and why: points per factor, its signals now and at each published
    score (newest first, at most 100), and its alerts."""
    profile = await queries.risk_profile(session, principal.tenant_id, buyer_id)
    if profile is None:
        raise not_found("buyer", buyer_id)
    b = profile.buyer
    return {
        "buyer_id": b.buyer_id,
        "grade": b.grade,
        "pd": b.pd,
        "score": b.score,
        "scorecard_version": b.scorecard_version,
        "level": b.level,
        "insolvent_on": b.insolvent_on,
        "assessed_on": b.assessed_on,
        "factors": [{**f, "value": b.signals.get(f["signal"])} for f in b.factors],
        "signals": b.signals,
        "history": [
            {
                "scored_on": h.scored_on,
                "grade": h.grade,
                "pd": h.pd,
                "score": h.score,
                "scorecard_version": h.scorecard_version,
                "signals": h.signals,
            }
            for h in profile.history
        ],
        "alerts": [alert_out(a) for a in profile.alerts],
    }
