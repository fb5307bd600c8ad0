"""Insurer callbacks: cover decisions and claim outcomes (signed, idempotent)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from arshield_insurance_claims.adapters.insurers import INSURERS
from arshield_insurance_claims.application.callbacks import insurer_callback
from arshield_insurance_claims.entrypoints.api.deps import (
    Kernel,
    Ports,
    RelayWake,
    Session,
    Settings,
    open_session,
)
from arshield_runtime.http import AgencyPrincipal, PathId
from arshield_runtime.webhooks.callbacks import SignedCallback, replay, signed_callback

router = APIRouter()

Verified = Annotated[
    SignedCallback,
    Depends(signed_callback(INSURERS, session=open_session, principal=AgencyPrincipal)),
]


class CallbackOut(BaseModel):
    kind: str
    subject_id: str
    buyer_id: str
    cover: str | None = None
    currency: str
    effective_on: str | None = None
    outcome: str | None = None
    indemnity_paid: str | None = None


@router.post("/insurers/{insurer_id}/callbacks", response_model=CallbackOut)
async def callback(
    insurer_id: PathId,
    principal: AgencyPrincipal,
    signed: Verified,
    session: Session,
    kernel: Kernel,
    ports: Ports,
    settings: Settings,
    wake: RelayWake,
) -> Any:
    """The insurer decides on cover (`kind: cover_decision`) or settles a claim (`kind:
    claim_outcome`). Signed like our webhooks with the insurer's secret, with an API key of the
    `agency` (partner callback) scope, and carrying an `Idempotency-Key`: a replay returns the first
    answer and changes nothing, whatever key a replayed message (same `webhook-id`) carries."""
    if signed.replayed is not None:
        return replay(signed)
    return await insurer_callback(session, kernel, ports, signed, source=settings.source, wake=wake)
