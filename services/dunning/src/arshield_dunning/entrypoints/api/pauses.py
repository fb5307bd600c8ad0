"""Invoices whose dunning is paused."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_dunning.adapters import queries
from arshield_dunning.entrypoints.api.deps import Limit, Session, page_after, page_of
from arshield_runtime.http import Page, ReadPrincipal

router = APIRouter()


class PauseOut(BaseModel):
    tenant_id: str
    invoice_id: str
    reference_id: str
    buyer_id: str
    reason: str
    paused_on: date
    until_on: date | None
    resumed_on: date | None
    resume_reason: str | None
    pause_key: str


@router.get("/pauses", response_model=Page[PauseOut])
async def list_pauses(
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    active: bool = True,
) -> Any:
    """Invoices whose dunning is paused (by a dispute or a promise to pay)."""
    rows = await queries.pauses(
        session, principal.tenant_id, after=page_after(cursor), limit=limit + 1, active=active
    )
    return page_of(rows, limit, "pause_key")
