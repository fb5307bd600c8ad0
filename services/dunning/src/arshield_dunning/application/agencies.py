"""Agencies (admin): registering an endpoint, changing it, rotating its secret, re-sending a
delivery. Endpoints are checked (no private targets unless allowed, never the platform's ports)
and secrets sealed at rest."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import configuration, queries
from arshield_dunning.adapters.secrets import SecretBox
from arshield_dunning.adapters.webhooks import TargetRefused, check_secret, check_target, new_secret
from arshield_dunning.settings import DunningSettings
from arshield_runtime.http import ProblemError


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} {ident} does not exist")


async def checked_url(url: str, settings: DunningSettings) -> str:
    try:
        await check_target(
            url,
            allow_private=settings.allow_private_webhook_targets,
            refused_ports=settings.refused_ports,
        )
    except TargetRefused as refused:
        raise ProblemError(
            422,
            "Endpoint refused",
            str(refused),
            type_="urn:arshield:dunning:endpoint-refused",
            errors=[{"loc": "url", "msg": str(refused)}],
        ) from None
    return url


async def existing_agency(session: AsyncSession, tenant_id: str, agency_id: str) -> Any:
    row = await queries.agency(session, tenant_id, agency_id)
    if row is None:
        raise not_found("agency", agency_id)
    return row


async def register_agency(
    session: AsyncSession,
    tenant_id: str,
    *,
    name: str,
    url: str,
    secret: str | None,
    settings: DunningSettings,
    box: SecretBox,
) -> tuple[Any, str]:
    """The new agency's row and its secret (shown once)."""
    url = await checked_url(url, settings)
    secret = secret or new_secret()
    try:
        check_secret(secret)
    except ValueError as bad:
        raise ProblemError(
            422, "Invalid request", str(bad), errors=[{"loc": "secret", "msg": str(bad)}]
        ) from None
    agency_id = f"agy_{uuid.uuid4().hex[:16]}"
    await configuration.add_agency(session, tenant_id, agency_id, name, url, box.seal(secret))
    return await existing_agency(session, tenant_id, agency_id), secret


async def update_agency(
    session: AsyncSession,
    tenant_id: str,
    agency_id: str,
    values: dict[str, Any],
    settings: DunningSettings,
) -> Any:
    """Change the name or URL, or re-enable an endpoint disabled by 410 Gone."""
    await existing_agency(session, tenant_id, agency_id)
    if values.get("url") is not None:
        await checked_url(values["url"], settings)
    if values.get("enabled"):
        values["disabled_reason"] = None
    await configuration.change_agency(session, agency_id, values)
    return await existing_agency(session, tenant_id, agency_id)


async def rotate_secret(
    session: AsyncSession,
    tenant_id: str,
    agency_id: str,
    *,
    settings: DunningSettings,
    box: SecretBox,
    now: datetime,
) -> tuple[Any, str]:
    row = await existing_agency(session, tenant_id, agency_id)
    secret = new_secret()
    grace = timedelta(seconds=settings.webhook_secret_grace_seconds)
    await configuration.change_agency(
        session,
        agency_id,
        {
            "secret": box.seal(secret),
            "previous_secret": row.secret,
            "previous_secret_until": now + grace,
        },
    )
    return await existing_agency(session, tenant_id, agency_id), secret


async def redeliver(
    session: AsyncSession,
    tenant_id: str,
    delivery_id: str,
    *,
    now: datetime,
    wake: Callable[[], None] | None,
) -> dict[str, Any]:
    if await queries.delivery(session, tenant_id, delivery_id) is None:
        raise not_found("delivery", delivery_id)
    await configuration.redeliver(session, delivery_id, now)
    if wake is not None:
        wake()
    found = await queries.delivery(session, tenant_id, delivery_id)
    assert found is not None
    return found
