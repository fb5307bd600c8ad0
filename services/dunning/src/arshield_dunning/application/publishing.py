"""The one place where dunning's private events become read-model rows and public events.

Public payloads are the `arshield_events.dunning` schemas; ORM rows never travel on the wire.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from arshield_dunning.adapters import tables as t
from arshield_dunning.adapters.store import DunningStore
from arshield_dunning.domain.events import (
    ActionTaken,
    CaseOpened,
    ControllerAssigned,
    DomainEvent,
    InvoiceTracked,
    Paused,
    PromiseEnded,
    PromiseRecorded,
    Resumed,
    StatementIssued,
)
from arshield_dunning.domain.letters import Letter, render
from arshield_dunning.domain.model import BuyerDunning
from arshield_dunning.domain.policy import Action
from arshield_events import dunning as public
from arshield_events.envelope import CloudEvent, Payload
from arshield_events.money import Money as PublicMoney
from arshield_runtime.telemetry import current_traceparent

_DELIVERY_NAMESPACE = uuid.UUID("a3c1f7d2-5b8e-4c6a-9f01-2e7d4b9c8a55")
CASE_OPENED_WEBHOOK = "collection_case.opened"

_LEVELS: dict[Action, tuple[public.DunningLevel, public.DunningAction]] = {
    Action.FIRST_NOTICE: ("first_overdue_notice", "overdue_notice"),
    Action.FORMAL_NOTICE: ("formal_notice", "legal_letter"),
    Action.AGENCY_HANDOVER: ("agency_handover", "agency_handover"),
}


class Emitter(Protocol):
    """Writes a public event to the outbox in the current transaction (a consumer's
    `HandlerContext` or an API request's emitter), in the active trace or in `traceparent`'s."""

    replaying: bool

    def emit(
        self,
        data: Payload,
        *,
        purpose: str,
        subject: str | None = None,
        time: datetime | None = None,
        traceparent: str | None = None,
    ) -> CloudEvent[Any]: ...


def _money(amount: Decimal, currency: str) -> PublicMoney:
    return PublicMoney(amount=amount, currency=currency)


def delivery_id(case_id: str) -> str:
    """The webhook-id of a case's hand-over: derived from the case, so it never changes."""
    return f"msg_{uuid.uuid5(_DELIVERY_NAMESPACE, case_id).hex}"


class Publisher:
    def __init__(self, store: DunningStore, emitter: Emitter, cause_id: str) -> None:
        self.store = store
        self.emitter = emitter
        self.cause_id = cause_id

    async def publish(
        self,
        state: BuyerDunning,
        events: list[DomainEvent],
        *,
        continue_invoice_traces: bool = False,
    ) -> None:
        """Project `events` (already applied to give `state`) and emit their public forms.

        An invoice is indexed with the trace it is first tracked in (its InvoiceIssued's). With
        `continue_invoice_traces` (a tick's decisions), an event about invoices continues the
        trace of the oldest of them instead of the tick's, and so does a case's webhook.
        """
        traces: dict[str, str] = {}
        if continue_invoice_traces:
            named = {invoice_id for event in events for invoice_id in _about(state, event)}
            traces = await self.store.invoice_traceparents(state.tenant_id, named)
        for event in events:
            trace = _oldest_trace(state, _about(state, event), traces)
            match event:
                case InvoiceTracked():
                    await self.store.index_invoice(
                        state.tenant_id, event.invoice_id, state.buyer_id, current_traceparent()
                    )
                case ActionTaken():
                    await self._action(state, event, trace)
                case StatementIssued():
                    await self._statement(state, event, trace)
                case ControllerAssigned():
                    await self._record_action(
                        state,
                        action=Action.CONTROLLER_ASSIGNMENT,
                        invoice_id=None,
                        level=0,
                        on=event.on,
                        planned_on=None,
                        policy_version=event.policy_version,
                        facts={
                            "balance": str(event.balance.amount),
                            "currency": event.balance.currency,
                            "threshold": str(event.threshold),
                        },
                        letter_id=None,
                    )
                case CaseOpened():
                    await self._case(state, event, trace)
                case Paused():
                    await self._paused(state, event, trace)
                case Resumed():
                    await self._resumed(state, event, trace)
                case PromiseRecorded():
                    await self._promise(state, event, trace)
                case PromiseEnded():
                    await self._promise_ended(state, event, trace)
                case _:
                    pass

    def mark(self) -> int:
        """How many events the emitter holds now (to drop what a failed unit emitted after)."""
        return len(getattr(self.emitter, "emitted", ()))

    def rollback(self, mark: int) -> None:
        emitted = getattr(self.emitter, "emitted", None)
        if emitted is not None:
            del emitted[mark:]

    def _emit(self, data: Payload, state: BuyerDunning, purpose: str, trace: str | None) -> None:
        self.emitter.emit(data, purpose=purpose, subject=state.buyer_id, traceparent=trace)

    async def _record_action(
        self,
        state: BuyerDunning,
        *,
        action: Action,
        invoice_id: str | None,
        level: int,
        on: object,
        planned_on: object,
        policy_version: str,
        facts: dict[str, str],
        letter_id: str | None,
    ) -> None:
        purpose = f"action:{state.buyer_id}:{invoice_id or '-'}:{action.value}:{on}"
        await self.store.insert(
            t.actions,
            {
                "action_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.cause_id}|{purpose}")),
                "tenant_id": state.tenant_id,
                "buyer_id": state.buyer_id,
                "invoice_id": invoice_id,
                "action": action.value,
                "level": level,
                "taken_on": on,
                "planned_on": planned_on,
                "policy_version": policy_version,
                "facts": facts,
                "letter_id": letter_id,
                "cause_event_id": self.cause_id,
            },
        )

    async def _letter(self, state: BuyerDunning, letter: Letter) -> None:
        await self.store.insert(
            t.letters,
            {
                "letter_id": letter.letter_id,
                "tenant_id": state.tenant_id,
                "buyer_id": state.buyer_id,
                "kind": letter.kind.value,
                "language": letter.language,
                "as_of": letter.as_of,
                "invoice_ids": [line.invoice_id for line in letter.lines],
                "content": letter.model_dump(mode="json"),
                "body": render(letter),
            },
        )

    def _channel(self, state: BuyerDunning) -> public.Channel:
        return "email" if state.billing_contact else "letter"

    async def _action(self, state: BuyerDunning, e: ActionTaken, trace: str | None) -> None:
        letter_id = e.letter.letter_id if e.letter else None
        if e.letter:
            await self._letter(state, e.letter)
        await self._record_action(
            state,
            action=e.action,
            invoice_id=e.invoice_id,
            level=e.level,
            on=e.on,
            planned_on=e.planned_on,
            policy_version=e.policy_version,
            facts=e.facts,
            letter_id=letter_id,
        )
        inv = state.invoices[e.invoice_id]
        purpose = f"{e.action.value}:{e.invoice_id}:{e.on}"
        assert letter_id is not None
        assert inv.due_on is not None
        if e.action is Action.RECEIPT_CONFIRMATION:
            self._emit(
                public.ReceiptConfirmationRequested(
                    invoice_id=e.invoice_id,
                    buyer_id=state.buyer_id,
                    delivered_on=inv.delivered_on,
                    letter_id=letter_id,
                    channel=self._channel(state),
                    language=state.language,
                    policy_version=e.policy_version,
                    requested_on=e.on,
                ),
                state,
                purpose,
                trace,
            )
        elif e.action is Action.REMINDER:
            self._emit(
                public.PaymentReminderSent(
                    invoice_id=e.invoice_id,
                    buyer_id=state.buyer_id,
                    due_on=inv.due_on,
                    outstanding=_money(e.outstanding.amount, e.outstanding.currency),
                    letter_id=letter_id,
                    channel=self._channel(state),
                    language=state.language,
                    policy_version=e.policy_version,
                    sent_on=e.on,
                ),
                state,
                purpose,
                trace,
            )
        else:
            level, kind = _LEVELS[e.action]
            claim = e.claim
            interest = claim.interest if claim else Decimal(0)
            compensation = claim.compensation if claim else Decimal(0)
            compensation_currency = claim.compensation_currency if claim else inv.currency
            basis: public.InterestBasis = (
                "agreed" if inv.terms and inv.terms.late_interest == "agreed" else "statutory"
            )
            self._emit(
                public.DunningLevelReached(
                    invoice_id=e.invoice_id,
                    buyer_id=state.buyer_id,
                    level=level,
                    action=kind,
                    letter_id=letter_id,
                    claimed_principal=_money(e.outstanding.amount, e.outstanding.currency),
                    interest_basis=basis,
                    late_interest=_money(interest, e.outstanding.currency),
                    fixed_compensation=_money(compensation, compensation_currency),
                    days_overdue=e.days_overdue,
                    policy_version=e.policy_version,
                    reached_on=e.on,
                ),
                state,
                purpose,
                trace,
            )

    async def _statement(self, state: BuyerDunning, e: StatementIssued, trace: str | None) -> None:
        letter = e.letter
        await self._letter(state, letter)
        await self._record_action(
            state,
            action=Action.STATEMENT,
            invoice_id=None,
            level=0,
            on=e.on,
            planned_on=None,
            policy_version=e.policy_version,
            facts={
                "currency": letter.currency,
                "total_outstanding": str(letter.total_outstanding),
                "overdue": str(e.overdue),
                "invoices": str(len(letter.lines)),
            },
            letter_id=letter.letter_id,
        )
        self._emit(
            public.StatementOfAccountIssued(
                statement_id=letter.letter_id,
                buyer_id=state.buyer_id,
                invoice_ids=tuple(line.invoice_id for line in letter.lines),
                total_outstanding=_money(letter.total_outstanding, letter.currency),
                overdue=_money(e.overdue, letter.currency),
                document_ref=f"letter:{letter.letter_id}",
                language=state.language,
                policy_version=e.policy_version,
                issued_on=e.on,
            ),
            state,
            f"statement:{letter.currency}:{e.on}",
            trace,
        )

    async def _case(self, state: BuyerDunning, e: CaseOpened, trace: str | None) -> None:
        evidence = [
            {"kind": kind, "document_ref": ref, "invoice_id": invoice_id}
            for kind, ref, invoice_id in e.evidence
        ]
        await self.store.insert(
            t.cases,
            {
                "case_id": e.case_id,
                "tenant_id": state.tenant_id,
                "buyer_id": state.buyer_id,
                "agency_id": e.agency_id,
                "status": "handed_over" if e.agency_id else "opened",
                "invoice_ids": list(e.invoice_ids),
                "amount": e.amount.amount,
                "currency": e.amount.currency,
                "evidence": evidence,
                "opened_on": e.on,
                "policy_version": e.policy_version,
                "history": [],
            },
        )
        self._emit(
            public.CollectionCaseOpened(
                case_id=e.case_id,
                buyer_id=state.buyer_id,
                invoice_ids=e.invoice_ids,
                amount=_money(e.amount.amount, e.amount.currency),
                evidence=tuple(public.Evidence.model_validate(x) for x in evidence),
                policy_version=e.policy_version,
                opened_on=e.on,
            ),
            state,
            f"case:{e.case_id}",
            trace,
        )
        if e.agency_id is None:
            return
        self._emit(
            public.CaseHandedToAgency(
                case_id=e.case_id,
                buyer_id=state.buyer_id,
                agency_id=e.agency_id,
                handed_on=e.on,
            ),
            state,
            f"handover:{e.case_id}",
            trace,
        )
        if self.emitter.replaying:
            return  # the webhook went out when the case was first opened
        await self.store.insert(
            t.deliveries,
            {
                "delivery_id": delivery_id(e.case_id),
                "tenant_id": state.tenant_id,
                "agency_id": e.agency_id,
                "case_id": e.case_id,
                "event_type": CASE_OPENED_WEBHOOK,
                "body": case_webhook_body(state, e, evidence),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": datetime.now(UTC),
                "traceparent": trace or current_traceparent(),
            },
        )

    async def _paused(self, state: BuyerDunning, e: Paused, trace: str | None) -> None:
        await self.store.upsert(
            t.pauses,
            {
                "tenant_id": state.tenant_id,
                "invoice_id": e.invoice_id,
                "reference_id": e.reference_id,
                "buyer_id": state.buyer_id,
                "reason": e.reason,
                "paused_on": e.on,
                "until_on": e.until,
                "resumed_on": None,
                "resume_reason": None,
            },
            keys=("tenant_id", "invoice_id", "reference_id"),
        )
        reason: public.PauseReason = "dispute" if e.reason == "dispute" else "promise_to_pay"
        self._emit(
            public.DunningPaused(
                invoice_id=e.invoice_id,
                buyer_id=state.buyer_id,
                reason=reason,
                reference_id=e.reference_id,
                paused_on=e.on,
                until_on=e.until,
            ),
            state,
            f"paused:{e.invoice_id}:{e.reference_id}",
            trace,
        )

    async def _resumed(self, state: BuyerDunning, e: Resumed, trace: str | None) -> None:
        await self.store.session.execute(
            t.pauses.update()
            .where(
                t.pauses.c.tenant_id == state.tenant_id,
                t.pauses.c.invoice_id == e.invoice_id,
                t.pauses.c.resumed_on.is_(None),
            )
            .values(resumed_on=e.on, resume_reason=e.reason)
        )
        self._emit(
            public.DunningResumed(
                invoice_id=e.invoice_id,
                buyer_id=state.buyer_id,
                reason=e.reason,
                reference_id=e.reference_id,
                resumed_on=e.on,
            ),
            state,
            f"resumed:{e.invoice_id}:{e.reference_id}",
            trace,
        )

    async def _promise(self, state: BuyerDunning, e: PromiseRecorded, trace: str | None) -> None:
        p = e.promise
        await self.store.insert(
            t.promises,
            {
                "promise_id": p.promise_id,
                "tenant_id": state.tenant_id,
                "buyer_id": state.buyer_id,
                "invoice_ids": list(p.invoice_ids),
                "promised_on": p.promised_on,
                "grace_until": p.grace_until,
                "amount": p.amount.amount,
                "currency": p.amount.currency,
                "status": p.status,
                "recorded_on": p.recorded_on,
                "recorded_by": p.recorded_by,
            },
        )
        self._emit(
            public.PromiseToPayRecorded(
                promise_id=p.promise_id,
                buyer_id=state.buyer_id,
                invoice_ids=p.invoice_ids,
                promised_amount=_money(p.amount.amount, p.amount.currency),
                promised_payment_on=p.promised_on,
                grace_days=(p.grace_until - p.promised_on).days,
                recorded_by=p.recorded_by or "api",
                recorded_on=p.recorded_on,
            ),
            state,
            f"promise:{p.promise_id}",
            trace,
        )

    async def _promise_ended(self, state: BuyerDunning, e: PromiseEnded, trace: str | None) -> None:
        await self.store.update(
            t.promises,
            {"promise_id": e.promise_id},
            {"status": e.status, "ended_on": e.on},
        )
        if e.status != "broken":
            return
        p = state.promises[e.promise_id]
        self._emit(
            public.PromiseToPayBroken(
                promise_id=p.promise_id,
                buyer_id=state.buyer_id,
                invoice_ids=p.invoice_ids,
                promised_amount=_money(p.amount.amount, p.amount.currency),
                paid_amount=_money(e.paid, p.amount.currency),
                promised_payment_on=p.promised_on,
                broken_on=e.on,
            ),
            state,
            f"promise-broken:{p.promise_id}",
            trace,
        )


def _about(state: BuyerDunning, event: DomainEvent) -> tuple[str, ...]:
    """The invoices a public event about `event` names (whose traces it may continue)."""
    match event:
        case ActionTaken() | Paused() | Resumed():
            return (event.invoice_id,)
        case CaseOpened():
            return event.invoice_ids
        case StatementIssued():
            return tuple(line.invoice_id for line in event.letter.lines)
        case PromiseRecorded():
            return event.promise.invoice_ids
        case PromiseEnded():
            return state.promises[event.promise_id].invoice_ids
        case _:
            return ()


def _oldest_trace(
    state: BuyerDunning, invoice_ids: Collection[str], traces: dict[str, str]
) -> str | None:
    """The trace of the oldest (first issued) of the invoices that has one."""
    traced = [invoice_id for invoice_id in invoice_ids if invoice_id in traces]
    if not traced:
        return None

    def age(invoice_id: str) -> tuple[date, str]:
        inv = state.invoices.get(invoice_id)
        return (inv.issued_on if inv and inv.issued_on else date.max, invoice_id)

    return traces[min(traced, key=age)]


def case_webhook_body(
    state: BuyerDunning, e: CaseOpened, evidence: list[dict[str, str | None]]
) -> str:
    """The Standard Webhooks payload (`type`, `timestamp`, `data`) an agency receives."""
    invoices = []
    for invoice_id in e.invoice_ids:
        inv = state.invoices[invoice_id]
        assert inv.amount is not None
        assert inv.due_on is not None
        invoices.append(
            {
                "invoice_id": invoice_id,
                "invoice_number": inv.invoice_number,
                "issued_on": inv.issued_on.isoformat() if inv.issued_on else None,
                "due_on": inv.due_on.isoformat(),
                "amount": {"amount": str(inv.amount.amount), "currency": inv.amount.currency},
                "outstanding": {"amount": str(inv.outstanding), "currency": inv.currency},
                "days_overdue": (e.on - inv.due_on).days,
            }
        )
    body = {
        "type": CASE_OPENED_WEBHOOK,
        "timestamp": datetime.combine(e.on, datetime.min.time(), tzinfo=UTC).isoformat(),
        "data": {
            "case_id": e.case_id,
            "tenant_id": state.tenant_id,
            "buyer": {
                "buyer_id": state.buyer_id,
                "legal_name": state.legal_name,
                "country": state.country,
                "language": state.language,
                "billing_contact": state.billing_contact.model_dump()
                if state.billing_contact
                else None,
            },
            "amount": {"amount": str(e.amount.amount), "currency": e.amount.currency},
            "invoices": invoices,
            "evidence": evidence,
            "opened_on": e.on.isoformat(),
            "policy_version": e.policy_version,
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
