"""Where the kernel keeps buyer states, the tenant's business date and what was configured for
the tenant (ARCHITECTURE decision 1: configuration is on the log): PostgreSQL, or a fake.

Both implement `StateStore`; one contract suite runs against each (libs/runtime/tests).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from arshield_runtime.db import (
    BulkInsert,
    business_dates,
    buyer_states,
    configurations,
    tenant_wakes,
)

BuyerKey = tuple[str, str]
"""(tenant, buyer)."""
StateRow = tuple[BuyerKey, str, date | None]
"""A buyer's key, its state as JSON text, and its wake-up date."""


@dataclass(frozen=True)
class Configuration:
    """One configured version, as read from the log: `kind` names what it configures (`tenant`
    for the tenant's profile, or a service's own: `credit-policy`, `scorecard` ...), `body` its
    content as JSON, in force from `effective_on`."""

    tenant_id: str
    kind: str
    event_id: str
    version: str
    effective_on: date
    body: dict[str, Any]


class StateStore(Protocol):
    async def load(self, session: Any, keys: Sequence[BuyerKey]) -> dict[BuyerKey, str]:
        """The stored states (JSON text) of those of `keys` that have one."""
        ...

    async def save(self, session: Any, rows: Sequence[StateRow]) -> None: ...

    async def due(self, session: Any, tenant_id: str, day: date, after: date | None) -> list[str]:
        """The tenant's buyers whose wake-up date is `day` or earlier, in buyer order; every buyer
        of the tenant when a tenant wake-up (`wake_tenant`) falls after `after` (the day taken
        before) and on or before `day`."""
        ...

    async def wake_tenant(self, session: Any, tenant_id: str, day: date) -> None:
        """Every buyer of the tenant is due on `day`, or on the day after the tenant's business
        date when `day` has passed."""
        ...

    async def advance(self, session: Any, tenant_id: str, day: date) -> date:
        """Move the tenant's business date to `day` unless it is already later; returns it."""
        ...

    async def business_date(self, session: Any, tenant_id: str) -> date | None: ...

    async def configure(self, session: Any, entry: Configuration) -> None:
        """Record a configured version (the same event twice records it once)."""
        ...

    async def configurations(self, session: Any, tenant_id: str, kind: str) -> list[Configuration]:
        """The tenant's versions of `kind` in the order they were read."""
        ...

    async def in_force(
        self, session: Any, tenant_id: str, kind: str, day: date
    ) -> Configuration | None:
        """The version of `kind` in force on `day`: the latest effective on or before it (of two
        effective the same day, the one read last)."""
        ...


def in_force(entries: Sequence[Configuration], day: date) -> Configuration | None:
    """Of `entries` in the order they were read, the one in force on `day`."""
    effective = [(e.effective_on, n, e) for n, e in enumerate(entries) if e.effective_on <= day]
    return max(effective, key=lambda item: item[:2])[2] if effective else None


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

    async def due(self, session: Any, tenant_id: str, day: date, after: date | None) -> list[str]:
        woken = sa.exists().where(
            tenant_wakes.c.tenant_id == tenant_id,
            tenant_wakes.c.wake_on <= day,
            *([] if after is None else [tenant_wakes.c.wake_on > after]),
        )
        query = sa.select(buyer_states.c.buyer_id).where(
            buyer_states.c.tenant_id == tenant_id,
            sa.or_(buyer_states.c.wake_on <= day, woken),
        )
        rows = await session.execute(query.order_by(buyer_states.c.buyer_id))
        return [row.buyer_id for row in rows]

    async def wake_tenant(self, session: Any, tenant_id: str, day: date) -> None:
        taken = (
            sa.select(business_dates.c.business_date + 1)
            .where(business_dates.c.tenant_id == tenant_id)
            .scalar_subquery()
        )
        await session.execute(
            pg_insert(tenant_wakes)
            .values(tenant_id=tenant_id, wake_on=sa.func.greatest(day, taken))
            .on_conflict_do_nothing()
        )

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

    async def configure(self, session: Any, entry: Configuration) -> None:
        await session.execute(
            pg_insert(configurations)
            .values(
                tenant_id=entry.tenant_id,
                kind=entry.kind,
                event_id=entry.event_id,
                version=entry.version,
                effective_on=entry.effective_on,
                body=entry.body,
            )
            .on_conflict_do_nothing(constraint="configurations_event")
        )

    async def configurations(self, session: Any, tenant_id: str, kind: str) -> list[Configuration]:
        c = configurations.c
        rows = await session.execute(
            sa.select(configurations)
            .where(c.tenant_id == tenant_id, c.kind == kind)
            .order_by(c.position)
        )
        return [_configuration(row) for row in rows]

    async def in_force(
        self, session: Any, tenant_id: str, kind: str, day: date
    ) -> Configuration | None:
        c = configurations.c
        row = (
            await session.execute(
                sa.select(configurations)
                .where(c.tenant_id == tenant_id, c.kind == kind, c.effective_on <= day)
                .order_by(c.effective_on.desc(), c.position.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else _configuration(row)


def _configuration(row: Any) -> Configuration:
    body = row.body if isinstance(row.body, dict) else json.loads(row.body)
    return Configuration(row.tenant_id, row.kind, row.event_id, row.version, row.effective_on, body)


class InMemoryStateStore:
    """The fake for unit tests: the same contract, in a dict (the session is ignored)."""

    def __init__(self) -> None:
        self.states: dict[BuyerKey, tuple[str, date | None]] = {}
        self.dates: dict[str, date] = {}
        self.configured: list[Configuration] = []
        self.tenant_wakes: dict[str, set[date]] = {}

    async def load(self, session: Any, keys: Sequence[BuyerKey]) -> dict[BuyerKey, str]:
        return {key: self.states[key][0] for key in keys if key in self.states}

    async def save(self, session: Any, rows: Sequence[StateRow]) -> None:
        for key, state, wake in rows:
            self.states[key] = (state, wake)

    async def due(self, session: Any, tenant_id: str, day: date, after: date | None) -> list[str]:
        everyone = any(
            wake <= day and (after is None or wake > after)
            for wake in self.tenant_wakes.get(tenant_id, ())
        )
        return sorted(
            buyer
            for (tenant, buyer), (_, wake) in self.states.items()
            if tenant == tenant_id and (everyone or (wake is not None and wake <= day))
        )

    async def wake_tenant(self, session: Any, tenant_id: str, day: date) -> None:
        taken = self.dates.get(tenant_id)
        wake = day if taken is None else max(day, taken + timedelta(days=1))
        self.tenant_wakes.setdefault(tenant_id, set()).add(wake)

    async def advance(self, session: Any, tenant_id: str, day: date) -> date:
        self.dates[tenant_id] = max(day, self.dates.get(tenant_id, day))
        return self.dates[tenant_id]

    async def business_date(self, session: Any, tenant_id: str) -> date | None:
        return self.dates.get(tenant_id)

    async def configure(self, session: Any, entry: Configuration) -> None:
        if not any(
            (e.tenant_id, e.kind, e.event_id) == (entry.tenant_id, entry.kind, entry.event_id)
            for e in self.configured
        ):
            self.configured.append(entry)

    async def configurations(self, session: Any, tenant_id: str, kind: str) -> list[Configuration]:
        return [e for e in self.configured if (e.tenant_id, e.kind) == (tenant_id, kind)]

    async def in_force(
        self, session: Any, tenant_id: str, kind: str, day: date
    ) -> Configuration | None:
        return in_force(await self.configurations(session, tenant_id, kind), day)
