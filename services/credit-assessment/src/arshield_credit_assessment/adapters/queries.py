"""The read side: the read models the API answers from, and the record of policy versions
written (the versions in force are the kernel's configuration, read back from the log). The use
cases reach what they need of it through `application.ports.Records`."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from arshield_credit_assessment.adapters import tables as t
from arshield_events import credit


async def written_policies(session: AsyncSession, tenant_id: str) -> list[dict[str, Any]]:
    """Every version written over HTTP, newest first (read back or not yet)."""
    rows = await session.scalars(
        sa.select(t.credit_policies.c.policy)
        .where(t.credit_policies.c.tenant_id == tenant_id)
        .order_by(t.credit_policies.c.version.desc())
    )
    return list(rows)


async def record_written_policy(
    session: AsyncSession, tenant_id: str, event: credit.CreditPolicyPublished
) -> None:
    await session.execute(
        t.credit_policies.insert().values(
            tenant_id=tenant_id,
            version=event.version,
            policy=json.loads(event.model_dump_json()),
            published_by=event.published_by,
            published_on=event.published_on,
        )
    )


async def next_policy_version(session: AsyncSession, tenant_id: str) -> int:
    """Serialised per tenant: concurrent writers get consecutive versions."""
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"credit-policy:{tenant_id}"}
    )
    latest = await session.scalar(
        sa.select(sa.func.max(t.credit_policies.c.version)).where(
            t.credit_policies.c.tenant_id == tenant_id
        )
    )
    return int(latest or 0) + 1


_STATE_AND_DATE = sa.text(
    "SELECT (SELECT state::text FROM buyer_states WHERE tenant_id = :t AND buyer_id = :b) AS state,"
    " (SELECT business_date FROM business_dates WHERE tenant_id = :t) AS business_date"
)


async def state_and_date(
    session: AsyncSession | AsyncConnection, tenant_id: str, buyer_id: str
) -> tuple[str | None, date | None]:
    """The buyer's stored state (JSON text) and the tenant's business date in one round trip:
    what a credit check answers from."""
    row = (await session.execute(_STATE_AND_DATE, {"t": tenant_id, "b": buyer_id})).one()
    return row.state, row.business_date


async def credit_file(session: AsyncSession, tenant_id: str, buyer_id: str) -> Any:
    return await session.scalar(
        sa.select(t.credit_files.c.file).where(
            t.credit_files.c.tenant_id == tenant_id, t.credit_files.c.buyer_id == buyer_id
        )
    )


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


async def decisions(
    session: AsyncSession,
    tenant_id: str,
    *,
    buyer_id: str | None = None,
    referred_open: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    d = t.credit_decisions
    query = sa.select(d).where(d.c.tenant_id == tenant_id)
    if buyer_id is not None:
        query = query.where(d.c.buyer_id == buyer_id)
    if referred_open:
        a = t.credit_decisions.alias("a")
        answered = sa.select(sa.literal(1)).where(
            a.c.tenant_id == d.c.tenant_id, a.c.referred_decision_id == d.c.decision_id
        )
        query = query.where(d.c.decision == "referred", ~sa.exists(answered))
    if after is not None:
        query = query.where(d.c.decision_id > after)
    query = query.order_by(d.c.decision_id).limit(limit)
    return _rows(await session.execute(query))


async def decision(
    session: AsyncSession, tenant_id: str, decision_id: str
) -> dict[str, Any] | None:
    d = t.credit_decisions
    row = (
        await session.execute(
            sa.select(d).where(d.c.tenant_id == tenant_id, d.c.decision_id == decision_id)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def holds(
    session: AsyncSession,
    tenant_id: str,
    *,
    buyer_id: str | None = None,
    active: bool = True,
    after: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    h = t.credit_holds
    query = sa.select(h).where(h.c.tenant_id == tenant_id)
    if buyer_id is not None:
        query = query.where(h.c.buyer_id == buyer_id)
    if active:
        query = query.where(h.c.released_on.is_(None))
    key = h.c.buyer_id + "/" + h.c.hold_id  # the page key, in the order pages follow
    if after is not None:
        query = query.where(key > after)
    query = query.order_by(key).limit(limit)
    return _rows(await session.execute(query))


async def limit_history(
    session: AsyncSession, tenant_id: str, buyer_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    h = t.limit_history
    query = (
        sa.select(h)
        .where(h.c.tenant_id == tenant_id, h.c.buyer_id == buyer_id)
        .order_by(h.c.seq.desc())
        .limit(limit)
    )
    return _rows(await session.execute(query))


async def due_reviews(
    session: AsyncSession, tenant_id: str, on: date, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    f = t.credit_files
    query = sa.select(f.c.buyer_id, f.c.review_on, f.c.file).where(
        f.c.tenant_id == tenant_id, f.c.review_on <= on
    )
    if after is not None:
        query = query.where(f.c.buyer_id > after)
    return _rows(await session.execute(query.order_by(f.c.buyer_id).limit(limit)))


async def exposure_as_of(
    session: AsyncSession, tenant_id: str, buyer_id: str, on: date
) -> list[dict[str, Any]]:
    """Per currency, the buyer's exposure at the end of `on` (its latest change on or before)."""
    h = t.exposure_history
    query = (
        sa.select(h.c.currency, h.c.on, h.c.open_receivables, h.c.open_orders)
        .where(h.c.tenant_id == tenant_id, h.c.buyer_id == buyer_id, h.c.on <= on)
        .ext(distinct_on(h.c.currency))
        .order_by(h.c.currency, h.c.on.desc())
    )
    return _rows(await session.execute(query))


async def contract_reviews(
    session: AsyncSession, tenant_id: str, buyer_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    r = t.contract_reviews
    query = (
        sa.select(r)
        .where(r.c.tenant_id == tenant_id, r.c.buyer_id == buyer_id)
        .order_by(r.c.reviewed_on.desc(), r.c.review_id)
        .limit(limit)
    )
    return _rows(await session.execute(query))


async def portfolio(session: AsyncSession, tenant_id: str) -> list[dict[str, Any]]:
    f = t.credit_files
    query = sa.select(
        f.c.buyer_id,
        f.c.grade,
        f.c.limit_currency,
        f.c.limit_amount,
        f.c.exposure_amount,
        f.c.cover_amount,
        f.c.held,
    ).where(f.c.tenant_id == tenant_id, f.c.limit_currency.is_not(None))
    return _rows(await session.execute(query))
