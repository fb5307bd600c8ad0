"""The judgement calls the ledger took (overpayments, facts before their invoice, ...)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_ledger.adapters import queries
from arshield_ledger.entrypoints.api.deps import AsOf, Connection, Cursor, Limit
from arshield_runtime.http import Filter, Page, ReadPrincipal, decode_cursor, encode_cursor

router = APIRouter()


class AnomalyView(BaseModel):
    buyer_id: str
    anomaly_no: int
    kind: str
    occurred_on: date
    invoice_id: str | None
    ref: str
    detail: str


@router.get("/anomalies", response_model=Page[AnomalyView])
async def list_anomalies(
    connection: Connection,
    principal: ReadPrincipal,
    buyer_id: Filter = None,
    kind: Filter = None,
    as_of: AsOf = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AnomalyView]:
    """The judgement calls the ledger took (overpayments, facts before their invoice, ...)."""
    position = decode_cursor(cursor)
    after = None
    if position:
        occurred, buyer, number = position["after"]
        after = (str(occurred), str(buyer), int(number))
    rows = await queries.list_anomalies(
        connection,
        principal.tenant_id,
        buyer_id=buyer_id,
        kind=kind,
        as_of=as_of,
        after=after,
        limit=limit,
    )
    items = [
        AnomalyView(
            buyer_id=r.buyer_id,
            anomaly_no=r.anomaly_no,
            kind=r.kind,
            occurred_on=r.occurred_on,
            invoice_id=r.invoice_id,
            ref=r.ref,
            detail=r.detail,
        )
        for r in rows
    ]
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = encode_cursor(
            {"after": [last.occurred_on.isoformat(), last.buyer_id, last.anomaly_no]}
        )
    return Page[AnomalyView](items=items, next_cursor=next_cursor)
