"""Collection agencies' webhook endpoints (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from arshield_dunning.adapters import queries
from arshield_dunning.application import agencies
from arshield_dunning.entrypoints.api.deps import (
    Box,
    IsoDateTime,
    Limit,
    Now,
    Session,
    Settings,
    page_after,
    page_of,
)
from arshield_events.fields import ShortText
from arshield_runtime.http import AdminPrincipal, Page, PathId

router = APIRouter()


class AgencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    url: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(default=None, description="whsec_...; generated when omitted")


class AgencyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    enabled: bool | None = None


class AgencyOut(BaseModel):
    agency_id: str
    name: str
    url: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


class AgencyDetail(BaseModel):
    agency_id: str
    name: str
    url: str
    enabled: bool
    disabled_reason: str | None
    created_at: IsoDateTime


class AgencyWithSecret(AgencyDetail):
    secret: str
    """Shown once: when the agency is registered or its secret rotated."""


def _agency_out(row: Any, *, secret: str | None = None) -> dict[str, Any]:
    out = {
        "agency_id": row.agency_id,
        "name": row.name,
        "url": row.url,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
    }
    if secret is not None:
        out["secret"] = secret
    return out


@router.post("/agencies", status_code=201, response_model=AgencyWithSecret)
async def register_agency(
    body: AgencyIn, principal: AdminPrincipal, session: Session, settings: Settings, box: Box
) -> Any:
    """Register a collection agency's webhook endpoint; the secret is shown once."""
    row, secret = await agencies.register_agency(
        session,
        principal.tenant_id,
        name=body.name,
        url=body.url,
        secret=body.secret,
        settings=settings,
        box=box,
    )
    return _agency_out(row, secret=secret)


@router.get("/agencies", response_model=Page[AgencyOut])
async def list_agencies(
    principal: AdminPrincipal, session: Session, limit: Limit = 50, cursor: str | None = None
) -> Any:
    rows = await queries.agencies(
        session, principal.tenant_id, after=page_after(cursor), limit=limit + 1
    )
    return page_of([_agency_out(r) for r in rows], limit, "agency_id")


@router.get("/agencies/{agency_id}", response_model=AgencyDetail)
async def get_agency(agency_id: PathId, principal: AdminPrincipal, session: Session) -> Any:
    return _agency_out(await agencies.existing_agency(session, principal.tenant_id, agency_id))


@router.patch("/agencies/{agency_id}", response_model=AgencyDetail)
async def update_agency(
    agency_id: PathId,
    body: AgencyPatch,
    principal: AdminPrincipal,
    session: Session,
    settings: Settings,
) -> Any:
    """Change the name or URL, or re-enable an endpoint disabled by 410 Gone."""
    row = await agencies.update_agency(
        session, principal.tenant_id, agency_id, body.model_dump(exclude_none=True), settings
    )
    return _agency_out(row)


@router.post("/agencies/{agency_id}/rotate-secret", response_model=AgencyWithSecret)
async def rotate_secret(
    agency_id: PathId,
    principal: AdminPrincipal,
    session: Session,
    settings: Settings,
    box: Box,
    now: Now,
) -> Any:
    """A new secret. The old one still signs deliveries and verifies callbacks for the grace
    period (`webhook_secret_grace_seconds`, a day by default), then no longer."""
    row, secret = await agencies.rotate_secret(
        session, principal.tenant_id, agency_id, settings=settings, box=box, now=now
    )
    return _agency_out(row, secret=secret)
