"""The scorecard versions: which is in force, every activation, and putting one in force (admin)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from arshield_events.fields import BusinessDate
from arshield_risk_monitor.application import use_cases
from arshield_risk_monitor.application.wiring import SCORECARD
from arshield_risk_monitor.entrypoints.api.deps import (
    Kernel,
    RelayWake,
    Scorecards,
    Session,
    Settings,
)
from arshield_runtime.http import AdminPrincipal, ProblemError, ReadPrincipal

router = APIRouter()


class ActivationIn(BaseModel):
    scorecard_version: str = Field(min_length=1, max_length=64)
    effective_on: BusinessDate | None = Field(
        default=None, description="the first business date scored under it (default: the next)"
    )


class ActivationOut(BaseModel):
    scorecard_version: str
    effective_on: date
    activated_by: str
    activated_on: date


class ScorecardOut(BaseModel):
    business_date: date
    in_force: str | None
    """The version today's business day was scored under (the default until one is activated)."""
    known_versions: list[str]
    activations: list[ActivationOut]


def _out(a: Any) -> dict[str, Any]:
    return {
        "scorecard_version": a.scorecard_version,
        "effective_on": a.effective_on,
        "activated_by": a.activated_by,
        "activated_on": a.activated_on,
    }


def _recorded(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in ActivationOut.model_fields}


@router.get("/scorecard", response_model=ScorecardOut)
async def scorecard(
    principal: ReadPrincipal, session: Session, kernel: Kernel, cards: Scorecards
) -> Any:
    tenant = principal.tenant_id
    today = await use_cases.business_date(session, kernel, tenant)
    entry = await kernel.in_force(session, tenant, SCORECARD, today)
    default = getattr(kernel.wiring.decider, "default_version", None)
    recorded = await kernel.configurations(session, tenant, SCORECARD)
    return {
        "business_date": today,
        "in_force": entry.version if entry is not None else default,
        "known_versions": sorted(cards),
        "activations": [_recorded(a.body) for a in recorded],
    }


@router.put("/scorecard", status_code=202, response_model=ActivationOut)
async def activate(
    body: ActivationIn,
    principal: AdminPrincipal,
    session: Session,
    kernel: Kernel,
    cards: Scorecards,
    wake: RelayWake,
    settings: Settings,
) -> Any:
    """Put a shipped scorecard version in force from a business date after today's (default: the
    next). Accepted as an event on the log; it shows among the activations once consumed."""
    try:
        event = await use_cases.activate_scorecard(
            session,
            kernel,
            cards,
            principal.tenant_id,
            version=body.scorecard_version,
            effective_on=body.effective_on,
            activated_by=principal.name,
            source=settings.source,
            wake=wake,
        )
    except use_cases.ActivationInvalid as invalid:
        raise ProblemError(
            422,
            "Unprocessable",
            invalid.detail,
            errors=[{"loc": f"body.{invalid.field}", "msg": invalid.detail}],
        ) from invalid
    return _out(event)
