"""Worklists: active holds and limits due for their periodic review."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_credit_assessment.adapters import queries
from arshield_credit_assessment.application import use_cases
from arshield_credit_assessment.entrypoints.api.deps import (
    Desk,
    Limit,
    Session,
    page_after,
    page_of,
)
from arshield_runtime.http import Page, ReadPrincipal

router = APIRouter()


class HoldOut(BaseModel):
    key: str
    buyer_id: str
    hold_id: str
    cause: str
    reason: str
    invoice_ids: list[str]
    placed_on: date
    policy_version: str
    lifted_by_a_person_only: bool


@router.get("/holds", response_model=Page[HoldOut])
async def hold_worklist(
    principal: ReadPrincipal, session: Session, limit: Limit = 50, cursor: str | None = None
) -> Any:
    """Every active hold, by buyer."""
    rows = await queries.holds(
        session, principal.tenant_id, after=page_after(cursor), limit=limit + 1
    )
    items = [
        HoldOut(
            key=f"{r['buyer_id']}/{r['hold_id']}",
            buyer_id=r["buyer_id"],
            hold_id=r["hold_id"],
            cause=r["cause"],
            reason=r["reason"],
            invoice_ids=r["invoice_ids"],
            placed_on=r["placed_on"],
            policy_version=r["policy_version"],
            lifted_by_a_person_only=r["cause"] in ("stop_supply", "insolvency", "manual"),
        )
        for r in rows
    ]
    return page_of(items, limit, "key")


class DueReviewOut(BaseModel):
    buyer_id: str
    review_on: date
    grade: dict[str, Any]
    limit: dict[str, Any] | None
    payment_performance: dict[str, Any]


@router.get("/reviews/due", response_model=Page[DueReviewOut])
async def due_reviews(
    principal: ReadPrincipal,
    session: Session,
    desk: Desk,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Limits whose review date has come (12 months, sooner for worse grades), with the buyer's
    payment performance since the limit was set."""
    on = await use_cases.today(session, desk.kernel, principal.tenant_id)
    rows = await queries.due_reviews(
        session, principal.tenant_id, on, after=page_after(cursor), limit=limit + 1
    )
    items = [
        DueReviewOut(
            buyer_id=r["buyer_id"],
            review_on=r["review_on"],
            grade=r["file"]["grade"],
            limit=r["file"]["limit"],
            payment_performance=r["file"]["payment_performance"],
        )
        for r in rows
    ]
    return page_of(items, limit, "buyer_id")
