"""An agency reports on a case: the callback use case.

Signed like our webhooks with the agency's secret and carrying an `Idempotency-Key`: a replay
returns the first answer and changes nothing, and so does a replayed message (its `webhook-id` is
remembered) whatever key it carries. The report itself is decided by the case's state machine
(`domain/cases.py`); its answers are problem documents (`ProblemError`), as the route returns them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import cases, queries
from arshield_dunning.adapters.secrets import SecretBox, SecretUnreadable
from arshield_dunning.adapters.webhooks import SignatureRefused, secrets_in_force, verify_callback
from arshield_dunning.domain.cases import CaseRefused, CaseReport, decide_update, evolve_case
from arshield_dunning.domain.state import Money
from arshield_events import dunning as public
from arshield_events.fields import BusinessDate, Id, ShortText, Text
from arshield_events.money import Money as PublicMoney
from arshield_runtime.http import ProblemError
from arshield_runtime.messaging import RequestEmitter


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


@dataclass(frozen=True)
class Replayed:
    """The first answer to a callback sent again."""

    response: Any


@dataclass(frozen=True)
class Callback:
    tenant_id: str
    agency_id: str
    body: bytes
    headers: Mapping[str, str]
    now: datetime


async def agency_callback(
    session: AsyncSession,
    callback: Callback,
    *,
    box: SecretBox,
    business_date: Callable[[], Any],
    source: str,
    wake: Callable[[], None] | None,
) -> dict[str, Any] | Replayed:
    tenant, agency_id, raw = callback.tenant_id, callback.agency_id, callback.body
    agency = await queries.agency(session, tenant, agency_id)
    if agency is None:
        raise ProblemError(404, "Not found", f"agency {agency_id} does not exist")
    _verify(agency, callback, box)
    webhook_id = callback.headers["webhook-id"]  # present: the signature covers it
    if len(webhook_id) > 200:
        raise ProblemError(
            422,
            "Invalid request",
            "the webhook-id header is longer than 200 characters",
            errors=[{"loc": "header.webhook-id", "msg": "at most 200 characters"}],
        )
    key = callback.headers.get("idempotency-key", "").strip()
    if not key or len(key) > 200:
        raise ProblemError(
            400,
            "Idempotency-Key required",
            "send an Idempotency-Key header (at most 200 characters)",
            errors=[{"loc": "header.idempotency-key", "msg": "required, at most 200 characters"}],
        )
    request_hash = hashlib.sha256(raw).hexdigest()
    replayed = await cases.remembered_callback(session, tenant, agency_id, webhook_id=webhook_id)
    if replayed is not None:
        if replayed[0] != request_hash:
            raise ProblemError(
                422,
                "webhook-id reused",
                "this webhook-id was used for a different message",
                errors=[{"loc": "header.webhook-id", "msg": "already used for another message"}],
            )
        return Replayed(replayed[1])
    seen = await cases.remembered_callback(session, tenant, agency_id, idempotency_key=key)
    if seen is not None:
        if seen[0] != request_hash:
            raise ProblemError(
                422,
                "Idempotency-Key reused",
                "this Idempotency-Key was used for a different request",
            )
        return Replayed(seen[1])
    update = _parsed(raw)
    case = await cases.case_for_update(session, tenant, update.case_id)
    if case is None or case.agency_id != agency_id:
        raise ProblemError(
            404, "Not found", f"case {update.case_id} is not a case of agency {agency_id}"
        )
    updated_on: date = update.updated_on or await business_date()
    report = CaseReport(
        status=update.status,
        collected=Money(amount=update.collected.amount, currency=update.collected.currency)
        if update.collected
        else None,
        agency_reference=update.agency_reference,
        note=update.note,
        updated_on=updated_on,
    )
    try:
        updated = decide_update(case, report)
    except CaseRefused as refused:
        raise _problem(refused) from None
    await cases.save_update(session, evolve_case(case, updated), updated, key)
    emitter = RequestEmitter(source, tenant, f"callback:{agency_id}:{key}")
    event = emitter.emit(
        public.AgencyCaseUpdated(
            case_id=case.case_id,
            buyer_id=case.buyer_id,
            agency_id=agency_id,
            status=update.status,
            collected=PublicMoney(amount=updated.collected, currency=case.currency),
            agency_reference=update.agency_reference,
            note=update.note,
            updated_on=updated_on,
        ),
        purpose="case-updated",
        subject=case.buyer_id,
    )
    await emitter.flush(session, wake)
    response = {
        "case_id": case.case_id,
        "status": update.status,
        "collected": str(updated.collected),
        "currency": case.currency,
        "event_id": event.id,
    }
    try:
        await cases.remember_callback(
            session,
            tenant_id=tenant,
            agency_id=agency_id,
            idempotency_key=key,
            request_hash=request_hash,
            case_id=case.case_id,
            response=response,
            webhook_id=webhook_id,
        )
    except cases.CallbackInFlight:
        raise ProblemError(
            409,
            "Conflict",
            "a callback with this Idempotency-Key or webhook-id is being processed",
        ) from None
    return response


def _verify(agency: Any, callback: Callback, box: SecretBox) -> None:
    try:
        secrets_ = secrets_in_force(
            box.open(agency.secret),
            box.open_optional(agency.previous_secret),
            agency.previous_secret_until,
            callback.now,
        )
    except SecretUnreadable:
        raise ProblemError(
            503,
            "Agency secret unreadable",
            "the agency's secret does not open with this deployment's secrets key",
        ) from None
    try:
        verify_callback(secrets_, callback.body, dict(callback.headers))
    except SignatureRefused as refused:
        raise ProblemError(
            401,
            "Invalid signature",
            f"the callback's Standard Webhooks signature does not verify: {refused}",
            type_="urn:arshield:dunning:invalid-signature",
        ) from None


def _parsed(raw: bytes) -> CaseUpdateIn:
    try:
        return CaseUpdateIn.model_validate_json(raw)
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


def _problem(refused: CaseRefused) -> ProblemError:
    if refused.kind == "closed":
        return ProblemError(409, "Case closed", refused.detail)
    if refused.kind == "transition":
        return ProblemError(409, "Invalid transition", refused.detail)
    return ProblemError(
        422,
        "Invalid request",
        refused.detail,
        errors=[{"loc": refused.field or "", "msg": refused.reason or refused.detail}],
    )
