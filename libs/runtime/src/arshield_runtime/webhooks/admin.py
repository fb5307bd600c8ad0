"""Operators' use cases on a partner's endpoints: registering one, changing it, rotating its secret,
re-sending a delivery. URLs are checked (no private targets unless allowed, never the platform's
ports) and secrets sealed at rest. Answers are problem documents (`ProblemError`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arshield_runtime.http import ProblemError
from arshield_runtime.webhooks import store
from arshield_runtime.webhooks.secrets import SecretBox
from arshield_runtime.webhooks.settings import WebhookSettings
from arshield_runtime.webhooks.signing import check_secret, new_secret
from arshield_runtime.webhooks.tables import Partner
from arshield_runtime.webhooks.targets import TargetRefused, check_target


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} {ident} does not exist")


async def checked_url(url: str, settings: WebhookSettings, partner: Partner) -> str:
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
            type_=f"{partner.problem_type}:endpoint-refused",
            errors=[{"loc": "url", "msg": str(refused)}],
        ) from None
    return url


async def existing_endpoint(
    session: AsyncSession, partner: Partner, tenant_id: str, endpoint_id: str
) -> Any:
    row = await store.endpoint(session, partner.tables, tenant_id, endpoint_id)
    if row is None:
        raise not_found(partner.noun, endpoint_id)
    return row


async def register_endpoint(
    session: AsyncSession,
    partner: Partner,
    tenant_id: str,
    *,
    name: str,
    url: str,
    secret: str | None,
    settings: WebhookSettings,
    box: SecretBox,
) -> tuple[Any, str]:
    """The new endpoint's row and its secret (shown once)."""
    url = await checked_url(url, settings, partner)
    secret = secret or new_secret()
    try:
        check_secret(secret)
    except ValueError as bad:
        raise ProblemError(
            422, "Invalid request", str(bad), errors=[{"loc": "secret", "msg": str(bad)}]
        ) from None
    endpoint_id = f"{partner.id_prefix}{uuid.uuid4().hex[:16]}"
    await store.add_endpoint(
        session,
        partner.tables,
        {
            partner.key: endpoint_id,
            "tenant_id": tenant_id,
            "name": name,
            "url": url,
            "secret": box.seal(secret),
        },
    )
    return await existing_endpoint(session, partner, tenant_id, endpoint_id), secret


async def update_endpoint(
    session: AsyncSession,
    partner: Partner,
    tenant_id: str,
    endpoint_id: str,
    values: dict[str, Any],
    settings: WebhookSettings,
) -> Any:
    """Change the name or URL, or re-enable an endpoint disabled by 410 Gone."""
    await existing_endpoint(session, partner, tenant_id, endpoint_id)
    if values.get("url") is not None:
        await checked_url(values["url"], settings, partner)
    if values.get("enabled"):
        values["disabled_reason"] = None
    await store.change_endpoint(session, partner.tables, endpoint_id, values)
    return await existing_endpoint(session, partner, tenant_id, endpoint_id)


async def rotate_secret(
    session: AsyncSession,
    partner: Partner,
    tenant_id: str,
    endpoint_id: str,
    *,
    settings: WebhookSettings,
    box: SecretBox,
    now: datetime,
) -> tuple[Any, str]:
    """A new secret; the old one stays in force for the grace period."""
    row = await existing_endpoint(session, partner, tenant_id, endpoint_id)
    secret = new_secret()
    grace = timedelta(seconds=settings.webhook_secret_grace_seconds)
    await store.change_endpoint(
        session,
        partner.tables,
        endpoint_id,
        {
            "secret": box.seal(secret),
            "previous_secret": row.secret,
            "previous_secret_until": now + grace,
        },
    )
    return await existing_endpoint(session, partner, tenant_id, endpoint_id), secret


async def redeliver(
    session: AsyncSession,
    partner: Partner,
    tenant_id: str,
    delivery_id: str,
    *,
    now: datetime,
    wake: Callable[[], None] | None,
) -> dict[str, Any]:
    if await store.delivery(session, partner.tables, tenant_id, delivery_id) is None:
        raise not_found("delivery", delivery_id)
    await store.redeliver(session, partner.tables, delivery_id, now)
    if wake is not None:
        wake()
    found = await store.delivery(session, partner.tables, tenant_id, delivery_id)
    assert found is not None
    return found
