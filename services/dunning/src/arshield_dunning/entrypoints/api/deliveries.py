"""Webhook deliveries to agencies and their attempts (admin), and re-sending one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_dunning.adapters import queries
from arshield_dunning.application import agencies
from arshield_dunning.entrypoints.api.deps import (
    DispatcherWake,
    IsoDateTime,
    Limit,
    Session,
    not_found,
    page_after,
    page_of,
)
from arshield_runtime.http import AdminPrincipal, Filter, Page, PathId

router = APIRouter()


class DeliveryOut(BaseModel):
    delivery_id: str
    agency_id: str
    case_id: str | None
    event_type: str
    body: str
    status: str
    attempts: int
    cycle_attempts: int
    next_attempt_at: IsoDateTime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: IsoDateTime | None
    traceparent: str | None
    created_at: IsoDateTime


class AttemptOut(BaseModel):
    attempt_id: int
    delivery_id: str
    attempt: int
    attempted_at: IsoDateTime
    webhook_timestamp: int
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after_seconds: float | None
    next_attempt_at: IsoDateTime | None
    outcome: str


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]  # type: ignore[assignment]


@router.get("/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    principal: AdminPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    agency_id: Filter = None,
    case_id: Filter = None,
    status: Filter = None,
) -> Any:
    rows = await queries.deliveries(
        session,
        principal.tenant_id,
        after=page_after(cursor),
        limit=limit + 1,
        where={"agency_id": agency_id, "case_id": case_id, "status": status},
    )
    return page_of(rows, limit, "delivery_id")


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(delivery_id: PathId, principal: AdminPrincipal, session: Session) -> Any:
    """A delivery with every attempt made."""
    out = await queries.delivery(session, principal.tenant_id, delivery_id)
    if out is None:
        raise not_found("delivery", delivery_id)
    out["attempts"] = await queries.delivery_attempts(session, delivery_id)
    return out


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryOut)
async def redeliver(
    delivery_id: PathId, principal: AdminPrincipal, session: Session, wake: DispatcherWake
) -> Any:
    """Send the delivery again (same webhook-id) with a fresh retry schedule."""
    return await agencies.redeliver(
        session, principal.tenant_id, delivery_id, now=datetime.now(UTC), wake=wake
    )
