"""Agency callbacks: an agency reports on a case (signed, idempotent)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from arshield_dunning.adapters import cases
from arshield_dunning.adapters.agencies import AGENCIES
from arshield_dunning.application import use_cases
from arshield_dunning.application.callbacks import agency_callback
from arshield_dunning.entrypoints.api.deps import Kernel, RelayWake, Session, Settings, open_session
from arshield_runtime.http import AgencyPrincipal, PathId
from arshield_runtime.webhooks.callbacks import SignedCallback, replay, signed_callback

router = APIRouter()

Verified = Annotated[
    SignedCallback,
    Depends(signed_callback(AGENCIES, session=open_session, principal=AgencyPrincipal)),
]


class CallbackOut(BaseModel):
    case_id: str
    status: str
    collected: str
    currency: str
    event_id: str


@router.post("/agencies/{agency_id}/callbacks", response_model=CallbackOut)
async def callback(
    agency_id: PathId,
    principal: AgencyPrincipal,
    signed: Verified,
    session: Session,
    kernel: Kernel,
    settings: Settings,
    wake: RelayWake,
) -> Any:
    """An agency reports on a case. Signed like our webhooks with the agency's secret and
    carrying an `Idempotency-Key`: a replay returns the first answer and changes nothing, and so
    does a replayed message (its `webhook-id` is remembered) whatever key it carries."""
    if signed.replayed is not None:
        return replay(signed)
    tenant = principal.tenant_id

    async def business_date() -> Any:
        return await use_cases.business_date(session, kernel, tenant)

    return await agency_callback(
        session,
        signed,
        cases=cases,
        business_date=business_date,
        source=settings.source,
        wake=wake,
    )
