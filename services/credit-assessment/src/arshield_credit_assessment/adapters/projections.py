"""Credit-assessment's read models, one projection each, kept from the kernel's changes (batched
with one `unnest` statement per table; rows carry business dates only, so a rebuild writes the
very same rows)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_credit_assessment.adapters import tables as t
from arshield_credit_assessment.adapters.views import credit_file, limit_json
from arshield_credit_assessment.domain import events as e
from arshield_credit_assessment.domain.decide import policy_of
from arshield_credit_assessment.domain.state import BuyerCredit
from arshield_runtime.db import BulkInsert, business_dates
from arshield_runtime.kernel import Change

CreditChange = Change[BuyerCredit, e.Event]
EPOCH = date(1970, 1, 1)


def _upsert(table: sa.Table, keys: tuple[str, ...]) -> BulkInsert:
    columns = tuple(c.name for c in table.columns)
    return BulkInsert(table, columns, conflict=keys, update=[c for c in columns if c not in keys])


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class CreditFilesProjection:
    tables: Sequence[str] = ("credit_files",)
    _rows = _upsert(t.credit_files, ("tenant_id", "buyer_id"))

    async def apply(self, session: AsyncSession, changes: Sequence[CreditChange]) -> None:
        latest = {(c.tenant_id, c.buyer_id): c.after for c in changes}
        rows = []
        for (tenant, buyer), state in sorted(latest.items()):
            limit = state.limit
            currency = limit.currency if limit else policy_of(state).currency
            rows.append(
                (
                    tenant,
                    buyer,
                    limit.grade if limit else None,
                    bool(state.holds),
                    limit.currency if limit else None,
                    limit.amount if limit else None,
                    state.exposure(currency),
                    limit.cover if limit else 0,
                    limit.review_on if limit else None,
                    _dumps(credit_file(state)),
                )
            )
        await self._rows.execute(session, rows)


class HoldsProjection:
    tables: Sequence[str] = ("credit_holds",)
    _rows = _upsert(t.credit_holds, ("tenant_id", "buyer_id", "hold_id"))

    async def apply(self, session: AsyncSession, changes: Sequence[CreditChange]) -> None:
        rows: dict[tuple[str, str, str], tuple[object, ...]] = {}
        for c in changes:
            for ev in c.events:
                if isinstance(ev, e.HoldPlaced | e.HoldReleased):
                    h = ev.hold
                    released = ev if isinstance(ev, e.HoldReleased) else None
                    rows[(c.tenant_id, c.buyer_id, h.hold_id)] = (
                        c.tenant_id,
                        c.buyer_id,
                        h.hold_id,
                        h.cause,
                        h.reason,
                        _dumps(list(h.invoice_ids)),
                        h.placed_on,
                        h.policy_version,
                        released.released_on if released else None,
                        released.released_by if released else None,
                        released.reason if released else None,
                    )
        await self._rows.execute(session, [rows[k] for k in sorted(rows)])


class DecisionsProjection:
    tables: Sequence[str] = ("credit_decisions",)
    _rows = _upsert(t.credit_decisions, ("tenant_id", "decision_id"))

    async def apply(self, session: AsyncSession, changes: Sequence[CreditChange]) -> None:
        rows: dict[tuple[str, str], tuple[object, ...]] = {}
        for c in changes:
            for ev in c.events:
                if isinstance(ev, e.DecisionMade):
                    d = ev.decision
                    rows[(c.tenant_id, d.decision_id)] = (
                        c.tenant_id,
                        d.decision_id,
                        c.buyer_id,
                        d.request_id,
                        d.order_id,
                        d.currency,
                        d.requested,
                        d.decision,
                        _dumps(list(d.reason_codes)),
                        _dumps(list(d.reasons)),
                        d.credit_limit,
                        d.exposure_before,
                        d.exposure_after,
                        d.policy_version,
                        d.decided_on,
                        d.decided_by,
                        d.referred_decision_id,
                    )
        await self._rows.execute(session, [rows[k] for k in sorted(rows)])


class LimitHistoryProjection:
    tables: Sequence[str] = ("limit_history",)
    _rows = BulkInsert(
        t.limit_history,
        tuple(c.name for c in t.limit_history.columns),
        conflict=("tenant_id", "buyer_id", "seq"),
    )

    async def apply(self, session: AsyncSession, changes: Sequence[CreditChange]) -> None:
        rows = [
            (
                c.tenant_id,
                c.buyer_id,
                ev.seq,
                ev.limit.effective_on,
                ev.limit.currency,
                ev.limit.amount,
                ev.limit.terms_days,
                ev.limit.security,
                ev.limit.reason,
                ev.limit.policy_version,
                _dumps(limit_json(ev.limit)),
            )
            for c in changes
            for ev in c.events
            if isinstance(ev, e.LimitSet) and (ev.limit_changed or ev.terms_changed)
        ]
        await self._rows.execute(session, rows)


class ExposureHistoryProjection:
    """`exposure_history`: exposure per currency, dated by the tenant's business date at the time
    (the same in a rebuild: ticks and facts are replayed in the same order)."""

    tables: Sequence[str] = ("exposure_history",)
    _rows = _upsert(t.exposure_history, ("tenant_id", "buyer_id", "currency", "on"))

    async def apply(self, session: AsyncSession, changes: Sequence[CreditChange]) -> None:
        moved = []  # (change, currency, receivables, open orders) where exposure moved
        for c in changes:
            before, after = c.before, c.after
            for currency in sorted({*before.currencies(), *after.currencies()}):
                figures = (after.receivables(currency), after.open_orders(currency))
                if figures != (before.receivables(currency), before.open_orders(currency)):
                    moved.append((c, currency, *figures))
        if not moved:  # a grade, a cover, a hold: no exposure row, no query for the dates
            return
        tenants = sorted({c.tenant_id for c, *_ in moved})
        dates = dict(
            (
                await session.execute(
                    sa.select(business_dates.c.tenant_id, business_dates.c.business_date).where(
                        business_dates.c.tenant_id.in_(tenants)
                    )
                )
            ).all()
        )
        rows: dict[tuple[str, str, str, date], tuple[object, ...]] = {}
        for c, currency, receivables, open_orders in moved:
            on = dates.get(c.tenant_id) or c.after.as_of or EPOCH
            rows[(c.tenant_id, c.buyer_id, currency, on)] = (
                c.tenant_id,
                c.buyer_id,
                currency,
                on,
                receivables,
                open_orders,
            )
        await self._rows.execute(session, [rows[k] for k in sorted(rows)])


class ContractReviewsProjection:
    tables: Sequence[str] = ("contract_reviews",)
    _rows = _upsert(t.contract_reviews, ("tenant_id", "review_id"))

    async def apply(self, session: AsyncSession, changes: Sequence[CreditChange]) -> None:
        rows: dict[tuple[str, str], tuple[object, ...]] = {}
        for c in changes:
            for ev in c.events:
                if isinstance(ev, e.ContractReviewDone):
                    rows[(c.tenant_id, ev.review_id)] = (
                        c.tenant_id,
                        ev.review_id,
                        c.buyer_id,
                        ev.subject,
                        ev.review.jurisdiction,
                        ev.review.compliant,
                        _dumps(
                            [
                                {
                                    "rule": f.rule,
                                    "severity": f.severity,
                                    "law": f.law,
                                    "detail": f.detail,
                                }
                                for f in ev.review.findings
                            ]
                        ),
                        ev.policy_version,
                        ev.reviewed_on,
                    )
        await self._rows.execute(session, [rows[k] for k in sorted(rows)])


def projections() -> tuple[
    CreditFilesProjection,
    HoldsProjection,
    DecisionsProjection,
    LimitHistoryProjection,
    ExposureHistoryProjection,
    ContractReviewsProjection,
]:
    return (
        CreditFilesProjection(),
        HoldsProjection(),
        DecisionsProjection(),
        LimitHistoryProjection(),
        ExposureHistoryProjection(),
        ContractReviewsProjection(),
    )
