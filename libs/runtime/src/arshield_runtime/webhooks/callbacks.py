"""Signed, idempotent callbacks from a partner: a FastAPI dependency that verifies one and absorbs
a replay, and the remembering of its answer.

A callback is signed like our webhooks with the partner's secret (either secret in force during a
rotation) and carries an `Idempotency-Key`. A message sent again (its `webhook-id` remembered)
returns the first answer and changes nothing, whatever key it carries; so does a request sent
again under the same key. Only a new callback reaches the service's use case, which then calls
`remember` in the same transaction.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_runtime.http import PathId, ProblemError
from arshield_runtime.webhooks import store
from arshield_runtime.webhooks.api import Box, Now
from arshield_runtime.webhooks.secrets import SecretBox, SecretUnreadable
from arshield_runtime.webhooks.signing import SignatureRefused, secrets_in_force, verify_callback
from arshield_runtime.webhooks.tables import Partner


@dataclass(frozen=True)
class SignedCallback:
    """A callback whose signature verified, from the partner's endpoint `endpoint_id`."""

    tenant_id: str
    endpoint_id: str
    body: bytes
    webhook_id: str
    idempotency_key: str
    request_hash: str
    replayed: Any | None
    """The first answer, when this message or key was answered before (nothing to do again)."""


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def replay(callback: SignedCallback) -> Response:
    """The first answer again, marked as a replay."""
    return Response(
        content=dumps(callback.replayed),
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def signed_callback(
    partner: Partner, *, session: Callable[..., Any], principal: Any
) -> Callable[..., Any]:
    """A dependency giving the route a `SignedCallback` (the endpoint id is the path parameter
    named like the partner's key column; `principal` is the route's principal type, such as
    `AgencyPrincipal`; `session` the service's session dependency, shared with the route)."""

    async def verified(**a: Any) -> SignedCallback:
        request: Request = a["request"]
        return await _verified(
            a["session"],
            partner,
            tenant_id=a["principal"].tenant_id,
            endpoint_id=a[partner.key],
            body=await request.body(),
            headers=dict(request.headers),
            box=a["box"],
            now=a["now"],
        )

    keyword = inspect.Parameter.KEYWORD_ONLY
    verified.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(partner.key, keyword, annotation=PathId),
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("principal", keyword, annotation=principal),
            inspect.Parameter("session", keyword, annotation=Any, default=Depends(session)),
            inspect.Parameter("box", keyword, annotation=Box),
            inspect.Parameter("now", keyword, annotation=Now),
        ]
    )
    return verified


async def _verified(
    session: AsyncSession,
    partner: Partner,
    *,
    tenant_id: str,
    endpoint_id: str,
    body: bytes,
    headers: dict[str, str],
    box: SecretBox,
    now: datetime,
) -> SignedCallback:
    endpoint = await store.endpoint(session, partner.tables, tenant_id, endpoint_id)
    if endpoint is None:
        raise ProblemError(404, "Not found", f"{partner.noun} {endpoint_id} does not exist")
    _verify(partner, endpoint, body, headers, box, now)
    webhook_id = headers["webhook-id"]  # present: the signature covers it
    if len(webhook_id) > 200:
        raise ProblemError(
            422,
            "Invalid request",
            "the webhook-id header is longer than 200 characters",
            errors=[{"loc": "header.webhook-id", "msg": "at most 200 characters"}],
        )
    key = headers.get("idempotency-key", "").strip()
    if not key or len(key) > 200:
        raise ProblemError(
            400,
            "Idempotency-Key required",
            "send an Idempotency-Key header (at most 200 characters)",
            errors=[{"loc": "header.idempotency-key", "msg": "required, at most 200 characters"}],
        )
    request_hash = hashlib.sha256(body).hexdigest()
    callback = SignedCallback(tenant_id, endpoint_id, body, webhook_id, key, request_hash, None)
    replayed = await _remembered(session, partner, callback, webhook_id=webhook_id)
    if replayed is not None:
        if replayed[0] != request_hash:
            raise ProblemError(
                422,
                "webhook-id reused",
                "this webhook-id was used for a different message",
                errors=[{"loc": "header.webhook-id", "msg": "already used for another message"}],
            )
        return SignedCallback(**{**callback.__dict__, "replayed": replayed[1]})
    seen = await _remembered(session, partner, callback, idempotency_key=key)
    if seen is not None:
        if seen[0] != request_hash:
            raise ProblemError(
                422,
                "Idempotency-Key reused",
                "this Idempotency-Key was used for a different request",
            )
        return SignedCallback(**{**callback.__dict__, "replayed": seen[1]})
    return callback


def _verify(
    partner: Partner,
    endpoint: Any,
    body: bytes,
    headers: dict[str, str],
    box: SecretBox,
    now: datetime,
) -> None:
    try:
        secrets_ = secrets_in_force(
            box.open(endpoint.secret),
            box.open_optional(endpoint.previous_secret),
            endpoint.previous_secret_until,
            now,
        )
    except SecretUnreadable:
        noun = partner.noun
        raise ProblemError(
            503,
            f"{noun.capitalize()} secret unreadable",
            f"the {noun}'s secret does not open with this deployment's secrets key",
        ) from None
    try:
        verify_callback(secrets_, body, headers)
    except SignatureRefused as refused:
        raise ProblemError(
            401,
            "Invalid signature",
            f"the callback's Standard Webhooks signature does not verify: {refused}",
            type_=f"{partner.problem_type}:invalid-signature",
        ) from None


async def _remembered(
    session: AsyncSession,
    partner: Partner,
    callback: SignedCallback,
    *,
    webhook_id: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[str, Any] | None:
    """(request hash, response) of the callback with that webhook-id or Idempotency-Key."""
    c = partner.tables.callbacks
    query = sa.select(c.c.request_hash, c.c.response).where(
        c.c.tenant_id == callback.tenant_id, c.c[partner.key] == callback.endpoint_id
    )
    if webhook_id is not None:
        query = query.where(c.c.webhook_id == webhook_id)
    else:
        query = query.where(c.c.idempotency_key == idempotency_key)
    row = (await session.execute(query)).first()
    return None if row is None else (row.request_hash, row.response)


async def remember(
    session: AsyncSession,
    partner: Partner,
    callback: SignedCallback,
    response: dict[str, Any],
    **columns: Any,
) -> None:
    """Remember the answer to `callback` (with the service's own `columns`), so that it is the
    answer to every replay; 409 when the same message or key is being answered concurrently."""
    try:
        async with session.begin_nested():
            await session.execute(
                partner.tables.callbacks.insert().values(
                    tenant_id=callback.tenant_id,
                    idempotency_key=callback.idempotency_key,
                    request_hash=callback.request_hash,
                    response=response,
                    webhook_id=callback.webhook_id,
                    **{partner.key: callback.endpoint_id},
                    **columns,
                )
            )
    except IntegrityError:
        raise ProblemError(
            409,
            "Conflict",
            "a callback with this Idempotency-Key or webhook-id is being processed",
        ) from None
