"""Dunning's read models, one `<ReadModel>Projection` each, kept by the kernel from a transaction's
changes (`apply(session, changes)`, in the changes' order; idempotent).

`tables` names what a rebuild empties and replays. Cases and the agency webhook deliveries are
projections of `CaseOpened` too, but their rows then live on (an agency reports on a case, a
delivery is attempted and retried), so they are never emptied: their rows' keys derive from the
case, and a replayed `CaseOpened` finds its row there and adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import tables as t
from arshield_dunning.adapters.public_events import (
    CASE_OPENED_WEBHOOK,
    DunningChange,
    about,
    case_webhook_body,
    evidence,
    oldest_trace,
)
from arshield_dunning.domain.events import (
    ActionTaken,
    CaseOpened,
    ControllerAssigned,
    InvoiceTracked,
    Paused,
    PromiseEnded,
    PromiseRecorded,
    Resumed,
    StatementIssued,
)
from arshield_dunning.domain.letters import Letter, render
from arshield_dunning.domain.policy import Action
from arshield_dunning.domain.state import BuyerDunning
from arshield_runtime.webhooks import store as webhook_store

_DELIVERY_NAMESPACE = uuid.UUID("a3c1f7d2-5b8e-4c6a-9f01-2e7d4b9c8a55")


def delivery_id(case_id: str) -> str:
    """The webhook-id of a case's hand-over: derived from the case, so it never changes."""
    return f"msg_{uuid.uuid5(_DELIVERY_NAMESPACE, case_id).hex}"


async def _insert(session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(pg_insert(table).on_conflict_do_nothing(), rows)


class InvoiceIndexProjection:
    """Which buyer an invoice belongs to, and the trace it was first tracked in."""

    tables = ("dunning_invoice_index",)

    async def apply(self, session: AsyncSession, changes: Sequence[DunningChange]) -> None:
        i = t.invoice_index
        for change in changes:
            for event in change.events:
                if not isinstance(event, InvoiceTracked):
                    continue
                statement = pg_insert(i).values(
                    tenant_id=change.tenant_id,
                    invoice_id=event.invoice_id,
                    buyer_id=change.buyer_id,
                    traceparent=event.traceparent,
                )
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[i.c.tenant_id, i.c.invoice_id],
                        set_={"traceparent": statement.excluded.traceparent},
                        where=i.c.traceparent.is_(None),
                    )
                )


class ActionsProjection:
    """Every action taken: for an invoice (letters, escalations) or for the buyer (statements,
    controller assignment), with the policy version and the facts behind it."""

    tables = ("dunning_actions",)

    async def apply(self, session: AsyncSession, changes: Sequence[DunningChange]) -> None:
        rows = [row for change in changes for row in self._rows(change)]
        await _insert(session, t.actions, rows)

    def _rows(self, change: DunningChange) -> list[dict[str, Any]]:
        cause_id = change.cause.id if change.cause is not None else ""
        rows = []
        row: tuple[Action, str | None, int, date, date | None, dict[str, str]]
        for e in change.events:
            match e:
                case ActionTaken():
                    row = (e.action, e.invoice_id, e.level, e.on, e.planned_on, e.facts)
                    letter_id = e.letter.letter_id if e.letter else None
                case StatementIssued():
                    letter = e.letter
                    facts = {
                        "currency": letter.currency,
                        "total_outstanding": str(letter.total_outstanding),
                        "overdue": str(e.overdue),
                        "invoices": str(len(letter.lines)),
                    }
                    row = (Action.STATEMENT, None, 0, e.on, None, facts)
                    letter_id = letter.letter_id
                case ControllerAssigned():
                    facts = {
                        "balance": str(e.balance.amount),
                        "currency": e.balance.currency,
                        "threshold": str(e.threshold),
                    }
                    row = (Action.CONTROLLER_ASSIGNMENT, None, 0, e.on, None, facts)
                    letter_id = None
                case _:
                    continue
            action, invoice_id, level, on, planned_on, facts = row
            purpose = f"action:{change.buyer_id}:{invoice_id or '-'}:{action.value}:{on}"
            rows.append(
                {
                    "action_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cause_id}|{purpose}")),
                    "tenant_id": change.tenant_id,
                    "buyer_id": change.buyer_id,
                    "invoice_id": invoice_id,
                    "action": action.value,
                    "level": level,
                    "taken_on": on,
                    "planned_on": planned_on,
                    "policy_version": e.policy_version,
                    "facts": facts,
                    "letter_id": letter_id,
                    "cause_event_id": cause_id,
                }
            )
        return rows


class LettersProjection:
    """Every letter as sent: its facts and its rendering in the buyer's language."""

    tables = ("dunning_letters",)

    async def apply(self, session: AsyncSession, changes: Sequence[DunningChange]) -> None:
        rows = [
            self._row(change.after, e.letter)
            for change in changes
            for e in change.events
            if isinstance(e, ActionTaken | StatementIssued) and e.letter is not None
        ]
        await _insert(session, t.letters, rows)

    @staticmethod
    def _row(state: BuyerDunning, letter: Letter) -> dict[str, Any]:
        return {
            "letter_id": letter.letter_id,
            "tenant_id": state.tenant_id,
            "buyer_id": state.buyer_id,
            "kind": letter.kind.value,
            "language": letter.language,
            "as_of": letter.as_of,
            "invoice_ids": [line.invoice_id for line in letter.lines],
            "content": letter.model_dump(mode="json"),
            "body": render(letter),
        }


class PromisesProjection:
    tables = ("dunning_promises",)

    async def apply(self, session: AsyncSession, changes: Sequence[DunningChange]) -> None:
        for change in changes:
            for e in change.events:
                if isinstance(e, PromiseRecorded):
                    p = e.promise
                    row = {
                        "promise_id": p.promise_id,
                        "tenant_id": change.tenant_id,
                        "buyer_id": change.buyer_id,
                        "invoice_ids": list(p.invoice_ids),
                        "promised_on": p.promised_on,
                        "grace_until": p.grace_until,
                        "amount": p.amount.amount,
                        "currency": p.amount.currency,
                        "status": p.status,
                        "recorded_on": p.recorded_on,
                        "recorded_by": p.recorded_by,
                    }
                    await _insert(session, t.promises, [row])
                elif isinstance(e, PromiseEnded):
                    await session.execute(
                        t.promises.update()
                        .where(t.promises.c.promise_id == e.promise_id)
                        .values(status=e.status, ended_on=e.on)
                    )


class PausesProjection:
    """Invoices paused by a dispute or a promise to pay, and when they resumed."""

    tables = ("dunning_pauses",)

    async def apply(self, session: AsyncSession, changes: Sequence[DunningChange]) -> None:
        p = t.pauses
        for change in changes:
            for e in change.events:
                if isinstance(e, Paused):
                    values = {
                        "tenant_id": change.tenant_id,
                        "invoice_id": e.invoice_id,
                        "reference_id": e.reference_id,
                        "buyer_id": change.buyer_id,
                        "reason": e.reason,
                        "paused_on": e.on,
                        "until_on": e.until,
                        "resumed_on": None,
                        "resume_reason": None,
                    }
                    keys = ("tenant_id", "invoice_id", "reference_id")
                    statement = pg_insert(p).values(values)
                    await session.execute(
                        statement.on_conflict_do_update(
                            index_elements=list(keys),
                            set_={k: statement.excluded[k] for k in values if k not in keys},
                        )
                    )
                elif isinstance(e, Resumed):
                    await session.execute(
                        p.update()
                        .where(
                            p.c.tenant_id == change.tenant_id,
                            p.c.invoice_id == e.invoice_id,
                            p.c.resumed_on.is_(None),
                        )
                        .values(resumed_on=e.on, resume_reason=e.reason)
                    )


class CasesProjection:
    """Collection cases as opened (their agency's reports update them afterwards)."""

    tables = ()

    async def apply(self, session: AsyncSession, changes: Sequence[DunningChange]) -> None:
        rows = [
            {
                "case_id": e.case_id,
                "tenant_id": change.tenant_id,
                "buyer_id": change.buyer_id,
                "agency_id": e.agency_id,
                "status": "handed_over" if e.agency_id else "opened",
                "invoice_ids": list(e.invoice_ids),
                "amount": e.amount.amount,
                "currency": e.amount.currency,
                "evidence": evidence(e),
                "opened_on": e.on,
                "policy_version": e.policy_version,
                "history": [],
            }
            for change in changes
            for e in change.events
            if isinstance(e, CaseOpened)
        ]
        await _insert(session, t.cases, rows)


class WebhookDeliveriesProjection:
    """The outbox of agency webhooks: a case handed to an agency is a delivery to make (the
    runtime's dispatcher sends it, with retries; its id derives from the case)."""

    tables = ()

    def __init__(self, now: Any = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))

    async def apply(self, session: AsyncSession, changes: Sequence[DunningChange]) -> None:
        rows = [
            {
                "delivery_id": delivery_id(e.case_id),
                "tenant_id": change.tenant_id,
                "agency_id": e.agency_id,
                "case_id": e.case_id,
                "event_type": CASE_OPENED_WEBHOOK,
                "body": case_webhook_body(change.after, e),
                "next_attempt_at": self._now(),
                "traceparent": oldest_trace(change.after, about(change.after, e)),
            }
            for change in changes
            for e in change.events
            if isinstance(e, CaseOpened) and e.agency_id is not None
        ]
        await webhook_store.enqueue(session, t.webhooks, rows)


def projections() -> list[Any]:
    """Every read model dunning keeps, in the order they are given a transaction's changes."""
    return [
        InvoiceIndexProjection(),
        ActionsProjection(),
        LettersProjection(),
        PromisesProjection(),
        PausesProjection(),
        CasesProjection(),
        WebhookDeliveriesProjection(),
    ]
