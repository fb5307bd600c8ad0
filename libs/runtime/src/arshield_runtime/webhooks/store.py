"""The webhook tables' reads and writes inside a request's or a projection's transaction: endpoints,
deliveries (enqueued once, re-sent on demand) and their attempts. The dispatcher's own claims and
records are in `dispatcher.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_runtime.notify import notify_statement
from arshield_runtime.webhooks.tables import WebhookTables


def channel(tables: WebhookTables) -> str:
    """The LISTEN/NOTIFY channel of a deliveries table: notified when a delivery may have become
    due sooner than the dispatcher planned (enqueued, re-sent, its endpoint changed)."""
    return f"arshield_webhooks_{tables.deliveries.name}"


async def wake_dispatchers(session: AsyncSession, tables: WebhookTables) -> None:
    """Wake the dispatchers of every process on this database when the transaction commits."""
    await session.execute(notify_statement(channel(tables)))


async def endpoint(
    session: AsyncSession, tables: WebhookTables, tenant_id: str, endpoint_id: str
) -> Any | None:
    e = tables.endpoints
    return (
        await session.execute(
            sa.select(e).where(e.c[tables.key] == endpoint_id, e.c.tenant_id == tenant_id)
        )
    ).first()


async def endpoints(
    session: AsyncSession, tables: WebhookTables, tenant_id: str, *, after: str | None, limit: int
) -> list[Any]:
    e, key = tables.endpoints, tables.endpoints.c[tables.key]
    query = sa.select(e).where(e.c.tenant_id == tenant_id)
    if after is not None:
        query = query.where(key > after)
    return list(await session.execute(query.order_by(key).limit(limit)))


async def add_endpoint(
    session: AsyncSession, tables: WebhookTables, values: Mapping[str, Any]
) -> None:
    await session.execute(tables.endpoints.insert().values(dict(values)))


async def change_endpoint(
    session: AsyncSession, tables: WebhookTables, endpoint_id: str, values: Mapping[str, Any]
) -> None:
    if values:
        e = tables.endpoints
        await session.execute(e.update().where(e.c[tables.key] == endpoint_id).values(dict(values)))
        await wake_dispatchers(session, tables)


async def enqueue(
    session: AsyncSession, tables: WebhookTables, deliveries: Sequence[Mapping[str, Any]]
) -> None:
    """Deliveries to make, each once: a `delivery_id` already there (a replayed projection, a
    second instance) adds nothing. Each gives `delivery_id` (the webhook-id), `tenant_id`, the
    endpoint key, `event_type`, `body`, `next_attempt_at` and optionally `traceparent` and the
    service's own columns."""
    if deliveries:
        rows = [{"status": "pending", "attempts": 0, **d} for d in deliveries]
        await session.execute(pg_insert(tables.deliveries).on_conflict_do_nothing(), rows)
        await wake_dispatchers(session, tables)


def _delivery(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out.pop("tenant_id", None)
    return out


async def deliveries(
    session: AsyncSession,
    tables: WebhookTables,
    tenant_id: str,
    *,
    after: str | None,
    limit: int,
    where: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """A page of the tenant's deliveries in id order, filtered by column equality."""
    d = tables.deliveries
    query = sa.select(d).where(d.c.tenant_id == tenant_id)
    for column, value in where.items():
        if value:
            query = query.where(d.c[column] == value)
    if after is not None:
        query = query.where(d.c.delivery_id > after)
    return [
        _delivery(r) for r in await session.execute(query.order_by(d.c.delivery_id).limit(limit))
    ]


async def delivery(
    session: AsyncSession, tables: WebhookTables, tenant_id: str, delivery_id: str
) -> dict[str, Any] | None:
    d = tables.deliveries
    row = (
        await session.execute(
            sa.select(d).where(d.c.delivery_id == delivery_id, d.c.tenant_id == tenant_id)
        )
    ).first()
    return None if row is None else _delivery(row)


async def delivery_attempts(
    session: AsyncSession, tables: WebhookTables, delivery_id: str
) -> list[dict[str, Any]]:
    a = tables.attempts
    rows = await session.execute(
        sa.select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.attempt_id)
    )
    return [dict(r._mapping) for r in rows]


async def redeliver(
    session: AsyncSession, tables: WebhookTables, delivery_id: str, now: datetime
) -> None:
    """Send the delivery again (same webhook-id) with a fresh retry schedule."""
    d = tables.deliveries
    await session.execute(
        d.update()
        .where(d.c.delivery_id == delivery_id)
        .values(status="pending", cycle_attempts=0, next_attempt_at=now)
    )
    await wake_dispatchers(session, tables)
