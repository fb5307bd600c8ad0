"""Collection cases, as opened and as their agencies report on them."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_dunning.adapters import queries
from arshield_dunning.entrypoints.api.deps import (
    IsoDateTime,
    Limit,
    Session,
    not_found,
    page_after,
    page_of,
)
from arshield_runtime.http import Filter, Page, PathId, ReadPrincipal

router = APIRouter()


class CaseOut(BaseModel):
    case_id: str
    tenant_id: str
    buyer_id: str
    agency_id: str | None
    status: str
    invoice_ids: list[str]
    amount: str
    currency: str
    collected: str
    evidence: Any
    opened_on: date
    policy_version: str
    agency_reference: str | None
    history: list[dict[str, Any]]
    created_at: IsoDateTime
    updated_at: IsoDateTime


@router.get("/cases", response_model=Page[CaseOut])
async def list_cases(
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    buyer_id: Filter = None,
    status: Filter = None,
) -> Any:
    rows = await queries.cases(
        session,
        principal.tenant_id,
        after=page_after(cursor),
        limit=limit + 1,
        buyer_id=buyer_id,
        status=status,
    )
    return page_of(rows, limit, "case_id")


@router.get("/cases/{case_id}", response_model=CaseOut)
async def get_case(case_id: PathId, principal: ReadPrincipal, session: Session) -> Any:
    row = await queries.case(session, principal.tenant_id, case_id)
    if row is None:
        raise not_found("case", case_id)
    return row
