"""The alert worklist: newest first, filtered by level and business date, in cursor pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from arshield_risk_monitor.adapters import queries
from arshield_risk_monitor.entrypoints.api.buyers import AlertOut, alert_out
from arshield_risk_monitor.entrypoints.api.deps import Limit, Session
from arshield_runtime.http import Page, ReadPrincipal, decode_cursor, encode_cursor
from arshield_runtime.paging import bad_cursor

router = APIRouter()


def _after(cursor: str | None) -> tuple[date, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    on, ident = position.get("on"), position.get("id")
    if not isinstance(on, str) or not isinstance(ident, str):
        raise bad_cursor()
    try:
        return date.fromisoformat(on), ident
    except ValueError:
        raise bad_cursor() from None


@router.get("/alerts", response_model=Page[AlertOut])
async def alerts(
    principal: ReadPrincipal,
    session: Session,
    level: Literal["watch", "warning", "critical"] | None = None,
    from_on: Annotated[date | None, Query(alias="from")] = None,
    to_on: Annotated[date | None, Query(alias="to")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Alerts raised, newest business date first."""
    rows = await queries.alerts_page(
        session,
        principal.tenant_id,
        level=level,
        from_on=from_on,
        to_on=to_on,
        after=_after(cursor),
        limit=limit + 1,
    )
    items = [alert_out(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if more and items else None
    return {
        "items": items,
        "next_cursor": encode_cursor({"on": last["raised_on"].isoformat(), "id": last["alert_id"]})
        if last
        else None,
    }
