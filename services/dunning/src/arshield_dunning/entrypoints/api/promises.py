"""Promises to pay: recording one (through the kernel), and listing them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from arshield_dunning.adapters import queries
from arshield_dunning.application import use_cases
from arshield_dunning.domain.commands import DunningError
from arshield_dunning.entrypoints.api.deps import (
    IsoDateTime,
    Kernel,
    Limit,
    RelayWake,
    Session,
    Settings,
    not_found,
    page_after,
    page_of,
)
from arshield_events.fields import BusinessDate, Id, ShortText
from arshield_events.money import DecimalString
from arshield_runtime.http import Filter, Page, ProblemError, ReadPrincipal, WritePrincipal

router = APIRouter()


class PromiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_ids: tuple[Id, ...] = Field(min_length=1, max_length=200)
    promised_on: BusinessDate
    amount: Annotated[DecimalString, Field(gt=0)] | None = Field(
        default=None, description="defaults to what the invoices still owe"
    )
    grace_days: int | None = Field(
        default=None, ge=0, le=365, description="defaults to the policy's grace"
    )
    recorded_by: ShortText | None = None


class PromiseOut(BaseModel):
    promise_id: str
    tenant_id: str
    buyer_id: str
    invoice_ids: list[str]
    promised_on: date
    grace_until: date
    amount: str
    currency: str
    status: str
    recorded_on: date
    recorded_by: str | None
    ended_on: date | None
    created_at: IsoDateTime


_PROMISE_STATUS = {
    "unknown-invoice": 404,
    "promise-active": 409,
    "promise-exists": 409,
    "invoice-closed": 409,
}


@router.post("/promises", status_code=201, response_model=PromiseOut)
async def record_promise(
    body: PromiseIn,
    principal: WritePrincipal,
    session: Session,
    kernel: Kernel,
    settings: Settings,
    wake: RelayWake,
) -> Any:
    """Record a buyer's promise to pay: dunning of its invoices pauses until the promised date
    plus grace; a broken promise escalates at once."""
    try:
        promise_id = await use_cases.record_promise(
            session,
            kernel,
            queries,
            principal.tenant_id,
            invoice_ids=body.invoice_ids,
            promised_on=body.promised_on,
            amount=body.amount,
            grace_days=body.grace_days,
            recorded_by=body.recorded_by or principal.name,
            source=settings.source,
            wake=wake,
        )
    except use_cases.UnknownInvoices as unknown:
        raise not_found("invoice", ", ".join(unknown.invoice_ids)) from None
    except use_cases.PromiseInvalid as invalid:
        raise ProblemError(
            422, "Invalid request", invalid.detail, errors=invalid.errors or None
        ) from None
    except DunningError as refused:
        raise ProblemError(
            _PROMISE_STATUS.get(refused.code, 422),
            "Promise refused",
            refused.detail,
            type_=f"urn:arshield:dunning:{refused.code}",
        ) from None
    return await queries.promise(session, promise_id)


@router.get("/promises", response_model=Page[PromiseOut])
async def list_promises(
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    status: Filter = None,
) -> Any:
    rows = await queries.promises(
        session, principal.tenant_id, after=page_after(cursor), limit=limit + 1, status=status
    )
    return page_of(rows, limit, "promise_id")
