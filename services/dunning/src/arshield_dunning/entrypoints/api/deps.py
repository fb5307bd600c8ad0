"""What dunning's routes depend on, as typed `Annotated[..., Depends()]` aliases, and the
paging helpers every list route shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import PlainSerializer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.adapters.secrets import SecretBox
from arshield_dunning.application.wiring import DunningKernel
from arshield_dunning.application.wiring import kernel as dunning_kernel
from arshield_dunning.settings import DunningSettings
from arshield_latepay import ReferenceRates
from arshield_runtime.http import Authenticated, ProblemError, decode_cursor, encode_cursor
from arshield_runtime.statestore import PostgresStateStore

Limit = Annotated[int, Query(ge=1, le=500)]

IsoDateTime = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str)]
"""A timestamp as `datetime.isoformat()` writes it (`+00:00`), as these routes always answered."""


async def _session(request: Request, _: Authenticated) -> AsyncIterator[AsyncSession]:
    # Depends on the key check, so no connection is held while the key is looked up.
    engine: AsyncEngine = request.app.state.engine
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _settings(request: Request) -> DunningSettings:
    settings: DunningSettings = request.app.state.settings
    return settings


def _kernel(request: Request) -> DunningKernel:
    """The service's kernel (`app.state.kernel`, set by bootstrap); an app built without it gets
    one on PostgreSQL with the shipped claim rules."""
    kernel: DunningKernel | None = getattr(request.app.state, "kernel", None)
    if kernel is None:
        settings = _settings(request)
        claims = LatepayClaims(ReferenceRates.shipped(), settings.default_jurisdiction)
        kernel = dunning_kernel(
            claims,
            PostgresStateStore(),
            source=settings.source,
            watch_from_grade=settings.watch_from_grade,
        )
        request.app.state.kernel = kernel
    return kernel


def _now(request: Request) -> datetime:
    """The app's clock (`app.state.clock`, settable by tests), else the wall clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def _box(settings: Settings) -> SecretBox:
    return SecretBox(settings.secrets_key.get_secret_value())


def _relay_wake(request: Request) -> Callable[[], None] | None:
    running = getattr(request.app.state, "running", None)
    return running.relay.wake if running is not None else None


def _dispatcher_wake(request: Request) -> Callable[[], None] | None:
    dispatcher = getattr(request.app.state, "dispatcher", None)
    return dispatcher.wake if dispatcher is not None else None


Session = Annotated[AsyncSession, Depends(_session)]
Settings = Annotated[DunningSettings, Depends(_settings)]
Kernel = Annotated[DunningKernel, Depends(_kernel)]
Now = Annotated[datetime, Depends(_now)]
Box = Annotated[SecretBox, Depends(_box)]
RelayWake = Annotated[Callable[[], None] | None, Depends(_relay_wake)]
DispatcherWake = Annotated[Callable[[], None] | None, Depends(_dispatcher_wake)]


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


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} {ident} does not exist")


def page_of(items: list[Any], limit: int, key: str) -> dict[str, Any]:
    """A page of `items` (fetched `limit + 1`), its cursor after the last item's `key`."""
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if more and items else None
    after = None if last is None else (last[key] if isinstance(last, dict) else getattr(last, key))
    return {"items": items, "next_cursor": encode_cursor({"after": after}) if last else None}
