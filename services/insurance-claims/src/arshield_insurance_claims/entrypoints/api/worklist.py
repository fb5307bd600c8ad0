"""The deadline worklist of the credit controller, and the notifications sent to the insurer."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from arshield_insurance_claims.adapters import queries
from arshield_insurance_claims.application import use_cases
from arshield_insurance_claims.domain.day import Deadline
from arshield_insurance_claims.entrypoints.api.deps import Amount, Kernel, Limit, Session
from arshield_runtime.http import Filter, Page, ReadPrincipal, encode_cursor
from arshield_runtime.paging import bad_cursor, cursor_field, page_after, page_of

router = APIRouter()


class DeadlineOut(BaseModel):
    buyer_id: str
    kind: str
    due_on: date
    invoice_id: str | None
    done_on: date | None
    status: str
    missed_on: date | None = Field(
        default=None, description="the business day it was found missed (`DeadlineMissed`)"
    )
    consequence: str | None = Field(
        default=None, description="what the miss costs, e.g. `claim_may_be_refused`"
    )
    policy_version: str
    position: str


class NotificationOut(BaseModel):
    notification_id: str
    buyer_id: str
    policy_id: str
    ground: str
    invoice_ids: list[str]
    amount: Amount
    currency: str
    oldest_due_on: date
    deadline_on: date
    notified_on: date
    in_time: bool
    forfeited: list[str]


def _position(cursor: str | None) -> tuple[date, str, str] | None:
    raw = cursor_field(cursor, "position")
    if raw is None:
        return None
    try:
        due, buyer, kind = raw.split("|", 2)
        return date.fromisoformat(due), buyer, kind
    except ValueError:
        raise bad_cursor() from None


@router.get("/deadlines", response_model=Page[DeadlineOut])
async def deadlines(
    principal: ReadPrincipal,
    session: Session,
    kernel: Kernel,
    until: date | None = None,
    open_only: bool = True,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Deadlines earliest first (stop-supply at MEP expiry, overdue notification, collection
    hand-over, claim; insolvency notification), each `upcoming`, `missed`, `done` or `late` as
    of the tenant's business date; a missed collection hand-over names the day it was found
    missed and its consequence."""
    today = await use_cases.business_date(session, kernel, principal.tenant_id)
    rows = await queries.worklist(
        session,
        principal.tenant_id,
        until=until,
        open_only=open_only,
        after=_position(cursor),
        limit=limit + 1,
    )
    items = [
        {
            **row,
            "status": Deadline(
                row["kind"], row["due_on"], row["invoice_id"], row["done_on"]
            ).status(today),
            "position": f"{row['due_on'].isoformat()}|{row['buyer_id']}|{row['kind']}",
        }
        for row in rows
    ]
    more = len(items) > limit
    items = items[:limit]
    cursor_out = encode_cursor({"position": items[-1]["position"]}) if more and items else None
    return {"items": items, "next_cursor": cursor_out}


@router.get("/notifications", response_model=Page[NotificationOut])
async def notifications(
    principal: ReadPrincipal,
    session: Session,
    buyer_id: Filter = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Notifications sent to the insurer; `in_time` false: sent after the deadline, forfeiting
    the cover on the `forfeited` invoices."""
    rows = await queries.notifications(
        session, principal.tenant_id, buyer_id=buyer_id, after=page_after(cursor), limit=limit + 1
    )
    return page_of(rows, limit, "notification_id")
