"""The backtest report over HTTP: how early, and how rightly, the service's own published history
foretold the defaults it knows of (its insolvencies), with the measures `arshield backtest`
prints (one module computes both: `domain/backtest.py`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from arshield_risk_monitor.adapters import queries
from arshield_risk_monitor.domain import backtest as bt
from arshield_risk_monitor.entrypoints.api.deps import Limit, Session
from arshield_runtime.http import ProblemError, ReadPrincipal, decode_cursor, encode_cursor
from arshield_runtime.paging import bad_cursor

router = APIRouter()


class Measures(BaseModel):
    """The first alerts of one level judged against the defaults (lead times in days)."""

    warned: int
    true_warnings: int
    """Warned buyers that defaulted within 12 months of the first alert."""
    defaulters: int
    caught: int
    """Defaulters alerted before their default."""
    precision: float | None
    recall: float | None
    false_alarms_per_100_per_year: float
    lead_median: float | None
    lead_q1: float | None
    lead_q3: float | None
    share_90d_ahead: float | None


class Auc(BaseModel):
    days_before: int
    auc: float | None
    """None: no defaulter had a PD that early, or no healthy buyer to compare with."""


class Defaulter(BaseModel):
    buyer_id: str
    default_on: date
    first_watch_on: date | None
    first_warning_on: date | None
    warning_lead_days: int | None
    """Days from the first warning to the default (None: not warned before it)."""
    watch_lead_days: int | None


class BacktestReport(BaseModel):
    from_on: date
    to_on: date
    buyers: int
    defaulters: int
    years: float
    warning: Measures
    """The first `warning` (or `critical`) alert of each buyer."""
    watch: Measures
    """The first alert of any level."""
    pd_auc: list[Auc]
    items: list[Defaulter]
    """The defaulters, by buyer id, in cursor pages."""
    next_cursor: str | None


def _after(cursor: str | None) -> str | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    ident = position.get("id")
    if not isinstance(ident, str):
        raise bad_cursor()
    return ident


def _lead(first: date | None, default_on: date) -> int | None:
    return (default_on - first).days if first is not None and first < default_on else None


@router.get("/backtest", response_model=BacktestReport)
async def backtest(
    principal: ReadPrincipal,
    session: Session,
    from_on: Annotated[date | None, Query(alias="from")] = None,
    to_on: Annotated[date | None, Query(alias="to")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Lead time, precision, recall, false alarms and the AUC of the PD 3, 6 and 12 months before
    default, over business dates `from`-`to` (default: the whole published history), from the
    alerts and scores the service published; a default is an insolvency it published."""
    if from_on is None or to_on is None:
        span = await queries.published_span(session, principal.tenant_id)
        if span is None:
            raise ProblemError(404, "Not found", "no score was published for this tenant yet")
        from_on, to_on = from_on or span[0], to_on or span[1]
    start, end = from_on, to_on
    if end < start:
        raise ProblemError(
            422,
            "Unprocessable",
            "to must not be before from",
            errors=[{"loc": "query.to", "msg": "before from"}],
        )
    after = _after(cursor)
    history = await queries.published_history(session, principal.tenant_id, start, end)
    truth = bt.Truth(start=start, end=end, buyers=history.buyers, defaults=history.defaults)
    measured = bt.report(truth, history.first_warning, history.first_watch, history.timeline)
    listed = sorted(b for b in history.defaults if after is None or b > after)
    page = listed[:limit]
    items = [
        {
            "buyer_id": b,
            "default_on": history.defaults[b],
            "first_watch_on": history.first_watch.get(b),
            "first_warning_on": history.first_warning.get(b),
            "warning_lead_days": _lead(history.first_warning.get(b), history.defaults[b]),
            "watch_lead_days": _lead(history.first_watch.get(b), history.defaults[b]),
        }
        for b in page
    ]
    return {
        "from_on": start,
        "to_on": end,
        "buyers": len(truth.buyers),
        "defaulters": len(truth.defaults),
        "years": round(truth.years, 4),
        "warning": measured.warning,
        "watch": measured.watch,
        "pd_auc": [{"days_before": d, "auc": auc} for d, auc in measured.pd_auc.items()],
        "items": items,
        "next_cursor": encode_cursor({"id": page[-1]}) if len(listed) > limit else None,
    }
