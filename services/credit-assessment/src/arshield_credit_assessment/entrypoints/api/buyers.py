"""A buyer's credit file (grade and why, limit and how it was computed, terms, security,
exposure, holds, decisions, limit history), its expected sales, and lifting a hold."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from arshield_credit_assessment.adapters import queries
from arshield_credit_assessment.application import use_cases
from arshield_credit_assessment.entrypoints.api.credit_checks import DecisionOut, row_out
from arshield_credit_assessment.entrypoints.api.deps import Desk, RelayWake, Session, not_found
from arshield_events.fields import BusinessDate, Text
from arshield_events.money import Money
from arshield_runtime.http import PathId, ReadPrincipal, WritePrincipal

router = APIRouter()


class LimitChangeOut(BaseModel):
    seq: int
    effective_on: date
    currency: str
    amount: str
    terms_days: int
    security: str
    reason: str
    policy_version: str
    computation: dict[str, Any]


class ReviewSummary(BaseModel):
    review_id: str
    subject: str
    jurisdiction: str
    compliant: bool
    findings: list[dict[str, Any]]
    reviewed_on: date


class CreditFileOut(BaseModel):
    buyer_id: str
    file: dict[str, Any] = Field(
        description="grade and why, limit with every input, terms, security, exposure per "
        "currency, holds, referrals, non-compliant invoices, payment performance"
    )
    decisions: list[DecisionOut]
    limit_history: list[LimitChangeOut]
    contract_reviews: list[ReviewSummary]


@router.get("/buyers/{buyer_id}/credit-file", response_model=CreditFileOut)
async def credit_file(buyer_id: PathId, principal: ReadPrincipal, session: Session) -> Any:
    tenant = principal.tenant_id
    found = await queries.credit_file(session, tenant, buyer_id)
    if found is None:
        raise not_found(f"buyer {buyer_id} has no credit file")
    decisions = await queries.decisions(session, tenant, buyer_id=buyer_id, limit=200)
    decisions.sort(key=lambda r: (r["decided_on"], r["decision_id"]), reverse=True)
    history = await queries.limit_history(session, tenant, buyer_id)
    reviews = await queries.contract_reviews(session, tenant, buyer_id)
    return CreditFileOut(
        buyer_id=buyer_id,
        file=found,
        decisions=[row_out(r) for r in decisions[:50]],
        limit_history=[
            LimitChangeOut(
                seq=h["seq"],
                effective_on=h["effective_on"],
                currency=h["currency"],
                amount=format(Decimal(h["amount"]).normalize(), "f"),
                terms_days=h["terms_days"],
                security=h["security"],
                reason=h["reason"],
                policy_version=h["policy_version"],
                computation=h["computation"],
            )
            for h in history
        ],
        contract_reviews=[
            ReviewSummary(
                review_id=r["review_id"],
                subject=r["subject"],
                jurisdiction=r["jurisdiction"],
                compliant=r["compliant"],
                findings=r["findings"],
                reviewed_on=r["reviewed_on"],
            )
            for r in reviews
        ],
    )


class ExposureLine(BaseModel):
    currency: str
    changed_on: date
    open_receivables: str
    open_orders: str
    total: str


class ExposureOut(BaseModel):
    buyer_id: str
    as_of: date
    exposure: list[ExposureLine]


def _text(value: Decimal) -> str:
    return format(value.normalize() if value else Decimal(0), "f")


@router.get("/buyers/{buyer_id}/exposure", response_model=ExposureOut)
async def exposure(
    buyer_id: PathId,
    principal: ReadPrincipal,
    session: Session,
    desk: Desk,
    as_of: Annotated[BusinessDate | None, Query(description="default: the business date")] = None,
) -> Any:
    """Open receivables plus open orders per currency at the end of a business date."""
    on = as_of or await use_cases.today(session, desk.kernel, principal.tenant_id)
    rows = await queries.exposure_as_of(session, principal.tenant_id, buyer_id, on)
    return ExposureOut(
        buyer_id=buyer_id,
        as_of=on,
        exposure=[
            ExposureLine(
                currency=r["currency"],
                changed_on=r["on"],
                open_receivables=_text(r["open_receivables"]),
                open_orders=_text(r["open_orders"]),
                total=_text(r["open_receivables"] + r["open_orders"]),
            )
            for r in rows
        ],
    )


class ExpectedSalesIn(BaseModel):
    monthly_sales: Money


class ExpectedSalesOut(BaseModel):
    buyer_id: str
    monthly_sales: Money
    recorded_by: str
    recorded_on: date


@router.put("/buyers/{buyer_id}/expected-sales", status_code=202, response_model=ExpectedSalesOut)
async def expected_sales(
    buyer_id: PathId,
    body: ExpectedSalesIn,
    principal: WritePrincipal,
    session: Session,
    desk: Desk,
    wake: RelayWake,
) -> Any:
    """Record the expected monthly sales to the buyer (the `need` input of its limit); applied
    when read back from the log."""
    event = await use_cases.record_expected_sales(
        session,
        desk,
        principal.tenant_id,
        buyer_id,
        body.monthly_sales,
        recorded_by=principal.name,
        wake=wake,
    )
    return ExpectedSalesOut(
        buyer_id=buyer_id,
        monthly_sales=event.monthly_sales,
        recorded_by=event.recorded_by,
        recorded_on=event.recorded_on,
    )


class ReleaseIn(BaseModel):
    reason: Text


class ReleaseOut(BaseModel):
    buyer_id: str
    hold_id: str
    released_by: str
    released_on: date
    reason: str


@router.post(
    "/buyers/{buyer_id}/holds/{hold_id}/release", status_code=202, response_model=ReleaseOut
)
async def release_hold(
    buyer_id: PathId,
    hold_id: PathId,
    body: ReleaseIn,
    principal: WritePrincipal,
    session: Session,
    desk: Desk,
    wake: RelayWake,
) -> Any:
    """A person lifts a hold (stop-supply and insolvency holds wait for one), with a reason."""
    try:
        on = await use_cases.release_hold(
            session,
            desk,
            principal.tenant_id,
            buyer_id,
            hold_id,
            reason=body.reason,
            released_by=principal.name,
            wake=wake,
        )
    except use_cases.NotFound as missing:
        raise not_found(str(missing)) from missing
    return ReleaseOut(
        buyer_id=buyer_id,
        hold_id=hold_id,
        released_by=principal.name,
        released_on=on,
        reason=body.reason,
    )
