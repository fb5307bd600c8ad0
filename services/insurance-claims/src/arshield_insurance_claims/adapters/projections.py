"""The service's read models, one `<ReadModel>Projection` each, kept by the kernel from a
transaction's changes (idempotent, batched). `tables` names what a rebuild empties and replays.

The insurer's webhook deliveries are a projection too, but their rows live on (they are
attempted and retried), so they are never emptied: their ids derive from the event that caused
them, and a replayed event finds its delivery there and adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_insurance_claims.adapters import tables as t
from arshield_insurance_claims.adapters.public_events import InsuranceChange, webhook_body
from arshield_insurance_claims.domain import events as domain
from arshield_insurance_claims.domain.day import deadlines
from arshield_insurance_claims.domain.state import BuyerInsurance
from arshield_runtime.webhooks import store as webhook_store

_DELIVERIES = uuid.UUID("0e5b7c2a-93d4-4f61-a8b2-5c7e1d3f9a04")


async def _insert(session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(pg_insert(table).on_conflict_do_nothing(), rows)


def _latest(changes: Sequence[InsuranceChange]) -> dict[tuple[str, str], BuyerInsurance]:
    return {(c.tenant_id, c.buyer_id): c.after for c in changes}


class BuyersProjection:
    """Per buyer: its policy, stop-supply and insolvency."""

    tables = (t.buyers.name,)

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        rows = [
            {
                "tenant_id": tenant,
                "buyer_id": buyer,
                "policy_id": s.policy_id,
                "stop_supply_on": s.stop_supply.required_on if s.stop_supply else None,
                "stop_supply_reason": s.stop_supply.reason if s.stop_supply else None,
                "insolvent_on": s.insolvent_on,
            }
            for (tenant, buyer), s in sorted(_latest(changes).items())
        ]
        if rows:
            stmt = pg_insert(t.buyers)
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["tenant_id", "buyer_id"],
                    set_={
                        c: stmt.excluded[c] for c in rows[0] if c not in ("tenant_id", "buyer_id")
                    },
                ),
                rows,
            )


class CoverProjection:
    """Every cover decision per buyer, bitemporal (notified on, effective on)."""

    tables = (t.cover.name,)

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        rows = []
        for change in changes:
            for e in change.events:
                if isinstance(e, domain.CoverRecorded):
                    c = e.record
                    rows.append(
                        {
                            "tenant_id": change.tenant_id,
                            "decision_id": c.decision_id,
                            "buyer_id": change.buyer_id,
                            "seq": change.after.covers.index(c),
                            "policy_id": c.policy_id,
                            "decided_by": c.decided_by,
                            "decision": c.decision,
                            "amount": c.amount,
                            "previous": e.previous,
                            "currency": c.currency,
                            "notified_on": c.notified_on,
                            "effective_on": c.effective_on,
                            "request_id": c.request_id,
                        }
                    )
        await _insert(session, t.cover, rows)


class LimitRequestsProjection:
    tables = (t.limit_requests.name,)

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        rows, answered = [], []
        for change in changes:
            for e in change.events:
                if isinstance(e, domain.LimitRequested):
                    r = e.request
                    rows.append(
                        {
                            "tenant_id": change.tenant_id,
                            "request_id": r.request_id,
                            "buyer_id": change.buyer_id,
                            "policy_id": r.policy_id,
                            "amount": r.amount,
                            "currency": r.currency,
                            "requested_on": r.requested_on,
                        }
                    )
                elif isinstance(e, domain.CoverRecorded) and e.record.request_id is not None:
                    answered.append(
                        {
                            "k_tenant": change.tenant_id,
                            "k_request": e.record.request_id,
                            "v_decision": e.record.decision_id,
                        }
                    )
        await _insert(session, t.limit_requests, rows)
        if answered:
            lr = t.limit_requests
            await session.execute(
                lr.update()
                .where(
                    lr.c.tenant_id == sa.bindparam("k_tenant"),
                    lr.c.request_id == sa.bindparam("k_request"),
                )
                .values(decision_id=sa.bindparam("v_decision")),
                answered,
            )


class NotificationsProjection:
    tables = (t.notifications.name,)

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        rows = [
            {
                "tenant_id": change.tenant_id,
                "notification_id": e.notification.notification_id,
                "buyer_id": change.buyer_id,
                "policy_id": e.notification.policy_id,
                "ground": e.notification.ground,
                "invoice_ids": list(e.notification.invoice_ids),
                "amount": e.notification.amount,
                "currency": e.notification.currency,
                "oldest_due_on": e.notification.oldest_due_on,
                "deadline_on": e.notification.deadline_on,
                "notified_on": e.notification.notified_on,
                "in_time": e.notification.in_time,
                "forfeited": list(e.forfeited),
            }
            for change in changes
            for e in change.events
            if isinstance(e, domain.OverdueNotified)
        ]
        await _insert(session, t.notifications, rows)


class ClaimsProjection:
    """Claims with their evidence and status."""

    tables = (t.claims.name,)

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        filed, settled = [], []
        for change in changes:
            for e in change.events:
                if isinstance(e, domain.ClaimFiled):
                    c = e.claim
                    filed.append(
                        {
                            "tenant_id": change.tenant_id,
                            "claim_id": c.claim_id,
                            "buyer_id": change.buyer_id,
                            "policy_id": c.policy_id,
                            "policy_version": c.policy_version,
                            "ground": c.ground,
                            "date_of_loss": c.date_of_loss,
                            "filed_on": c.filed_on,
                            "invoice_ids": list(c.invoice_ids),
                            "insured_outstanding": c.insured_outstanding,
                            "total_outstanding": c.total_outstanding,
                            "cover": c.cover,
                            "indemnity_percentage": c.indemnity_percentage,
                            "claimed_indemnity": c.claimed_indemnity,
                            "currency": c.currency,
                            "evidence": [ev.model_dump(mode="json") for ev in c.evidence],
                            "status": c.status,
                            "indemnity_paid": c.indemnity_paid,
                        }
                    )
                elif isinstance(e, domain.ClaimSettled):
                    settled.append(
                        {
                            "k_tenant": change.tenant_id,
                            "k_claim": e.claim_id,
                            "v_status": e.outcome,
                            "v_paid": e.indemnity_paid,
                            "v_reason": e.reason,
                            "v_settled": e.settled_on,
                        }
                    )
        # a claim is filed before it is settled: in one batch, the insert goes first
        await _insert(session, t.claims, filed)
        if settled:
            columns = t.claims.c
            await session.execute(
                t.claims.update()
                .where(
                    columns.tenant_id == sa.bindparam("k_tenant"),
                    columns.claim_id == sa.bindparam("k_claim"),
                )
                .values(
                    status=sa.bindparam("v_status"),
                    indemnity_paid=sa.bindparam("v_paid"),
                    reason=sa.bindparam("v_reason"),
                    settled_on=sa.bindparam("v_settled"),
                ),
                settled,
            )


class RecoveriesProjection:
    tables = (t.recoveries.name,)

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        rows = [
            {
                "tenant_id": change.tenant_id,
                "recovery_id": e.recovery.recovery_id,
                "buyer_id": change.buyer_id,
                "claim_id": e.recovery.claim_id,
                "policy_id": e.policy_id,
                "amount": e.recovery.amount,
                "currency": e.recovery.currency,
                "method": e.recovery.method,
                "to_insured": e.recovery.to_insured,
                "to_insurer": e.recovery.to_insurer,
                "received_on": e.recovery.received_on,
            }
            for change in changes
            for e in change.events
            if isinstance(e, domain.RecoveryAllocated)
        ]
        await _insert(session, t.recoveries, rows)


class DeadlineWorklistProjection:
    """The worklist: each changed buyer's deadlines under the policy its last day was decided
    under, replaced as a whole."""

    tables = (t.deadlines.name,)

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        # a buyer whose policy was rewritten keeps its rows until its next business day plans
        # them under the new version
        latest = {key: (s, s.policy) for key, s in _latest(changes).items() if s.policy is not None}
        if not latest:
            return
        d = t.deadlines
        keys = sorted(latest)
        await session.execute(
            sa.text(
                "DELETE FROM insurance_deadlines d USING unnest("
                "CAST(:tenants AS text[]), CAST(:buyers AS text[])) AS k(tenant_id, buyer_id)"
                " WHERE d.tenant_id = k.tenant_id AND d.buyer_id = k.buyer_id"
            ),
            {"tenants": [k[0] for k in keys], "buyers": [k[1] for k in keys]},
        )
        rows = [
            {
                "tenant_id": tenant,
                "buyer_id": buyer,
                "kind": item.kind,
                "due_on": item.due_on,
                "invoice_id": item.invoice_id,
                "done_on": item.done_on,
                "policy_version": policy.ref,
                "missed_on": item.missed_on,
                "consequence": item.consequence,
            }
            for (tenant, buyer), (state, policy) in sorted(latest.items())
            for item in deadlines(state, policy)
        ]
        await _insert(session, d, rows)


def delivery_id(tenant_id: str, purpose: str) -> str:
    """The webhook-id of a delivery: derived from its cause, so it never changes."""
    return f"msg_{uuid.uuid5(_DELIVERIES, f'{tenant_id}:{purpose}').hex}"


class InsurerDeliveriesProjection:
    """The outbox of insurer webhooks: limit requests, stop-supply confirmations, notifications and
    claims become deliveries to the policy's insurer endpoint (the runtime's dispatcher sends and
    retries them)."""

    tables = ()

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))

    async def apply(self, session: AsyncSession, changes: Sequence[InsuranceChange]) -> None:
        rows = []
        for change in changes:
            for e in change.events:
                insurer_id = getattr(e, "insurer_id", None)
                found = webhook_body(change.after, e)
                if insurer_id is None or found is None:
                    continue
                kind, body = found
                subject = _subject(e)
                rows.append(
                    {
                        "delivery_id": delivery_id(
                            change.tenant_id, f"{kind}:{change.buyer_id}:{subject}"
                        ),
                        "tenant_id": change.tenant_id,
                        "insurer_id": insurer_id,
                        "buyer_id": change.buyer_id,
                        "subject_id": subject,
                        "event_type": kind,
                        "body": body,
                        "next_attempt_at": self._now(),
                    }
                )
        await webhook_store.enqueue(session, t.webhooks, rows)


def _subject(event: domain.DomainEvent) -> str:
    match event:
        case domain.LimitRequested(request=r):
            return r.request_id
        case domain.OverdueNotified(notification=n):
            return n.notification_id
        case domain.ClaimFiled(claim=c):
            return c.claim_id
        case domain.StopSupplyRequired(stop=s, policy_id=p):
            return f"{p}:{s.required_on}"
    return ""


def projections(now: Callable[[], datetime] | None = None) -> list[Any]:
    """Every read model, in the order they are given a transaction's changes."""
    return [
        BuyersProjection(),
        CoverProjection(),
        LimitRequestsProjection(),
        NotificationsProjection(),
        ClaimsProjection(),
        RecoveriesProjection(),
        DeadlineWorklistProjection(),
        InsurerDeliveriesProjection(now),
    ]
