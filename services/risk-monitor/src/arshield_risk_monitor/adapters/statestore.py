"""The kernel's state store, with one addition to who is due on a business day: besides the
buyers whose wake-up date has come, every buyer not yet scored under the scorecard version in
force that day (a new version takes effect for the whole portfolio on its effective date, whatever
each buyer's own wake-up date)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from arshield_runtime.db import buyer_states
from arshield_runtime.statestore import BuyerKey, Configuration, StateRow, StateStore

VersionAt = Callable[[Any, str, date], Awaitable[str | None]]
"""(session, tenant, day) -> the scorecard version in force that day."""
Stale = Callable[[Any, str, str], Awaitable[list[str]]]
"""(session, tenant, version) -> the tenant's buyers whose state is on another version."""


async def stale_in_postgres(session: Any, tenant_id: str, version: str) -> list[str]:
    s = buyer_states
    rows = await session.execute(
        sa.select(s.c.buyer_id).where(
            s.c.tenant_id == tenant_id,
            s.c.state["scorecard_version"].astext.is_distinct_from(version),
        )
    )
    return [row.buyer_id for row in rows]


class RescoringStore:
    def __init__(self, base: StateStore, version_at: VersionAt, stale: Stale) -> None:
        self.base, self.version_at, self.stale = base, version_at, stale

    async def load(self, session: Any, keys: Sequence[BuyerKey]) -> dict[BuyerKey, str]:
        return await self.base.load(session, keys)

    async def save(self, session: Any, rows: Sequence[StateRow]) -> None:
        await self.base.save(session, rows)

    async def due(self, session: Any, tenant_id: str, day: date) -> list[str]:
        due = await self.base.due(session, tenant_id, day)
        version = await self.version_at(session, tenant_id, day)
        if version is None:
            return due
        return sorted({*due, *await self.stale(session, tenant_id, version)})

    async def advance(self, session: Any, tenant_id: str, day: date) -> date:
        return await self.base.advance(session, tenant_id, day)

    async def business_date(self, session: Any, tenant_id: str) -> date | None:
        return await self.base.business_date(session, tenant_id)

    async def configure(self, session: Any, entry: Configuration) -> None:
        await self.base.configure(session, entry)

    async def configurations(self, session: Any, tenant_id: str, kind: str) -> list[Configuration]:
        return await self.base.configurations(session, tenant_id, kind)

    async def in_force(
        self, session: Any, tenant_id: str, kind: str, day: date
    ) -> Configuration | None:
        return await self.base.in_force(session, tenant_id, kind, day)
