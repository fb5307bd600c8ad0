"""Cover per buyer (as of a date, as known on another, with its history), limit requests to the
insurer, discretionary limits, and what is insured versus uninsured."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from arshield_events.fields import Id
from arshield_events.money import Money
from arshield_insurance_claims.application import use_cases, views
from arshield_insurance_claims.entrypoints.api.deps import (
    Amount,
    Kernel,
    Ports,
    RelayWake,
    Session,
    Settings,
    not_found,
)
from arshield_runtime.http import PathId, ProblemError, ReadPrincipal, WritePrincipal

router = APIRouter()


class CoverDecisionOut(BaseModel):
    decision_id: str
    decided_by: str
    decision: str
    amount: Amount
    currency: str
    notified_on: date
    effective_on: date
    request_id: str | None = None
    policy_id: str


class CoverRowOut(CoverDecisionOut):
    seq: int
    previous: Amount | None = None


class LimitRequestOut(BaseModel):
    request_id: str
    policy_id: str
    amount: Amount
    currency: str
    requested_on: date
    decision_id: str | None = None


class CoverOut(BaseModel):
    buyer_id: str
    policy_id: str
    on: date
    known_on: date | None
    in_force: CoverDecisionOut | None
    history: list[CoverRowOut]
    limit_requests: list[LimitRequestOut]


class InvoiceInsuranceOut(BaseModel):
    invoice_id: str
    outstanding: Amount
    insured: bool
    reasons: list[str]
    cover_on_delivery: Amount
    disputed_amount: Amount = Field(
        description="what open disputes contest: never insured (the rest of the invoice is)"
    )
    insured_amount: Amount
    uninsured_amount: Amount


class ExposureOut(BaseModel):
    buyer_id: str
    policy_id: str | None
    currency: str | None
    outstanding: Amount
    insured: Amount
    uninsured: Amount
    disputed: Amount = Field(description="the part of the uninsured that open disputes contest")
    stop_supply_on: date | None
    invoices: list[InvoiceInsuranceOut]


class LimitRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_id: Id
    amount: Money = Field(description="the limit asked of the insurer")


class DiscretionaryLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_id: Id
    amount: Money = Field(description="up to the policy's discretionary limit ceiling")


class Accepted(BaseModel):
    id: str


@router.get("/buyers/{buyer_id}/cover", response_model=CoverOut)
async def cover(
    buyer_id: PathId,
    principal: ReadPrincipal,
    session: Session,
    kernel: Kernel,
    ports: Ports,
    on: date | None = None,
    known_on: date | None = None,
) -> Any:
    """The cover in force on `on` (default: the business date) as known on `known_on` (default:
    everything known), with every decision and limit request."""
    found = await views.cover(
        session, kernel, ports, principal.tenant_id, buyer_id, on=on, known_on=known_on
    )
    if found is None:
        raise not_found("cover for buyer", buyer_id)
    return found


@router.get("/buyers/{buyer_id}/exposure", response_model=ExposureOut)
async def exposure(
    buyer_id: PathId, principal: ReadPrincipal, session: Session, kernel: Kernel, ports: Ports
) -> Any:
    """Every open invoice: insured or not and why, its insured and uninsured amounts."""
    return await views.exposure(session, kernel, ports, principal.tenant_id, buyer_id)


def _positive(amount: Money, field: str) -> Decimal:
    if amount.amount <= 0:
        raise ProblemError(
            422,
            "Invalid request",
            f"{field} must be greater than zero",
            errors=[{"loc": f"{field}.amount", "msg": "must be greater than zero"}],
        )
    return amount.amount


@router.post("/buyers/{buyer_id}/limit-requests", status_code=202, response_model=Accepted)
async def request_limit(
    buyer_id: PathId,
    body: LimitRequestIn,
    principal: WritePrincipal,
    session: Session,
    kernel: Kernel,
    ports: Ports,
    settings: Settings,
    wake: RelayWake,
) -> Any:
    """Ask the insurer for a credit limit on the buyer: sent to the insurer by signed webhook,
    answered by its cover decision callback."""
    request_id = await use_cases.request_limit(
        session,
        kernel,
        ports,
        principal.tenant_id,
        buyer_id,
        policy_id=body.policy_id,
        amount=_positive(body.amount, "amount"),
        currency=body.amount.currency,
        requested_by=principal.name,
        source=settings.source,
        wake=wake,
    )
    return {"id": request_id}


@router.post("/buyers/{buyer_id}/discretionary-limit", status_code=201, response_model=Accepted)
async def discretionary_limit(
    buyer_id: PathId,
    body: DiscretionaryLimitIn,
    principal: WritePrincipal,
    session: Session,
    kernel: Kernel,
    ports: Ports,
    settings: Settings,
    wake: RelayWake,
) -> Any:
    """Set a discretionary limit (in force today; it lapses once the insurer decides)."""
    decision_id = await use_cases.set_discretionary_limit(
        session,
        kernel,
        ports,
        principal.tenant_id,
        buyer_id,
        policy_id=body.policy_id,
        amount=_positive(body.amount, "amount"),
        currency=body.amount.currency,
        source=settings.source,
        wake=wake,
    )
    return {"id": decision_id}
