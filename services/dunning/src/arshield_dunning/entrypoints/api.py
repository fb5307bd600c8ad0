"""Dunning's HTTP API: timelines, letters, cases, policies, promises, pauses, agencies,
deliveries (admin) and agency callbacks."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_dunning.adapters import queries
from arshield_dunning.adapters import tables as t
from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.adapters.secrets import SecretBox, SecretUnreadable
from arshield_dunning.adapters.webhooks import (
    SignatureRefused,
    TargetRefused,
    check_secret,
    check_target,
    new_secret,
    secrets_in_force,
    verify_callback,
)
from arshield_dunning.application import use_cases
from arshield_dunning.application.wiring import DunningKernel
from arshield_dunning.application.wiring import kernel as dunning_kernel
from arshield_dunning.domain.commands import DunningError
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment, plan
from arshield_dunning.settings import DunningSettings
from arshield_events import dunning as public
from arshield_events.fields import BusinessDate, Id, ShortText, Text
from arshield_events.money import DecimalString
from arshield_events.money import Money as PublicMoney
from arshield_latepay import ReferenceRates
from arshield_runtime.http import (
    AdminPrincipal,
    AgencyPrincipal,
    Authenticated,
    Filter,
    Page,
    PathId,
    ProblemError,
    ReadPrincipal,
    WritePrincipal,
    decode_cursor,
    encode_cursor,
)
from arshield_runtime.messaging import RequestEmitter
from arshield_runtime.statestore import PostgresStateStore

router = APIRouter(prefix="/v1", tags=["dunning"])
Limit = Annotated[int, Query(ge=1, le=500)]

PROMISE_HORIZON = timedelta(days=366)
"""A promise to pay falls within a year either side of the tenant's business date."""


# --- plumbing ------------------------------------------------------------------------------------


def wake_relay(request: Request) -> Callable[[], None] | None:
    running = getattr(request.app.state, "running", None)
    return running.relay.wake if running is not None else None


async def session_of(request: Request, _: Authenticated) -> AsyncIterator[AsyncSession]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(session_of)]


def settings_of(request: Request) -> DunningSettings:
    settings: DunningSettings = request.app.state.settings
    return settings


def kernel_of(request: Request) -> DunningKernel:
    """The service's kernel (`app.state.kernel`, set by bootstrap); an app built without it gets
    one on PostgreSQL with the shipped claim rules."""
    kernel: DunningKernel | None = getattr(request.app.state, "kernel", None)
    if kernel is None:
        settings = settings_of(request)
        claims = LatepayClaims(ReferenceRates.shipped(), settings.default_jurisdiction)
        kernel = dunning_kernel(
            claims,
            PostgresStateStore(),
            source=settings.source,
            watch_from_grade=settings.watch_from_grade,
        )
        request.app.state.kernel = kernel
    return kernel


Kernel = Annotated[DunningKernel, Depends(kernel_of)]


async def business_date(session: AsyncSession, kernel: DunningKernel, tenant_id: str) -> date:
    return await kernel.business_date(session, tenant_id) or datetime.now(UTC).date()


def now_of(request: Request) -> datetime:
    """The app's clock (`app.state.clock`, settable by tests), else the wall clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def secret_box(request: Request) -> SecretBox:
    return SecretBox(settings_of(request).secrets_key.get_secret_value())


def bad_cursor() -> ProblemError:
    return ProblemError(
        400,
        "Bad request",
        "the cursor is not one this API issued",
        errors=[{"loc": "query.cursor", "msg": "not a cursor this API issued"}],
    )


def cursor_field(cursor: str | None, name: str) -> str | None:
    """The `name` position of a cursor this API issued (a printable string), or None."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    value = position.get(name)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise bad_cursor()
    text = str(value)
    if not text or len(text) > 400 or any(ord(c) < 32 for c in text):
        raise bad_cursor()
    return text


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} {ident} does not exist")


def page_after(cursor: str | None) -> str | None:
    return cursor_field(cursor, "after")


def page_of(items: list[Any], limit: int, key: str) -> dict[str, Any]:
    more = len(items) > limit
    items = items[:limit]
    return {
        "items": items,
        "next_cursor": encode_cursor({"after": items[-1][key]}) if more and items else None,
    }


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for k, v in out.items():
        if isinstance(v, Decimal):
            out[k] = str(v)
    return out


# --- timelines and letters -----------------------------------------------------------------------


class TimelineEntry(BaseModel):
    action: str
    level: int
    on: date
    status: Literal["done", "scheduled", "skipped"]
    planned_on: date | None = None
    policy_version: str
    letter_id: str | None = None
    facts: dict[str, str] = {}


class Timeline(BaseModel):
    invoice_id: str
    buyer_id: str
    status: Literal["open", "settled", "cancelled", "unknown"]
    due_on: date | None
    outstanding: PublicMoney | None
    level: int
    paused: list[str]
    """What pauses the invoice now (dispute ids, promise id)."""
    policy_version: str
    entries: list[TimelineEntry]


@router.get("/invoices/{invoice_id}/timeline", response_model=Timeline)
async def invoice_timeline(
    invoice_id: PathId, principal: ReadPrincipal, session: Session, kernel: Kernel
) -> Any:
    """The invoice's dunning timeline: what was done (with the policy version and facts behind
    it), what was skipped, and what is scheduled under the current policy."""
    tenant = principal.tenant_id
    buyer_id = await queries.buyer_of_invoice(session, tenant, invoice_id)
    if buyer_id is None:
        raise not_found("invoice", invoice_id)
    state = await use_cases.buyer_state(session, kernel, tenant, buyer_id)
    inv = state.invoice(invoice_id)
    policy = (await queries.current_policies(session, tenant))[state.effective_segment]
    rows = await session.execute(
        sa.select(t.actions)
        .where(t.actions.c.tenant_id == tenant, t.actions.c.invoice_id == invoice_id)
        .order_by(t.actions.c.taken_on, t.actions.c.created_at)
    )
    entries = [
        TimelineEntry(
            action=r.action,
            level=r.level,
            on=r.taken_on,
            status="done",
            planned_on=r.planned_on,
            policy_version=r.policy_version,
            letter_id=r.letter_id,
            facts=r.facts,
        )
        for r in rows
    ]
    if inv.is_open and inv.due_on is not None:
        done_levels = {d.level for d in inv.done if d.level}
        done_days = {(d.action, d.on) for d in inv.done}
        for p in plan(policy.rules, due_on=inv.due_on, delivered_on=inv.delivered_on):
            if p.level in done_levels or (p.action, p.on) in done_days:
                continue
            passed = inv.evaluated_through is not None and p.on <= inv.evaluated_through
            superseded = bool(p.level) and p.level <= inv.level
            entries.append(
                TimelineEntry(
                    action=p.action.value,
                    level=p.level,
                    on=p.on,
                    status="skipped" if passed or superseded else "scheduled",
                    policy_version=policy.ref,
                )
            )
    status: Literal["open", "settled", "cancelled", "unknown"] = (
        inv.closed.value if inv.closed else ("open" if inv.known else "unknown")
    )
    return Timeline(
        invoice_id=invoice_id,
        buyer_id=buyer_id,
        status=status,
        due_on=inv.due_on,
        outstanding=PublicMoney(amount=inv.outstanding, currency=inv.currency)
        if inv.amount
        else None,
        level=inv.level,
        paused=[*inv.open_disputes, *([inv.promise_id] if inv.promise_id else [])],
        policy_version=policy.ref,
        entries=entries,
    )


@router.get("/letters/{letter_id}")
async def get_letter(
    letter_id: PathId, request: Request, principal: ReadPrincipal, session: Session
) -> Any:
    """A letter as sent: JSON (facts and rendered body), or the body alone with
    `Accept: text/plain`."""
    row = (
        await session.execute(
            sa.select(t.letters).where(
                t.letters.c.letter_id == letter_id, t.letters.c.tenant_id == principal.tenant_id
            )
        )
    ).first()
    if row is None:
        raise not_found("letter", letter_id)
    if "text/plain" in request.headers.get("accept", ""):
        return Response(row.body, media_type="text/plain; charset=utf-8")
    return {
        "letter_id": row.letter_id,
        "buyer_id": row.buyer_id,
        "kind": row.kind,
        "language": row.language,
        "as_of": row.as_of,
        "invoice_ids": row.invoice_ids,
        "content": row.content,
        "body": row.body,
    }


class LetterSummary(BaseModel):
    letter_id: str
    kind: str
    language: str
    as_of: date


@router.get("/invoices/{invoice_id}/letters", response_model=Page[LetterSummary])
async def invoice_letters(
    invoice_id: PathId,
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """The invoice's letters, oldest first, a page at a time."""
    lt = t.letters
    query = sa.select(lt.c.letter_id, lt.c.kind, lt.c.language, lt.c.as_of).where(
        lt.c.tenant_id == principal.tenant_id, lt.c.invoice_ids.any(invoice_id)
    )
    after_id = cursor_field(cursor, "letter_id")
    if after_id is not None:
        try:
            after_on = date.fromisoformat(cursor_field(cursor, "as_of") or "")
        except ValueError:
            raise bad_cursor() from None
        query = query.where(sa.tuple_(lt.c.as_of, lt.c.letter_id) > (after_on, after_id))
    rows = [
        LetterSummary.model_validate(dict(r._mapping))
        for r in await session.execute(query.order_by(lt.c.as_of, lt.c.letter_id).limit(limit + 1))
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page[LetterSummary](
        items=rows[:limit],
        next_cursor=encode_cursor({"as_of": last.as_of.isoformat(), "letter_id": last.letter_id})
        if last
        else None,
    )


@router.get("/buyers/{buyer_id}/dunning")
async def buyer_dunning(
    buyer_id: PathId, principal: ReadPrincipal, session: Session, kernel: Kernel
) -> Any:
    """A buyer's dunning standing: segment (and watch), open balance, controller assignment,
    statements, promises, and its buyer-level actions (statements, controller assignment)."""
    if not await use_cases.buyer_known(session, kernel, principal.tenant_id, buyer_id):
        raise not_found("buyer", buyer_id)
    state = await use_cases.buyer_state(session, kernel, principal.tenant_id, buyer_id)
    policy = (await queries.current_policies(session, principal.tenant_id))[state.effective_segment]
    actions = await session.execute(
        sa.select(t.actions)
        .where(
            t.actions.c.tenant_id == principal.tenant_id,
            t.actions.c.buyer_id == buyer_id,
            t.actions.c.invoice_id.is_(None),
        )
        .order_by(t.actions.c.taken_on, t.actions.c.action)
    )
    return {
        "buyer_id": buyer_id,
        "legal_name": state.legal_name,
        "segment": state.segment.value,
        "on_watch": state.on_watch,
        "policy_version": policy.ref,
        "language": state.language,
        "open_balance": [
            {"amount": str(v), "currency": k} for k, v in sorted(state.open_balance().items())
        ],
        "open_invoices": [i.invoice_id for i in state.open_invoices()],
        "controller_assigned_on": state.controller_assigned_on,
        "last_statement_on": state.last_statement_on,
        "promises": [p.model_dump(mode="json") for p in state.promises.values()],
        "actions": [_row(a) for a in actions],
    }


# --- cases ---------------------------------------------------------------------------------------


@router.get("/cases")
async def list_cases(
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    buyer_id: Filter = None,
    status: Filter = None,
) -> Any:
    query = sa.select(t.cases).where(t.cases.c.tenant_id == principal.tenant_id)
    if buyer_id:
        query = query.where(t.cases.c.buyer_id == buyer_id)
    if status:
        query = query.where(t.cases.c.status == status)
    if (after := page_after(cursor)) is not None:
        query = query.where(t.cases.c.case_id > after)
    rows = await session.execute(query.order_by(t.cases.c.case_id).limit(limit + 1))
    return page_of([_row(r) for r in rows], limit, "case_id")


@router.get("/cases/{case_id}")
async def get_case(case_id: PathId, principal: ReadPrincipal, session: Session) -> Any:
    row = (
        await session.execute(
            sa.select(t.cases).where(
                t.cases.c.case_id == case_id, t.cases.c.tenant_id == principal.tenant_id
            )
        )
    ).first()
    if row is None:
        raise not_found("case", case_id)
    return _row(row)


# --- policies ------------------------------------------------------------------------------------


class PolicyOut(BaseModel):
    segment: str
    version: int
    policy_version: str
    default: bool
    rules: dict[str, Any]


def _policy_out(policy: Policy) -> dict[str, Any]:
    return {
        "segment": policy.segment.value,
        "version": policy.version,
        "policy_version": policy.ref,
        "default": policy.version == 0,
        "rules": policy.rules.model_dump(mode="json"),
    }


def _int_cursor(cursor: str | None) -> int | None:
    after = page_after(cursor)
    if after is None:
        return None
    if not after.isdigit() or len(after) > 9:
        raise bad_cursor()
    return int(after)


@router.get("/policies", response_model=Page[PolicyOut])
async def current_policies(
    principal: ReadPrincipal, session: Session, limit: Limit = 50, cursor: str | None = None
) -> Any:
    """The policy in force for each segment (version 0 is the built-in default), by segment."""
    policies = await queries.current_policies(session, principal.tenant_id)
    after = page_after(cursor)
    items = [
        _policy_out(p)
        for segment, p in sorted(policies.items())
        if after is None or segment.value > after
    ]
    return page_of(items[: limit + 1], limit, "segment")


@router.get("/policies/{segment}", response_model=Page[PolicyOut])
async def policy_versions(
    segment: Segment,
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Every version of the segment's policy, newest first (the built-in default, 0, last)."""
    versions = await queries.policy_versions(
        session, principal.tenant_id, segment, before=_int_cursor(cursor), limit=limit + 1
    )
    return page_of([_policy_out(p) for p in versions], limit, "version")


@router.put("/policies/{segment}", status_code=201)
async def write_policy(
    segment: Segment,
    rules: PolicyRules,
    principal: WritePrincipal,
    session: Session,
    kernel: Kernel,
) -> Any:
    """Write a new version of the segment's policy; it applies from the next business day."""
    policy = await use_cases.write_policy(
        session, kernel, principal.tenant_id, segment, rules, created_by=principal.name
    )
    return _policy_out(policy)


# --- promises and pauses -------------------------------------------------------------------------


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


_PROMISE_STATUS = {
    "unknown-invoice": 404,
    "promise-active": 409,
    "promise-exists": 409,
    "invoice-closed": 409,
}


@router.post("/promises", status_code=201)
async def record_promise(
    body: PromiseIn, request: Request, principal: WritePrincipal, session: Session, kernel: Kernel
) -> Any:
    """Record a buyer's promise to pay: dunning of its invoices pauses until the promised date
    plus grace; a broken promise escalates at once."""
    tenant = principal.tenant_id
    try:
        promise_id = await use_cases.record_promise(
            session,
            kernel,
            tenant,
            invoice_ids=body.invoice_ids,
            promised_on=body.promised_on,
            amount=body.amount,
            grace_days=body.grace_days,
            recorded_by=body.recorded_by or principal.name,
            source=settings_of(request).source,
            wake=wake_relay(request),
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
    row = (
        await session.execute(sa.select(t.promises).where(t.promises.c.promise_id == promise_id))
    ).one()
    return _row(row)


@router.get("/promises")
async def list_promises(
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    status: Filter = None,
) -> Any:
    query = sa.select(t.promises).where(t.promises.c.tenant_id == principal.tenant_id)
    if status:
        query = query.where(t.promises.c.status == status)
    if (after := page_after(cursor)) is not None:
        query = query.where(t.promises.c.promise_id > after)
    rows = await session.execute(query.order_by(t.promises.c.promise_id).limit(limit + 1))
    return page_of([_row(r) for r in rows], limit, "promise_id")


@router.get("/pauses")
async def list_pauses(
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    active: bool = True,
) -> Any:
    """Invoices whose dunning is paused (by a dispute or a promise to pay)."""
    p = t.pauses
    key = sa.func.concat(p.c.invoice_id, "|", p.c.reference_id)
    query = sa.select(p, key.label("pause_key")).where(p.c.tenant_id == principal.tenant_id)
    if active:
        query = query.where(p.c.resumed_on.is_(None))
    if (after := page_after(cursor)) is not None:
        query = query.where(key > after)
    rows = await session.execute(query.order_by(key).limit(limit + 1))
    return page_of([_row(r) for r in rows], limit, "pause_key")


# --- agencies and deliveries (admin) -------------------------------------------------------------


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


async def _checked_url(url: str, request: Request) -> str:
    settings = settings_of(request)
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


async def _agency(session: AsyncSession, tenant: str, agency_id: str) -> Any:
    row = (
        await session.execute(
            sa.select(t.agencies).where(
                t.agencies.c.agency_id == agency_id, t.agencies.c.tenant_id == tenant
            )
        )
    ).first()
    if row is None:
        raise not_found("agency", agency_id)
    return row


@router.post("/agencies", status_code=201)
async def register_agency(
    body: AgencyIn, request: Request, principal: AdminPrincipal, session: Session
) -> Any:
    """Register a collection agency's webhook endpoint; the secret is shown once."""
    url = await _checked_url(body.url, request)
    secret = body.secret or new_secret()
    try:
        check_secret(secret)
    except ValueError as bad:
        raise ProblemError(
            422, "Invalid request", str(bad), errors=[{"loc": "secret", "msg": str(bad)}]
        ) from None
    agency_id = f"agy_{uuid.uuid4().hex[:16]}"
    await session.execute(
        t.agencies.insert().values(
            agency_id=agency_id,
            tenant_id=principal.tenant_id,
            name=body.name,
            url=url,
            secret=secret_box(request).seal(secret),
        )
    )
    return _agency_out(await _agency(session, principal.tenant_id, agency_id), secret=secret)


class AgencyOut(BaseModel):
    agency_id: str
    name: str
    url: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


@router.get("/agencies", response_model=Page[AgencyOut])
async def list_agencies(
    principal: AdminPrincipal, session: Session, limit: Limit = 50, cursor: str | None = None
) -> Any:
    query = sa.select(t.agencies).where(t.agencies.c.tenant_id == principal.tenant_id)
    if (after := page_after(cursor)) is not None:
        query = query.where(t.agencies.c.agency_id > after)
    rows = await session.execute(query.order_by(t.agencies.c.agency_id).limit(limit + 1))
    return page_of([_agency_out(r) for r in rows], limit, "agency_id")


@router.get("/agencies/{agency_id}")
async def get_agency(agency_id: PathId, principal: AdminPrincipal, session: Session) -> Any:
    return _agency_out(await _agency(session, principal.tenant_id, agency_id))


@router.patch("/agencies/{agency_id}")
async def update_agency(
    agency_id: PathId,
    body: AgencyPatch,
    request: Request,
    principal: AdminPrincipal,
    session: Session,
) -> Any:
    """Change the name or URL, or re-enable an endpoint disabled by 410 Gone."""
    await _agency(session, principal.tenant_id, agency_id)
    values: dict[str, Any] = body.model_dump(exclude_none=True)
    if body.url is not None:
        await _checked_url(body.url, request)
    if body.enabled:
        values["disabled_reason"] = None
    if values:
        await session.execute(
            t.agencies.update().where(t.agencies.c.agency_id == agency_id).values(values)
        )
    return _agency_out(await _agency(session, principal.tenant_id, agency_id))


@router.post("/agencies/{agency_id}/rotate-secret")
async def rotate_secret(
    agency_id: PathId, request: Request, principal: AdminPrincipal, session: Session
) -> Any:
    """A new secret. The old one still signs deliveries and verifies callbacks for the grace
    period (`webhook_secret_grace_seconds`, a day by default), then no longer."""
    row = await _agency(session, principal.tenant_id, agency_id)
    secret = new_secret()
    grace = timedelta(seconds=settings_of(request).webhook_secret_grace_seconds)
    await session.execute(
        t.agencies.update()
        .where(t.agencies.c.agency_id == agency_id)
        .values(
            secret=secret_box(request).seal(secret),
            previous_secret=row.secret,
            previous_secret_until=now_of(request) + grace,
        )
    )
    return _agency_out(await _agency(session, principal.tenant_id, agency_id), secret=secret)


def _delivery_out(row: Any) -> dict[str, Any]:
    out = _row(row)
    out.pop("tenant_id", None)
    return out


@router.get("/deliveries")
async def list_deliveries(
    principal: AdminPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
    agency_id: Filter = None,
    case_id: Filter = None,
    status: Filter = None,
) -> Any:
    d = t.deliveries
    query = sa.select(d).where(d.c.tenant_id == principal.tenant_id)
    for column, value in (("agency_id", agency_id), ("case_id", case_id), ("status", status)):
        if value:
            query = query.where(d.c[column] == value)
    if (after := page_after(cursor)) is not None:
        query = query.where(d.c.delivery_id > after)
    rows = await session.execute(query.order_by(d.c.delivery_id).limit(limit + 1))
    return page_of([_delivery_out(r) for r in rows], limit, "delivery_id")


async def _delivery(session: AsyncSession, tenant: str, delivery_id: str) -> Any:
    row = (
        await session.execute(
            sa.select(t.deliveries).where(
                t.deliveries.c.delivery_id == delivery_id, t.deliveries.c.tenant_id == tenant
            )
        )
    ).first()
    if row is None:
        raise not_found("delivery", delivery_id)
    return row


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: PathId, principal: AdminPrincipal, session: Session) -> Any:
    """A delivery with every attempt made."""
    out = _delivery_out(await _delivery(session, principal.tenant_id, delivery_id))
    attempts = await session.execute(
        sa.select(t.delivery_attempts)
        .where(t.delivery_attempts.c.delivery_id == delivery_id)
        .order_by(t.delivery_attempts.c.attempt_id)
    )
    out["attempts"] = [_row(a) for a in attempts]
    return out


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver(
    delivery_id: PathId, request: Request, principal: AdminPrincipal, session: Session
) -> Any:
    """Send the delivery again (same webhook-id) with a fresh retry schedule."""
    await _delivery(session, principal.tenant_id, delivery_id)
    await session.execute(
        t.deliveries.update()
        .where(t.deliveries.c.delivery_id == delivery_id)
        .values(status="pending", cycle_attempts=0, next_attempt_at=datetime.now(UTC))
    )
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
    return _delivery_out(await _delivery(session, principal.tenant_id, delivery_id))


# --- agency callbacks ----------------------------------------------------------------------------


class CaseUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: Id
    status: public.AgencyCaseStatus
    collected: PublicMoney | None = Field(
        default=None, description="total collected so far on the case"
    )
    agency_reference: ShortText | None = None
    note: Text | None = None
    updated_on: BusinessDate | None = None


_CASE_ORDER = {
    "opened": 0,
    "handed_over": 0,
    "accepted": 1,
    "collecting": 2,
    "payment_collected": 3,
    "closed": 4,
}


@router.post("/agencies/{agency_id}/callbacks")
async def agency_callback(
    agency_id: PathId,
    request: Request,
    principal: AgencyPrincipal,
    session: Session,
    kernel: Kernel,
) -> Any:
    """An agency reports on a case. Signed like our webhooks with the agency's secret and
    carrying an `Idempotency-Key`: a replay returns the first answer and changes nothing, and so
    does a replayed message (its `webhook-id` is remembered) whatever key it carries."""
    tenant = principal.tenant_id
    agency = await _agency(session, tenant, agency_id)
    raw = await request.body()
    box = secret_box(request)
    try:
        secrets_ = secrets_in_force(
            box.open(agency.secret),
            box.open_optional(agency.previous_secret),
            agency.previous_secret_until,
            now_of(request),
        )
    except SecretUnreadable:
        raise ProblemError(
            503,
            "Agency secret unreadable",
            "the agency's secret does not open with this deployment's secrets key",
        ) from None
    try:
        verify_callback(secrets_, raw, dict(request.headers))
    except SignatureRefused as refused:
        raise ProblemError(
            401,
            "Invalid signature",
            f"the callback's Standard Webhooks signature does not verify: {refused}",
            type_="urn:arshield:dunning:invalid-signature",
        ) from None
    webhook_id = request.headers["webhook-id"]  # present: the signature covers it
    if len(webhook_id) > 200:
        raise ProblemError(
            422,
            "Invalid request",
            "the webhook-id header is longer than 200 characters",
            errors=[{"loc": "header.webhook-id", "msg": "at most 200 characters"}],
        )
    key = request.headers.get("idempotency-key", "").strip()
    if not key or len(key) > 200:
        raise ProblemError(
            400,
            "Idempotency-Key required",
            "send an Idempotency-Key header (at most 200 characters)",
            errors=[{"loc": "header.idempotency-key", "msg": "required, at most 200 characters"}],
        )
    request_hash = hashlib.sha256(raw).hexdigest()
    replayed = (
        await session.execute(
            sa.select(t.callbacks).where(
                t.callbacks.c.tenant_id == tenant,
                t.callbacks.c.agency_id == agency_id,
                t.callbacks.c.webhook_id == webhook_id,
            )
        )
    ).first()
    if replayed is not None:
        if replayed.request_hash != request_hash:
            raise ProblemError(
                422,
                "webhook-id reused",
                "this webhook-id was used for a different message",
                errors=[{"loc": "header.webhook-id", "msg": "already used for another message"}],
            )
        return _replayed(replayed.response)
    seen = (
        await session.execute(
            sa.select(t.callbacks).where(
                t.callbacks.c.tenant_id == tenant,
                t.callbacks.c.agency_id == agency_id,
                t.callbacks.c.idempotency_key == key,
            )
        )
    ).first()
    if seen is not None:
        if seen.request_hash != request_hash:
            raise ProblemError(
                422,
                "Idempotency-Key reused",
                "this Idempotency-Key was used for a different request",
            )
        return _replayed(seen.response)
    try:
        update = CaseUpdateIn.model_validate_json(raw)
    except ValidationError as invalid:
        errors = [
            {"loc": ".".join(str(x) for x in e["loc"]), "msg": e["msg"]} for e in invalid.errors()
        ]
        raise ProblemError(
            422,
            "Invalid request",
            "; ".join(f"{e['loc']}: {e['msg']}" for e in errors),
            errors=errors,
        ) from None
    case = (
        await session.execute(
            sa.select(t.cases)
            .where(t.cases.c.case_id == update.case_id, t.cases.c.tenant_id == tenant)
            .with_for_update()
        )
    ).first()
    if case is None or case.agency_id != agency_id:
        raise ProblemError(
            404, "Not found", f"case {update.case_id} is not a case of agency {agency_id}"
        )
    _check_transition(case, update)
    updated_on = update.updated_on or await business_date(session, kernel, tenant)
    collected = update.collected.amount if update.collected else case.collected
    entry = {
        "status": update.status,
        "collected": str(collected),
        "updated_on": updated_on.isoformat(),
        "idempotency_key": key,
        "note": update.note,
    }
    await session.execute(
        t.cases.update()
        .where(t.cases.c.case_id == case.case_id)
        .values(
            status=update.status,
            collected=collected,
            agency_reference=update.agency_reference or case.agency_reference,
            history=t.cases.c.history.op("||")(sa.cast(sa.literal(_json([entry])), JSONB)),
            updated_at=sa.func.now(),
        )
    )
    emitter = RequestEmitter(settings_of(request).source, tenant, f"callback:{agency_id}:{key}")
    event = emitter.emit(
        public.AgencyCaseUpdated(
            case_id=case.case_id,
            buyer_id=case.buyer_id,
            agency_id=agency_id,
            status=update.status,
            collected=PublicMoney(amount=collected, currency=case.currency),
            agency_reference=update.agency_reference,
            note=update.note,
            updated_on=updated_on,
        ),
        purpose="case-updated",
        subject=case.buyer_id,
    )
    await emitter.flush(session, wake_relay(request))
    response = {
        "case_id": case.case_id,
        "status": update.status,
        "collected": str(collected),
        "currency": case.currency,
        "event_id": event.id,
    }
    try:
        async with session.begin_nested():
            await session.execute(
                t.callbacks.insert().values(
                    tenant_id=tenant,
                    agency_id=agency_id,
                    idempotency_key=key,
                    request_hash=request_hash,
                    case_id=case.case_id,
                    response=response,
                    webhook_id=webhook_id,
                )
            )
    except IntegrityError:
        raise ProblemError(
            409,
            "Conflict",
            "a callback with this Idempotency-Key or webhook-id is being processed",
        ) from None
    return response


def _replayed(response: Any) -> Response:
    return Response(
        content=_json(response),
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def _check_transition(case: Any, update: CaseUpdateIn) -> None:
    current, wanted = _CASE_ORDER[case.status], _CASE_ORDER[update.status]
    if case.status == "closed":
        raise ProblemError(409, "Case closed", f"case {case.case_id} is closed")
    if wanted < current or (wanted == current and update.status != "payment_collected"):
        raise ProblemError(
            409,
            "Invalid transition",
            f"case {case.case_id} is {case.status}; it cannot become {update.status}",
        )
    if update.collected is not None and update.collected.currency != case.currency:
        raise ProblemError(
            422,
            "Invalid request",
            f"collected must be in the case currency {case.currency}",
            errors=[{"loc": "collected.currency", "msg": f"must be {case.currency}"}],
        )
    # `collected` is the running total on the case: it never exceeds what the case claims and
    # never goes down (money collected stays collected)
    if update.collected is not None and update.collected.amount > case.amount:
        raise ProblemError(
            422,
            "Invalid request",
            f"collected {update.collected.amount} exceeds the case amount {case.amount}",
            errors=[{"loc": "collected.amount", "msg": "more than the case amount"}],
        )
    if update.collected is not None and update.collected.amount < case.collected:
        raise ProblemError(
            422,
            "Invalid request",
            f"collected is the total so far on the case; it cannot fall from {case.collected} "
            f"to {update.collected.amount}",
            errors=[{"loc": "collected.amount", "msg": "less than the total already collected"}],
        )
    if update.status == "payment_collected" and (
        update.collected is None or update.collected.amount <= 0
    ):
        raise ProblemError(
            422,
            "Invalid request",
            "status payment_collected needs the collected amount",
            errors=[{"loc": "collected", "msg": "required and positive with payment_collected"}],
        )


def _json(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))
