"""Agency callbacks: an agency reports on a case (signed, idempotent)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from arshield_dunning.adapters.cases import dumps
from arshield_dunning.application import use_cases
from arshield_dunning.application.callbacks import Callback, Replayed, agency_callback
from arshield_dunning.entrypoints.api.deps import Box, Kernel, Now, RelayWake, Session, Settings
from arshield_runtime.http import AgencyPrincipal, PathId

router = APIRouter()


class CallbackOut(BaseModel):
    case_id: str
    status: str
    collected: str
    currency: str
    event_id: str


@router.post("/agencies/{agency_id}/callbacks", response_model=CallbackOut)
async def callback(
    agency_id: PathId,
    request: Request,
    principal: AgencyPrincipal,
    session: Session,
    kernel: Kernel,
    settings: Settings,
    box: Box,
    now: Now,
    wake: RelayWake,
) -> Any:
    """An agency reports on a case. Signed like our webhooks with the agency's secret and
    carrying an `Idempotency-Key`: a replay returns the first answer and changes nothing, and so
    does a replayed message (its `webhook-id` is remembered) whatever key it carries."""
    tenant = principal.tenant_id

    async def business_date() -> Any:
        return await use_cases.business_date(session, kernel, tenant)

    answer = await agency_callback(
        session,
        Callback(tenant, agency_id, await request.body(), request.headers, now),
        box=box,
        business_date=business_date,
        source=settings.source,
        wake=wake,
    )
    if isinstance(answer, Replayed):
        return Response(
            content=dumps(answer.response),
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    return answer
