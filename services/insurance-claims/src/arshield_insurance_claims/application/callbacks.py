"""The insurer calls back: a cover decision (full, partial, refused, a reduction or withdrawal,
with its effective date) or a claim's outcome (paid, partially paid, rejected with a reason).

The runtime verified the callback (signed with the insurer's secret) and absorbed a replay (a
remembered `webhook-id` or `Idempotency-Key`); what reaches here is new. Its effect is a buyer
command through the kernel (its event reaches the outbox in the same transaction) and the answer
is remembered for any replay.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from arshield_events.fields import BusinessDate, Id, Text
from arshield_events.money import Money
from arshield_insurance_claims.application import use_cases
from arshield_insurance_claims.application.ports import Ports
from arshield_insurance_claims.application.wiring import InsuranceKernel
from arshield_insurance_claims.domain.commands import SettleClaim
from arshield_runtime.http import ProblemError, invalid_request
from arshield_runtime.kernel import Session
from arshield_runtime.webhooks.callbacks import SignedCallback, remember


class CoverDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["cover_decision"]
    decision_id: Id
    buyer_id: Id
    request_id: Id | None = None
    decision: Literal["full", "partial", "refused", "reduced", "withdrawn"]
    amount: Money | None = Field(default=None, description="the cover granted (none: as asked)")
    effective_on: BusinessDate | None = None


class ClaimOutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["claim_outcome"]
    claim_id: Id
    outcome: Literal["paid", "partially_paid", "rejected"]
    indemnity_paid: Money
    reason: Text | None = None
    settled_on: BusinessDate | None = None


CallbackIn = Annotated[CoverDecisionIn | ClaimOutcomeIn, Field(discriminator="kind")]
_CALLBACK = TypeAdapter(CallbackIn)


def _parsed(raw: bytes) -> CoverDecisionIn | ClaimOutcomeIn:
    try:
        return _CALLBACK.validate_json(raw)
    except ValidationError as invalid:
        raise invalid_request(invalid) from None


async def insurer_callback(
    session: Session,
    kernel: InsuranceKernel,
    ports: Ports,
    callback: SignedCallback,
    *,
    source: str,
    wake: use_cases.Wake,
) -> dict[str, Any]:
    tenant, insurer_id = callback.tenant_id, callback.endpoint_id
    body = _parsed(callback.body)
    if isinstance(body, CoverDecisionIn):
        state = await use_cases.insurer_decides_cover(
            session,
            kernel,
            ports,
            tenant,
            body.buyer_id,
            insurer_id=insurer_id,
            decision_id=body.decision_id,
            decision=body.decision,
            amount=None if body.amount is None else body.amount.amount,
            currency=None if body.amount is None else body.amount.currency,
            effective_on=body.effective_on,
            request_id=body.request_id,
            source=source,
            wake=wake,
        )
        record = next(c for c in state.covers if c.decision_id == body.decision_id)
        response: dict[str, Any] = {
            "kind": body.kind,
            "subject_id": body.decision_id,
            "buyer_id": body.buyer_id,
            "cover": str(record.amount),
            "currency": record.currency,
            "effective_on": record.effective_on.isoformat(),
            "outcome": None,
            "indemnity_paid": None,
        }
        subject = body.decision_id
    else:
        found = await ports.queries.claim(session, tenant, body.claim_id)
        if found is None:
            raise ProblemError(404, "Not found", f"claim {body.claim_id} does not exist")
        policy = await use_cases.policy_named(session, ports, tenant, found["policy_id"])
        if policy.insurer_id != insurer_id:
            raise ProblemError(
                404, "Not found", f"claim {body.claim_id} is not one of {insurer_id}"
            )
        if body.indemnity_paid.currency != found["currency"]:
            raise ProblemError(
                422,
                "Invalid request",
                f"indemnity_paid is in {found['currency']}",
                errors=[{"loc": "indemnity_paid.currency", "msg": f"must be {found['currency']}"}],
            )
        settled_on: date = body.settled_on or await use_cases.business_date(session, kernel, tenant)
        command = SettleClaim(
            claim_id=body.claim_id,
            outcome=body.outcome,
            indemnity_paid=body.indemnity_paid.amount,
            settled_on=settled_on,
            reason=body.reason,
        )
        await use_cases.run(
            session,
            kernel,
            tenant,
            found["buyer_id"],
            command,
            cause_id=f"claim:{insurer_id}:{body.claim_id}",
            source=source,
            wake=wake,
        )
        response = {
            "kind": body.kind,
            "subject_id": body.claim_id,
            "buyer_id": found["buyer_id"],
            "cover": None,
            "effective_on": None,
            "outcome": body.outcome,
            "indemnity_paid": str(body.indemnity_paid.amount),
            "currency": found["currency"],
        }
        subject = body.claim_id
    # the answer as the route gives it, so that a replay answers the very same document
    await remember(session, ports.insurers, callback, response, subject_id=subject)
    return response
