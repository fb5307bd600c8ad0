"""Keyset pages for list routes: a cursor (signed by `arshield_runtime.http`) names the last key
given, and a page is fetched one longer than asked to know whether another follows."""

from __future__ import annotations

from typing import Any

from arshield_runtime.http import ProblemError, decode_cursor, encode_cursor


def bad_cursor() -> ProblemError:
    return ProblemError(
        400,
        "Bad request",
        "the cursor is not one this API issued",
        errors=[{"loc": "query.cursor", "msg": "not a cursor this API issued"}],
    )


def cursor_field(cursor: str | None, name: str) -> str | None:
    """The `name` position of a cursor this API issued (a printable string), or None."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    value = position.get(name)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise bad_cursor()
    text = str(value)
    if not text or len(text) > 400 or any(ord(c) < 32 for c in text):
        raise bad_cursor()
    return text


def page_after(cursor: str | None) -> str | None:
    return cursor_field(cursor, "after")


def page_of(items: list[Any], limit: int, key: str) -> dict[str, Any]:
    """A page of `items` (fetched `limit + 1`), its cursor after the last item's `key`."""
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if more and items else None
    after = None if last is None else (last[key] if isinstance(last, dict) else getattr(last, key))
    return {"items": items, "next_cursor": encode_cursor({"after": after}) if last else None}
