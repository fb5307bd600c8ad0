"""The order credit check: `POST /v1/credit-checks`, a person's answer to a referral, and the
referred orders waiting for one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from arshield_credit_assessment.adapters import queries
from arshield_credit_assessment.application import use_cases
from arshield_credit_assessment.domain.events import Decision
from arshield_credit_assessment.entrypoints.api.contracts import (
    ContractTermsIn,
    ReviewOut,
    findings,
)
from arshield_credit_assessment.entrypoints.api.deps import (
    Amount,
    Desk,
    Limit,
    RelayWake,
    Session,
    StatementConnection,
    money,
    not_found,
    page_after,
    page_of,
)
from arshield_events.fields import Id, Text
from arshield_events.money import CurrencyCode
from arshield_runtime.http import Page, PathId, ProblemError, ReadPrincipal, WritePrincipal

router = APIRouter()


class AmountIn(BaseModel):
    amount: Decimal = Field(gt=0, max_digits=19, decimal_places=4)
    currency: CurrencyCode


class CheckIn(BaseModel):
    buyer_id: Id
    order_id: Id | None = None
    amount: AmountIn
    payment_terms_days: int | None = Field(default=None, ge=0, le=3650)
    contract_terms: ContractTermsIn | None = None


class ReasonOut(BaseModel):
    code: str
    text: str


class DecisionOut(BaseModel):
    decision_id: str
    request_id: str
    buyer_id: str
    order_id: str | None
    decision: str
    reasons: list[ReasonOut]
    requested: Amount
    credit_limit: Amount | None
    exposure_before: Amount
    exposure_after: Amount
    policy_version: str
    decided_on: date
    decided_by: str | None = None
    referred_decision_id: str | None = None
    contract_review: ReviewOut | None = None


def decision_out(buyer_id: str, d: Decision) -> DecisionOut:
    c = d.currency
    return DecisionOut(
        decision_id=d.decision_id,
        request_id=d.request_id,
        buyer_id=buyer_id,
        order_id=d.order_id,
        decision=d.decision,
        reasons=[
            ReasonOut(code=k, text=t) for k, t in zip(d.reason_codes, d.reasons, strict=False)
        ],
        requested=money(d.requested, c),
        credit_limit=money(d.credit_limit, c),
        exposure_before=money(d.exposure_before, c),
        exposure_after=money(d.exposure_after, c),
        policy_version=d.policy_version,
        decided_on=d.decided_on,
        decided_by=d.decided_by,
        referred_decision_id=d.referred_decision_id,
    )


def row_out(row: dict[str, Any]) -> DecisionOut:
    return decision_out(
        row["buyer_id"],
        Decision(
            decision_id=row["decision_id"],
            request_id=row["request_id"],
            order_id=row["order_id"],
            currency=row["currency"],
            requested=row["requested"],
            decision=row["decision"],
            reason_codes=tuple(row["reason_codes"]),
            reasons=tuple(row["reasons"]),
            credit_limit=row["credit_limit"],
            exposure_before=row["exposure_before"],
            exposure_after=row["exposure_after"],
            policy_version=row["policy_version"],
            decided_on=row["decided_on"],
            decided_by=row["decided_by"],
            referred_decision_id=row["referred_decision_id"],
        ),
    )


@router.post("/credit-checks", response_model=DecisionOut)
async def credit_check(
    body: CheckIn,
    principal: WritePrincipal,
    connection: StatementConnection,
    desk: Desk,
    wake: RelayWake,
) -> Any:
    """Approve, refer or decline an order from the service's own state; the same decision is
    written to the log as `CreditDecisionMade`. The same order asked again gets the same
    decision until a fact it rests on changes."""
    terms = None
    if body.contract_terms is not None:  # dated by the check
        terms = body.contract_terms.terms(
            body.payment_terms_days or 0, body.amount.amount, date.min
        )
    asked = use_cases.CheckAsked(
        buyer_id=body.buyer_id,
        order_id=body.order_id,
        amount=body.amount.amount,
        currency=body.amount.currency,
        payment_terms_days=body.payment_terms_days,
        terms=terms,
    )
    decision, review = await use_cases.credit_check(
        connection, desk, principal.tenant_id, asked, wake=wake
    )
    out = decision_out(body.buyer_id, decision)
    if review is not None:
        out.contract_review = ReviewOut(
            subject=body.order_id or decision.decision_id,
            jurisdiction=review.jurisdiction,
            compliant=review.compliant,
            findings=findings(review),
            policy_version=decision.policy_version,
            reviewed_on=decision.decided_on,
        )
    return out


@router.get("/credit-checks/{decision_id}", response_model=DecisionOut)
async def get_decision(decision_id: PathId, principal: ReadPrincipal, session: Session) -> Any:
    row = await queries.decision(session, principal.tenant_id, decision_id)
    if row is None:
        raise not_found(f"credit check {decision_id} does not exist (or is not yet recorded)")
    return row_out(row)


class PersonDecisionIn(BaseModel):
    decision: Literal["approved", "declined"]
    reason: Text


@router.post("/credit-checks/{decision_id}/decision", status_code=201, response_model=DecisionOut)
async def decide_referral(
    decision_id: PathId,
    body: PersonDecisionIn,
    principal: WritePrincipal,
    session: Session,
    desk: Desk,
    wake: RelayWake,
) -> Any:
    """A person approves or declines a referred order; recorded with who decided."""
    try:
        decided = await use_cases.decide_referral(
            session,
            desk,
            principal.tenant_id,
            decision_id,
            outcome=body.decision,
            reason=body.reason,
            decided_by=principal.name,
            wake=wake,
        )
    except use_cases.NotFound as missing:
        raise not_found(str(missing)) from missing
    except use_cases.Conflict as conflict:
        raise ProblemError(409, "Conflict", str(conflict)) from conflict
    row = await queries.decision(session, principal.tenant_id, decision_id)
    return decision_out(row["buyer_id"] if row else "", decided)


@router.get("/referred-orders", response_model=Page[DecisionOut])
async def referred_orders(
    principal: ReadPrincipal, session: Session, limit: Limit = 50, cursor: str | None = None
) -> Any:
    """Referred orders no person has answered yet."""
    rows = await queries.decisions(
        session, principal.tenant_id, referred_open=True, after=page_after(cursor), limit=limit + 1
    )
    return page_of([row_out(r) for r in rows], limit, "decision_id")
