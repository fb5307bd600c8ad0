"""A partner's webhook admin API, built for the partner's words: `/<plural>` endpoints (register,
list, get, change, rotate the secret) and `/deliveries` (list, get with every attempt, re-send).

The routes' names, paths, parameters and schemas are the partner's (`/agencies/{agency_id}`,
`AgencyOut.agency_id`), so a service's API reads as its own; the functions behind them are written
once here. Route signatures are built at runtime because FastAPI reads a path's parameter names
from the endpoint's signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import ConfigDict, Field, PlainSerializer, create_model

from arshield_events.fields import ShortText
from arshield_runtime.http import AdminPrincipal, Filter, Page, PathId
from arshield_runtime.paging import page_after, page_of
from arshield_runtime.webhooks import admin, store
from arshield_runtime.webhooks.secrets import SecretBox
from arshield_runtime.webhooks.settings import WebhookSettings
from arshield_runtime.webhooks.tables import Partner

IsoDateTime = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str)]
"""A timestamp as `datetime.isoformat()` writes it (`+00:00`)."""

Limit = Annotated[int, Query(ge=1, le=500)]


def _settings(request: Request) -> WebhookSettings:
    settings: WebhookSettings = request.app.state.settings
    return settings


def _box(request: Request) -> SecretBox:
    return SecretBox(_settings(request).secrets_key.get_secret_value())


def _now(request: Request) -> datetime:
    """The app's clock (`app.state.clock`, settable by tests), else the wall clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


Settings = Annotated[WebhookSettings, Depends(_settings)]
Box = Annotated[SecretBox, Depends(_box)]
Now = Annotated[datetime, Depends(_now)]


@dataclass(frozen=True)
class AdminApi:
    """How a service names its partner in its API."""

    partner: Partner
    plural: str
    """The endpoints' path segment and list route name: "agencies"."""
    model: str
    """The schemas' stem: "Agency" gives AgencyIn, AgencyOut, AgencyWithSecret, ..."""
    described: str
    """The partner in a sentence: "a collection agency"."""
    session: Callable[..., Any]
    """The service's session dependency (one transaction per request)."""
    wake_state: str = "dispatcher"
    """The `app.state` attribute holding the dispatcher's wake-up (a `Wake`)."""
    delivery_fields: Mapping[str, Any] = field(default_factory=dict)
    """The service's own delivery columns and their types, shown after the endpoint id."""
    delivery_filters: Sequence[str] = ()
    """Which of those filter the delivery list (as query parameters)."""


def _route(
    router: APIRouter,
    method: str,
    path: str,
    name: str,
    run: Callable[..., Any],
    parameters: Sequence[tuple[str, Any, Any]],
    **options: Any,
) -> None:
    """Add `run` (called with keyword arguments) under `name`, taking `parameters` (name,
    annotation, default) as FastAPI should see them."""

    async def endpoint(**kwargs: Any) -> Any:
        return await run(**kwargs)

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
            for n, a, d in parameters
        ]
    )
    router.add_api_route(path, endpoint, methods=[method], name=name, **options)


_ = inspect.Parameter.empty


def admin_router(api: AdminApi) -> APIRouter:
    """The endpoint and delivery routes for `api.partner` (mount under the service's prefix)."""
    partner, key, noun = api.partner, api.partner.key, api.partner.noun
    plural, stem = api.plural, api.model
    session_type = Annotated[Any, Depends(api.session)]

    endpoint_in = create_model(
        f"{stem}In",
        __config__=ConfigDict(extra="forbid"),
        name=(ShortText, ...),
        url=(str, Field(min_length=1, max_length=2000)),
        secret=(str | None, Field(default=None, description="whsec_...; generated when omitted")),
    )
    endpoint_patch = create_model(
        f"{stem}Patch",
        __config__=ConfigDict(extra="forbid"),
        name=(ShortText | None, None),
        url=(str | None, Field(default=None, min_length=1, max_length=2000)),
        enabled=(bool | None, None),
    )
    shown: dict[str, Any] = {
        key: (str, ...),
        "name": (str, ...),
        "url": (str, ...),
        "enabled": (bool, ...),
        "disabled_reason": (str | None, ...),
    }
    endpoint_out = create_model(f"{stem}Out", **shown, created_at=(datetime, ...))
    endpoint_detail = create_model(f"{stem}Detail", **shown, created_at=(IsoDateTime, ...))
    endpoint_with_secret = create_model(
        f"{stem}WithSecret", __base__=endpoint_detail, secret=(str, ...)
    )
    delivered: dict[str, Any] = {
        "delivery_id": (str, ...),
        key: (str, ...),
        **{name: (kind, ...) for name, kind in api.delivery_fields.items()},
    }
    delivery_out = create_model(
        "DeliveryOut",
        **delivered,
        event_type=(str, ...),
        body=(str, ...),
        status=(str, ...),
        attempts=(int, ...),
        cycle_attempts=(int, ...),
        next_attempt_at=(IsoDateTime | None, ...),
        last_status_code=(int | None, ...),
        last_error=(str | None, ...),
        delivered_at=(IsoDateTime | None, ...),
        traceparent=(str | None, ...),
        created_at=(IsoDateTime, ...),
    )
    attempt_out = create_model(
        "AttemptOut",
        attempt_id=(int, ...),
        delivery_id=(str, ...),
        attempt=(int, ...),
        attempted_at=(IsoDateTime, ...),
        webhook_timestamp=(int, ...),
        status_code=(int | None, ...),
        error=(str | None, ...),
        duration_ms=(int, ...),
        retry_after_seconds=(float | None, ...),
        next_attempt_at=(IsoDateTime | None, ...),
        outcome=(str, ...),
    )
    delivery_detail = create_model(
        "DeliveryDetail",
        __base__=delivery_out,
        attempts=(list[attempt_out], ...),
    )

    def out(row: Any, *, secret: str | None = None) -> dict[str, Any]:
        shown = {
            key: getattr(row, key),
            "name": row.name,
            "url": row.url,
            "enabled": row.enabled,
            "disabled_reason": row.disabled_reason,
            "created_at": row.created_at,
        }
        if secret is not None:
            shown["secret"] = secret
        return shown

    def wake(request: Request) -> Callable[[], None] | None:
        target = getattr(request.app.state, api.wake_state, None)
        return target.wake if target is not None else None

    principal = ("principal", AdminPrincipal, _)
    session = ("session", session_type, _)
    path_id = (key, PathId, _)
    query_limit = ("limit", Limit, 50)
    query_cursor = ("cursor", str | None, None)
    router = APIRouter()

    async def register(**a: Any) -> Any:
        body: Any = a["body"]
        row, secret = await admin.register_endpoint(
            a["session"],
            partner,
            a["principal"].tenant_id,
            name=body.name,
            url=body.url,
            secret=body.secret,
            settings=a["settings"],
            box=a["box"],
        )
        return out(row, secret=secret)

    async def listed(**a: Any) -> Any:
        limit = a["limit"]
        rows = await store.endpoints(
            a["session"],
            partner.tables,
            a["principal"].tenant_id,
            after=page_after(a["cursor"]),
            limit=limit + 1,
        )
        return page_of([out(r) for r in rows], limit, key)

    async def get(**a: Any) -> Any:
        return out(
            await admin.existing_endpoint(a["session"], partner, a["principal"].tenant_id, a[key])
        )

    async def update(**a: Any) -> Any:
        row = await admin.update_endpoint(
            a["session"],
            partner,
            a["principal"].tenant_id,
            a[key],
            a["body"].model_dump(exclude_none=True),
            a["settings"],
        )
        return out(row)

    async def rotate(**a: Any) -> Any:
        row, secret = await admin.rotate_secret(
            a["session"],
            partner,
            a["principal"].tenant_id,
            a[key],
            settings=a["settings"],
            box=a["box"],
            now=a["now"],
        )
        return out(row, secret=secret)

    _route(
        router,
        "POST",
        f"/{plural}",
        f"register_{noun}",
        register,
        [
            ("body", Annotated[endpoint_in, Body()], _),
            principal,
            session,
            ("settings", Settings, _),
            ("box", Box, _),
        ],
        status_code=201,
        response_model=endpoint_with_secret,
        description=f"Register {api.described}'s webhook endpoint; the secret is shown once.",
    )
    _route(
        router,
        "GET",
        f"/{plural}",
        f"list_{plural}",
        listed,
        [principal, session, query_limit, query_cursor],
        response_model=Page[endpoint_out],
    )
    _route(
        router,
        "GET",
        f"/{plural}/{{{key}}}",
        f"get_{noun}",
        get,
        [path_id, principal, session],
        response_model=endpoint_detail,
    )
    _route(
        router,
        "PATCH",
        f"/{plural}/{{{key}}}",
        f"update_{noun}",
        update,
        [
            path_id,
            ("body", Annotated[endpoint_patch, Body()], _),
            principal,
            session,
            ("settings", Settings, _),
        ],
        response_model=endpoint_detail,
        description="Change the name or URL, or re-enable an endpoint disabled by 410 Gone.",
    )
    _route(
        router,
        "POST",
        f"/{plural}/{{{key}}}/rotate-secret",
        "rotate_secret",
        rotate,
        [path_id, principal, session, ("settings", Settings, _), ("box", Box, _), ("now", Now, _)],
        response_model=endpoint_with_secret,
        description="A new secret. The old one still signs deliveries and verifies callbacks for "
        "the grace\nperiod (`webhook_secret_grace_seconds`, a day by default), then no longer.",
    )

    filters = [key, *api.delivery_filters, "status"]

    async def deliveries(**a: Any) -> Any:
        limit = a["limit"]
        rows = await store.deliveries(
            a["session"],
            partner.tables,
            a["principal"].tenant_id,
            after=page_after(a["cursor"]),
            limit=limit + 1,
            where={f: a[f] for f in filters},
        )
        return page_of(rows, limit, "delivery_id")

    async def delivery(**a: Any) -> Any:
        found = await store.delivery(
            a["session"], partner.tables, a["principal"].tenant_id, a["delivery_id"]
        )
        if found is None:
            raise admin.not_found("delivery", a["delivery_id"])
        found["attempts"] = await store.delivery_attempts(
            a["session"], partner.tables, a["delivery_id"]
        )
        return found

    async def redeliver(**a: Any) -> Any:
        return await admin.redeliver(
            a["session"],
            partner,
            a["principal"].tenant_id,
            a["delivery_id"],
            now=datetime.now(UTC),
            wake=a["wake"],
        )

    delivery_id = ("delivery_id", PathId, _)
    _route(
        router,
        "GET",
        "/deliveries",
        "list_deliveries",
        deliveries,
        [principal, session, query_limit, query_cursor, *((f, Filter, None) for f in filters)],
        response_model=Page[delivery_out],
    )
    _route(
        router,
        "GET",
        "/deliveries/{delivery_id}",
        "get_delivery",
        delivery,
        [delivery_id, principal, session],
        response_model=delivery_detail,
        description="A delivery with every attempt made.",
    )
    _route(
        router,
        "POST",
        "/deliveries/{delivery_id}/redeliver",
        "redeliver",
        redeliver,
        [
            delivery_id,
            principal,
            session,
            ("wake", Annotated[Callable[[], None] | None, Depends(wake)], _),
        ],
        status_code=202,
        response_model=delivery_out,
        description="Send the delivery again (same webhook-id) with a fresh retry schedule.",
    )
    return router
