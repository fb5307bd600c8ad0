"""SQLAlchemy access to dunning's tables, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import tables as t
from arshield_dunning.domain.model import BuyerDunning
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment


class DunningStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- buyers ---------------------------------------------------------------------------------

    async def load_buyer(self, tenant_id: str, buyer_id: str) -> BuyerDunning:
        """The buyer's state, locked for this transaction (a new, empty state if unknown)."""
        row = (
            await self.session.execute(
                sa.select(t.buyers.c.state)
                .where(t.buyers.c.tenant_id == tenant_id, t.buyers.c.buyer_id == buyer_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            return BuyerDunning(tenant_id=tenant_id, buyer_id=buyer_id)
        return BuyerDunning.model_validate(row.state)

    async def save_buyer(self, state: BuyerDunning, wake_on: date | None) -> None:
        values = {
            "tenant_id": state.tenant_id,
            "buyer_id": state.buyer_id,
            "state": state.model_dump(mode="json"),
            "wake_on": wake_on,
            "updated_at": sa.func.now(),
        }
        statement = pg_insert(t.buyers).values(values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[t.buyers.c.tenant_id, t.buyers.c.buyer_id],
                set_={k: statement.excluded[k] for k in ("state", "wake_on", "updated_at")},
            )
        )

    async def buyers_due(self, tenant_id: str, day: date) -> list[str]:
        rows = await self.session.execute(
            sa.select(t.buyers.c.buyer_id)
            .where(t.buyers.c.tenant_id == tenant_id, t.buyers.c.wake_on <= day)
            .order_by(t.buyers.c.buyer_id)
        )
        return [r.buyer_id for r in rows]

    async def wake_all(self, tenant_id: str) -> None:
        """After a policy change every buyer is looked at on the next tick."""
        await self.session.execute(
            t.buyers.update().where(t.buyers.c.tenant_id == tenant_id).values(wake_on=date.min)
        )

    async def index_invoice(
        self, tenant_id: str, invoice_id: str, buyer_id: str, traceparent: str | None
    ) -> None:
        """Index the invoice under the trace it was first tracked in (kept if indexed before)."""
        i = t.invoice_index
        statement = pg_insert(i).values(
            tenant_id=tenant_id, invoice_id=invoice_id, buyer_id=buyer_id, traceparent=traceparent
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[i.c.tenant_id, i.c.invoice_id],
                set_={"traceparent": statement.excluded.traceparent},
                where=i.c.traceparent.is_(None),
            )
        )

    async def invoice_traceparents(
        self, tenant_id: str, invoice_ids: Collection[str]
    ) -> dict[str, str]:
        """The traceparents the invoices were first tracked under (those that have one)."""
        if not invoice_ids:
            return {}
        i = t.invoice_index
        rows = await self.session.execute(
            sa.select(i.c.invoice_id, i.c.traceparent).where(
                i.c.tenant_id == tenant_id,
                i.c.invoice_id.in_(sorted(invoice_ids)),
                i.c.traceparent.is_not(None),
            )
        )
        return {row.invoice_id: row.traceparent for row in rows}

    async def buyer_of_invoice(self, tenant_id: str, invoice_id: str) -> str | None:
        value = await self.session.scalar(
            sa.select(t.invoice_index.c.buyer_id).where(
                t.invoice_index.c.tenant_id == tenant_id,
                t.invoice_index.c.invoice_id == invoice_id,
            )
        )
        return str(value) if value is not None else None

    # --- the tenant's business calendar ---------------------------------------------------------

    async def advance_business_date(self, tenant_id: str, day: date) -> None:
        statement = pg_insert(t.tenant_clock).values(tenant_id=tenant_id, business_date=day)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[t.tenant_clock.c.tenant_id],
                set_={
                    "business_date": sa.func.greatest(
                        t.tenant_clock.c.business_date, statement.excluded.business_date
                    )
                },
            )
        )

    async def business_date(self, tenant_id: str) -> date | None:
        return await self.session.scalar(
            sa.select(t.tenant_clock.c.business_date).where(t.tenant_clock.c.tenant_id == tenant_id)
        )

    # --- policies -------------------------------------------------------------------------------

    async def current_policies(self, tenant_id: str) -> dict[Segment, Policy]:
        """The newest version per segment; the built-in default (version 0) if none was written."""
        rows = await self.session.execute(
            sa.select(t.policies.c.segment, t.policies.c.version, t.policies.c.rules)
            .where(t.policies.c.tenant_id == tenant_id)
            .distinct(t.policies.c.segment)
            .order_by(t.policies.c.segment, t.policies.c.version.desc())
        )
        current = {segment: Policy.default(segment) for segment in Segment}
        for row in rows:
            segment = Segment(row.segment)
            current[segment] = Policy(
                segment=segment, version=row.version, rules=PolicyRules.model_validate(row.rules)
            )
        return current

    async def policy_versions(
        self,
        tenant_id: str,
        segment: Segment,
        *,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[Policy]:
        """The segment's versions, newest first and the built-in default (0) last; `before` and
        `limit` select a page."""
        query = sa.select(t.policies.c.version, t.policies.c.rules).where(
            t.policies.c.tenant_id == tenant_id, t.policies.c.segment == segment.value
        )
        if before is not None:
            query = query.where(t.policies.c.version < before)
        query = query.order_by(t.policies.c.version.desc())
        if limit is not None:
            query = query.limit(limit)
        written = [
            Policy(segment=segment, version=r.version, rules=PolicyRules.model_validate(r.rules))
            for r in await self.session.execute(query)
        ]
        if (limit is None or len(written) < limit) and (before is None or before > 0):
            written.append(Policy.default(segment))
        return written

    async def add_policy(
        self, tenant_id: str, segment: Segment, rules: PolicyRules, created_by: str
    ) -> Policy:
        """Write the next version; concurrent writers serialise on the tenant's segment."""
        await self.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"dunning-policy:{tenant_id}:{segment.value}"},
        )
        latest = await self.session.scalar(
            sa.select(sa.func.max(t.policies.c.version)).where(
                t.policies.c.tenant_id == tenant_id, t.policies.c.segment == segment.value
            )
        )
        version = (latest or 0) + 1
        await self.session.execute(
            t.policies.insert().values(
                tenant_id=tenant_id,
                segment=segment.value,
                version=version,
                rules=rules.model_dump(mode="json"),
                created_by=created_by,
            )
        )
        await self.wake_all(tenant_id)
        return Policy(segment=segment, version=version, rules=rules)

    # --- read models ----------------------------------------------------------------------------

    async def insert(self, table: sa.Table, values: dict[str, Any]) -> None:
        await self.session.execute(pg_insert(table).values(values).on_conflict_do_nothing())

    async def upsert(self, table: sa.Table, values: dict[str, Any], keys: Sequence[str]) -> None:
        statement = pg_insert(table).values(values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=list(keys),
                set_={k: statement.excluded[k] for k in values if k not in keys},
            )
        )

    async def update(self, table: sa.Table, where: dict[str, Any], values: dict[str, Any]) -> None:
        await self.session.execute(
            table.update().where(*(table.c[k] == v for k, v in where.items())).values(values)
        )

    async def delivery_target(self, tenant_id: str) -> str | None:
        """The agency new cases go to: the tenant's first enabled agency."""
        value = await self.session.scalar(
            sa.select(t.agencies.c.agency_id)
            .where(t.agencies.c.tenant_id == tenant_id, t.agencies.c.enabled.is_(True))
            .order_by(t.agencies.c.created_at, t.agencies.c.agency_id)
            .limit(1)
        )
        return str(value) if value is not None else None
