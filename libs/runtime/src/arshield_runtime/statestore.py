"""Where the kernel keeps buyer states and the tenant's business date: PostgreSQL, or a fake.

Both implement `StateStore`; one contract suite runs against each (libs/runtime/tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from arshield_runtime.db import BulkInsert, business_dates, buyer_states

BuyerKey = tuple[str, str]
"""(tenant, buyer)."""
StateRow = tuple[BuyerKey, str, date | None]
"""A buyer's key, its state as JSON text, and its wake-up date."""


class StateStore(Protocol):
    async def load(self, session: Any, keys: Sequence[BuyerKey]) -> dict[BuyerKey, str]:
        """The stored states (JSON text) of those of `keys` that have one."""
        ...

    async def save(self, session: Any, rows: Sequence[StateRow]) -> None: ...

    async def due(self, session: Any, tenant_id: str, day: date) -> list[str]:
        """The tenant's buyers whose wake-up date is `day` or earlier, in buyer order."""
        ...

    async def advance(self, session: Any, tenant_id: str, day: date) -> date:
        """Move the tenant's business date to `day` unless it is already later; returns it."""
        ...

    async def business_date(self, session: Any, tenant_id: str) -> date | None: ...


_SAVE = BulkInsert(
    buyer_states,
    ("tenant_id", "buyer_id", "state", "wake_on"),
    conflict=("tenant_id", "buyer_id"),
    update=("state", "wake_on"),
)
_LOAD = sa.text(
    "SELECT s.tenant_id, s.buyer_id, s.state::text AS state FROM buyer_states s"
    " JOIN unnest(CAST(:tenants AS text[]), CAST(:buyers AS text[])) AS k(tenant_id, buyer_id)"
    " USING (tenant_id, buyer_id)"
)


class PostgresStateStore:
    """States in the service's own database, in the caller's transaction."""

    async def load(self, session: Any, keys: Sequence[BuyerKey]) -> dict[BuyerKey, str]:
        if not keys:
            return {}
        tenants, buyers = zip(*keys, strict=True)
        rows = await session.execute(_LOAD, {"tenants": list(tenants), "buyers": list(buyers)})
        return {(row.tenant_id, row.buyer_id): row.state for row in rows}

    async def save(self, session: Any, rows: Sequence[StateRow]) -> None:
        await _SAVE.execute(session, [(t, b, state, wake) for (t, b), state, wake in rows])

    async def due(self, session: Any, tenant_id: str, day: date) -> list[str]:
        rows = await session.execute(
            sa.select(buyer_states.c.buyer_id)
            .where(buyer_states.c.tenant_id == tenant_id, buyer_states.c.wake_on <= day)
            .order_by(buyer_states.c.buyer_id)
        )
        return [row.buyer_id for row in rows]

    async def advance(self, session: Any, tenant_id: str, day: date) -> date:
        statement = (
            pg_insert(business_dates)
            .values(tenant_id=tenant_id, business_date=day)
            .on_conflict_do_update(
                index_elements=[business_dates.c.tenant_id],
                set_={"business_date": sa.func.greatest(business_dates.c.business_date, day)},
            )
            .returning(business_dates.c.business_date)
        )
        result: date = (await session.execute(statement)).scalar_one()
        return result

    async def business_date(self, session: Any, tenant_id: str) -> date | None:
        result: date | None = await session.scalar(
            sa.select(business_dates.c.business_date).where(business_dates.c.tenant_id == tenant_id)
        )
        return result


class InMemoryStateStore:
    """The fake for unit tests: the same contract, in a dict (the session is ignored)."""

    def __init__(self) -> None:
        self.states: dict[BuyerKey, tuple[str, date | None]] = {}
        self.dates: dict[str, date] = {}

    async def load(self, session: Any, keys: Sequence[BuyerKey]) -> dict[BuyerKey, str]:
        return {key: self.states[key][0] for key in keys if key in self.states}

    async def save(self, session: Any, rows: Sequence[StateRow]) -> None:
        for key, state, wake in rows:
            self.states[key] = (state, wake)

    async def due(self, session: Any, tenant_id: str, day: date) -> list[str]:
        return sorted(
            buyer
            for (tenant, buyer), (_, wake) in self.states.items()
            if tenant == tenant_id and wake is not None and wake <= day
        )

    async def advance(self, session: Any, tenant_id: str, day: date) -> date:
        self.dates[tenant_id] = max(day, self.dates.get(tenant_id, day))
        return self.dates[tenant_id]

    async def business_date(self, session: Any, tenant_id: str) -> date | None:
        return self.dates.get(tenant_id)
