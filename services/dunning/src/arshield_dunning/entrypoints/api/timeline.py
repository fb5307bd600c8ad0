"""An invoice's dunning timeline: done, skipped and scheduled actions."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_dunning.adapters import queries
from arshield_dunning.application import views
from arshield_dunning.entrypoints.api.deps import Kernel, Session, not_found
from arshield_events.money import Money as PublicMoney
from arshield_runtime.http import PathId, ReadPrincipal

router = APIRouter()


class TimelineEntry(BaseModel):
    action: str
    level: int
    on: date
    status: Literal["done", "scheduled", "skipped"]
    planned_on: date | None = None
    policy_version: str
    letter_id: str | None = None
    facts: dict[str, str] = {}


class Timeline(BaseModel):
    invoice_id: str
    buyer_id: str
    status: Literal["open", "settled", "cancelled", "unknown"]
    due_on: date | None
    outstanding: PublicMoney | None
    level: int
    paused: list[str]
    """What pauses the invoice now (dispute ids, promise id)."""
    policy_version: str
    entries: list[TimelineEntry]


@router.get("/invoices/{invoice_id}/timeline", response_model=Timeline)
async def invoice_timeline(
    invoice_id: PathId, principal: ReadPrincipal, session: Session, kernel: Kernel
) -> Timeline:
    """The invoice's dunning timeline: what was done (with the policy version and facts behind
    it), what was skipped, and what is scheduled under the current policy."""
    found = await views.invoice_timeline(session, kernel, queries, principal.tenant_id, invoice_id)
    if found is None:
        raise not_found("invoice", invoice_id)
    return Timeline.model_validate(found)
