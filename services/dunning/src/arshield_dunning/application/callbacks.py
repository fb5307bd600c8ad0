"""An agency reports on a case: the callback use case.

The runtime verified the callback (signed like our webhooks with the agency's secret) and absorbed
a replay (a remembered `webhook-id` or `Idempotency-Key`); what reaches here is new. The report is
decided by the case's state machine (`domain/cases.py`); its answers are problem documents
(`ProblemError`), as the route returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arshield_dunning.application.ports import CaseBook
from arshield_dunning.domain.cases import CaseRefused, CaseReport, decide_update, evolve_case
from arshield_dunning.domain.state import Money
from arshield_events import dunning as public
from arshield_events.fields import BusinessDate, Id, ShortText, Text
from arshield_events.money import Money as PublicMoney
from arshield_runtime.http import ProblemError, invalid_request
from arshield_runtime.kernel import Session
from arshield_runtime.messaging import RequestEmitter
from arshield_runtime.webhooks.callbacks import SignedCallback


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


async def agency_callback(
    session: Session,
    callback: SignedCallback,
    *,
    cases: CaseBook,
    business_date: Callable[[], Any],
    source: str,
    wake: Callable[[], None] | None,
) -> dict[str, Any]:
    tenant, agency_id, raw = callback.tenant_id, callback.endpoint_id, callback.body
    key = callback.idempotency_key
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
    await cases.remember_answer(session, callback, response, case.case_id)
    return response


def _parsed(raw: bytes) -> CaseUpdateIn:
    try:
        return CaseUpdateIn.model_validate_json(raw)
    except ValidationError as invalid:
        raise invalid_request(invalid) from None


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
