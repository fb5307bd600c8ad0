"""Letters as sent, and an invoice's letters a page at a time."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from arshield_dunning.adapters import queries
from arshield_dunning.entrypoints.api.deps import (
    Limit,
    Session,
    bad_cursor,
    cursor_field,
    not_found,
)
from arshield_runtime.http import Page, PathId, ReadPrincipal, encode_cursor

router = APIRouter()


class LetterOut(BaseModel):
    letter_id: str
    buyer_id: str
    kind: str
    language: str
    as_of: date
    invoice_ids: list[str]
    content: dict[str, Any]
    body: str


class LetterSummary(BaseModel):
    letter_id: str
    kind: str
    language: str
    as_of: date


@router.get(
    "/letters/{letter_id}",
    response_model=LetterOut,
    responses={200: {"content": {"text/plain": {}}}},
)
async def get_letter(
    letter_id: PathId, request: Request, principal: ReadPrincipal, session: Session
) -> Any:
    """A letter as sent: JSON (facts and rendered body), or the body alone with
    `Accept: text/plain`."""
    row = await queries.letter(session, principal.tenant_id, letter_id)
    if row is None:
        raise not_found("letter", letter_id)
    if "text/plain" in request.headers.get("accept", ""):
        return Response(row["body"], media_type="text/plain; charset=utf-8")
    return LetterOut.model_validate(row)


@router.get("/invoices/{invoice_id}/letters", response_model=Page[LetterSummary])
async def invoice_letters(
    invoice_id: PathId,
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[LetterSummary]:
    """The invoice's letters, oldest first, a page at a time."""
    after = None
    after_id = cursor_field(cursor, "letter_id")
    if after_id is not None:
        try:
            after = (date.fromisoformat(cursor_field(cursor, "as_of") or ""), after_id)
        except ValueError:
            raise bad_cursor() from None
    rows = [
        LetterSummary.model_validate(r)
        for r in await queries.invoice_letters(
            session, principal.tenant_id, invoice_id, after=after, limit=limit + 1
        )
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page[LetterSummary](
        items=rows[:limit],
        next_cursor=encode_cursor({"as_of": last.as_of.isoformat(), "letter_id": last.letter_id})
        if last
        else None,
    )
