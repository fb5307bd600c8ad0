"""A buyer's dunning standing."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_dunning.adapters import queries
from arshield_dunning.application import views
from arshield_dunning.entrypoints.api.deps import IsoDateTime, Kernel, Session, not_found
from arshield_runtime.http import PathId, ReadPrincipal

router = APIRouter()


class Balance(BaseModel):
    amount: str
    currency: str


class BuyerAction(BaseModel):
    action_id: str
    tenant_id: str
    buyer_id: str
    invoice_id: str | None
    action: str
    level: int
    taken_on: date
    planned_on: date | None
    policy_version: str
    facts: dict[str, str]
    letter_id: str | None
    cause_event_id: str
    created_at: IsoDateTime


class BuyerStanding(BaseModel):
    buyer_id: str
    legal_name: str | None
    segment: str
    on_watch: bool
    policy_version: str
    language: str
    open_balance: list[Balance]
    open_invoices: list[str]
    controller_assigned_on: date | None
    last_statement_on: date | None
    promises: list[dict[str, Any]]
    actions: list[BuyerAction]


@router.get("/buyers/{buyer_id}/dunning", response_model=BuyerStanding)
async def buyer_dunning(
    buyer_id: PathId, principal: ReadPrincipal, session: Session, kernel: Kernel
) -> BuyerStanding:
    """A buyer's dunning standing: segment (and watch), open balance, controller assignment,
    statements, promises, and its buyer-level actions (statements, controller assignment)."""
    found = await views.buyer_standing(session, kernel, queries, principal.tenant_id, buyer_id)
    if found is None:
        raise not_found("buyer", buyer_id)
    return BuyerStanding.model_validate(found)
