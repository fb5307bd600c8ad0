"""Claims with their evidence and status, recoveries and the recourse statement of a claim."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_insurance_claims.adapters import queries
from arshield_insurance_claims.application import views
from arshield_insurance_claims.entrypoints.api.deps import Amount, Limit, Ports, Session, not_found
from arshield_runtime.http import Filter, Page, PathId, ReadPrincipal
from arshield_runtime.paging import page_after, page_of

router = APIRouter()


class EvidenceOut(BaseModel):
    kind: str
    ref: str
    on: date
    invoice_ids: list[str]


class ClaimOut(BaseModel):
    claim_id: str
    buyer_id: str
    policy_id: str
    policy_version: str
    ground: str
    date_of_loss: date
    filed_on: date
    invoice_ids: list[str]
    insured_outstanding: Amount
    total_outstanding: Amount
    cover: Amount
    indemnity_percentage: Amount
    claimed_indemnity: Amount
    currency: str
    evidence: list[EvidenceOut]
    status: str
    indemnity_paid: Amount
    reason: str | None
    settled_on: date | None


class RecoveryOut(BaseModel):
    recovery_id: str
    buyer_id: str
    claim_id: str | None
    policy_id: str
    amount: Amount
    currency: str
    method: str
    to_insured: Amount
    to_insurer: Amount
    received_on: date


class RecourseOut(BaseModel):
    claim_id: str
    buyer_id: str
    currency: str
    status: str
    date_of_loss: date
    total_outstanding_at_loss: Amount
    indemnity_claimed: Amount
    indemnity_paid: Amount
    recovered_after_loss: Amount
    recovered_to_insurer: Amount
    recovered_to_insured: Amount
    owed_to_insurer: Amount
    recoveries: list[RecoveryOut]


@router.get("/claims", response_model=Page[ClaimOut])
async def claims(
    principal: ReadPrincipal,
    session: Session,
    buyer_id: Filter = None,
    status: Filter = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    rows = await queries.claims(
        session,
        principal.tenant_id,
        buyer_id=buyer_id,
        status=status,
        after=page_after(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit, "claim_id")


@router.get("/claims/{claim_id}", response_model=ClaimOut)
async def claim(claim_id: PathId, principal: ReadPrincipal, session: Session) -> Any:
    found = await queries.claim(session, principal.tenant_id, claim_id)
    if found is None:
        raise not_found("claim", claim_id)
    return found


@router.get("/claims/{claim_id}/recourse", response_model=RecourseOut)
async def recourse(
    claim_id: PathId, principal: ReadPrincipal, session: Session, ports: Ports
) -> Any:
    """The recourse statement: recoveries after the date of loss shared pro rata, and what the
    insured owes the insurer."""
    found = await views.recourse_statement(session, ports, principal.tenant_id, claim_id)
    if found is None:
        raise not_found("claim", claim_id)
    return found


@router.get("/recoveries", response_model=Page[RecoveryOut])
async def recoveries(
    principal: ReadPrincipal,
    session: Session,
    claim_id: Filter = None,
    buyer_id: Filter = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    rows = await queries.recoveries(
        session,
        principal.tenant_id,
        claim_id=claim_id,
        buyer_id=buyer_id,
        after=page_after(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit, "recovery_id")
