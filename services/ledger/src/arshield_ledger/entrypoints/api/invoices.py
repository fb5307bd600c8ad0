"""Invoices: one with its history, and the list (as of a date when given)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_events.ledger import InvoiceStatus
from arshield_ledger.adapters import queries
from arshield_ledger.domain import reports
from arshield_ledger.entrypoints.api.deps import (
    Amount,
    AsOf,
    Connection,
    Cursor,
    Limit,
    money,
    not_found,
    resolve_as_of,
)
from arshield_runtime.http import Filter, Page, PathId, ReadPrincipal, decode_cursor, encode_cursor

router = APIRouter()


class HistoryItem(BaseModel):
    effective_on: date
    kind: str
    instalment_seq: int | None
    amount: Amount
    ref: str
    detail: str


class InstalmentView(BaseModel):
    seq: int | None
    due_on: date
    outstanding: Amount


class InvoiceView(BaseModel):
    invoice_id: str
    invoice_number: str
    buyer_id: str
    as_of: date
    amount: Amount
    outstanding: Amount
    paid: Amount
    credited: Amount
    status: InvoiceStatus
    issued_on: date
    due_on: date
    settled_on: date | None
    days_late: int | None
    disputed: bool
    instalments: list[InstalmentView]
    history: list[HistoryItem]


def _invoice_view(
    row: Any,
    entries: list[reports.EntryRow],
    dues: dict[int, date],
    as_of: date,
    *,
    live: bool,
    history: bool,
) -> InvoiceView:
    state = reports.invoice_as_of(entries, dues, as_of)
    currency = row.currency
    status: InvoiceStatus = row.status if live else state.status
    settled_on, days_late = state.settled_on, state.days_late
    return InvoiceView(
        invoice_id=row.invoice_id,
        invoice_number=row.invoice_number,
        buyer_id=row.buyer_id,
        as_of=as_of,
        amount=money(row.amount, currency),
        outstanding=money(state.outstanding, currency),
        paid=money(state.paid, currency),
        credited=money(state.credited, currency),
        status=status,
        issued_on=row.issued_on,
        due_on=row.due_on,
        settled_on=settled_on,
        days_late=days_late,
        disputed=bool(state.open_disputes),
        instalments=[
            InstalmentView(seq=seq or None, due_on=due, outstanding=money(left, currency))
            for seq, due, left in state.instalments
        ],
        history=[
            HistoryItem(
                effective_on=e.effective_on,
                kind=e.kind,
                instalment_seq=e.seq or None,
                amount=money(e.amount, e.currency),
                ref=e.ref,
                detail=e.detail,
            )
            for e in entries
            if e.effective_on <= as_of
        ]
        if history
        else [],
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceView)
async def get_invoice(
    invoice_id: PathId, connection: Connection, principal: ReadPrincipal, as_of: AsOf = None
) -> InvoiceView:
    """The invoice with its full history and outstanding amount as of a date."""
    tenant = principal.tenant_id
    row = await queries.invoice_row(connection, tenant, invoice_id)
    day = await resolve_as_of(connection, tenant, as_of)
    if row is None or row.issued_on > day:
        raise not_found("invoice", invoice_id)
    entries = (await queries.invoice_entries(connection, tenant, [invoice_id], None))[invoice_id]
    dues = (await queries.due_dates(connection, tenant, [invoice_id]))[invoice_id]
    return _invoice_view(row, entries, dues, day, live=as_of is None, history=True)


@router.get("/invoices", response_model=Page[InvoiceView])
async def list_invoices(
    connection: Connection,
    principal: ReadPrincipal,
    buyer_id: Filter = None,
    status: InvoiceStatus | None = None,
    as_of: AsOf = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[InvoiceView]:
    """Invoices by id, optionally of one buyer and in one status (as of a date when given)."""
    position = decode_cursor(cursor)
    after = position["after"] if position else None
    tenant = principal.tenant_id
    items: list[InvoiceView] = []
    day = await resolve_as_of(connection, tenant, as_of)
    while len(items) < limit:
        chunk = await queries.list_invoices(
            connection,
            tenant,
            buyer_id=buyer_id,
            status=status if as_of is None else None,
            after=after,
            limit=limit if as_of is None else 200,
            issued_by=as_of,
        )
        if not chunk:
            after = None
            break
        ids = [row.invoice_id for row in chunk]
        entries = await queries.invoice_entries(connection, tenant, ids, as_of)
        dues = await queries.due_dates(connection, tenant, ids)
        for row in chunk:
            view = _invoice_view(
                row,
                entries[row.invoice_id],
                dues[row.invoice_id],
                day,
                live=as_of is None,
                history=False,
            )
            after = row.invoice_id
            if status is None or view.status == status:
                items.append(view)
            if len(items) == limit:
                break
        if len(chunk) < (limit if as_of is None else 200) and len(items) < limit:
            after = None
            break
    next_cursor = encode_cursor({"after": after}) if after else None
    return Page[InvoiceView](items=items, next_cursor=next_cursor)
