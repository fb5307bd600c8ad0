"""The one mapping from dunning's private events to the public language (`arshield_events.dunning`)
and to the webhook an agency receives for a case. Pure: everything comes from the change.

Each public event's `purpose` (unique among its cause's events) is what its id derives from, so
these strings never change. A business day's decisions about invoices continue the trace of the
oldest of them (kept on the invoice in the state) rather than the tick's.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from arshield_dunning.domain.events import (
    ActionTaken,
    CaseOpened,
    DomainEvent,
    Paused,
    PromiseEnded,
    PromiseRecorded,
    Resumed,
    StatementIssued,
)
from arshield_dunning.domain.policy import Action
from arshield_dunning.domain.state import BuyerDunning
from arshield_events import dunning as public
from arshield_events.clock import BusinessDayStarted
from arshield_events.money import Money as PublicMoney
from arshield_runtime.kernel import Change, Emit

CASE_OPENED_WEBHOOK = "collection_case.opened"

DunningChange = Change[BuyerDunning, DomainEvent]

_LEVELS: dict[Action, tuple[public.DunningLevel, public.DunningAction]] = {
    Action.FIRST_NOTICE: ("first_overdue_notice", "overdue_notice"),
    Action.FORMAL_NOTICE: ("formal_notice", "legal_letter"),
    Action.AGENCY_HANDOVER: ("agency_handover", "agency_handover"),
}


def _money(amount: Decimal, currency: str) -> PublicMoney:
    return PublicMoney(amount=amount, currency=currency)


def on_business_day(change: DunningChange) -> bool:
    return change.cause is not None and isinstance(change.cause.data, BusinessDayStarted)


def publish(change: DunningChange) -> Iterator[Emit]:
    """The public events of one decision, in the order of the private ones."""
    state = change.after
    continue_traces = on_business_day(change)
    for event in change.events:
        trace = oldest_trace(state, about(state, event)) if continue_traces else None
        for data, purpose in _public(state, event):
            yield Emit(data, purpose=purpose, traceparent=trace)


def _public(state: BuyerDunning, event: DomainEvent) -> Iterable[tuple[Any, str]]:
    buyer_id = state.buyer_id
    match event:
        case ActionTaken():
            yield _action(state, event), f"{event.action.value}:{event.invoice_id}:{event.on}"
        case StatementIssued():
            letter = event.letter
            yield (
                public.StatementOfAccountIssued(
                    statement_id=letter.letter_id,
                    buyer_id=buyer_id,
                    invoice_ids=tuple(line.invoice_id for line in letter.lines),
                    total_outstanding=_money(letter.total_outstanding, letter.currency),
                    overdue=_money(event.overdue, letter.currency),
                    document_ref=f"letter:{letter.letter_id}",
                    language=state.language,
                    policy_version=event.policy_version,
                    issued_on=event.on,
                ),
                f"statement:{letter.currency}:{event.on}",
            )
        case CaseOpened():
            yield (
                public.CollectionCaseOpened(
                    case_id=event.case_id,
                    buyer_id=buyer_id,
                    invoice_ids=event.invoice_ids,
                    amount=_money(event.amount.amount, event.amount.currency),
                    interest=_money(event.interest, event.amount.currency),
                    compensation=tuple(_money(m.amount, m.currency) for m in event.compensation),
                    evidence=tuple(public.Evidence.model_validate(x) for x in evidence(event)),
                    policy_version=event.policy_version,
                    opened_on=event.on,
                ),
                f"case:{event.case_id}",
            )
            if event.agency_id is not None:
                yield (
                    public.CaseHandedToAgency(
                        case_id=event.case_id,
                        buyer_id=buyer_id,
                        agency_id=event.agency_id,
                        handed_on=event.on,
                    ),
                    f"handover:{event.case_id}",
                )
        case Paused():
            reason: public.PauseReason = (
                "dispute" if event.reason == "dispute" else "promise_to_pay"
            )
            yield (
                public.DunningPaused(
                    invoice_id=event.invoice_id,
                    buyer_id=buyer_id,
                    reason=reason,
                    reference_id=event.reference_id,
                    paused_on=event.on,
                    until_on=event.until,
                ),
                f"paused:{event.invoice_id}:{event.reference_id}",
            )
        case Resumed():
            yield (
                public.DunningResumed(
                    invoice_id=event.invoice_id,
                    buyer_id=buyer_id,
                    reason=event.reason,
                    reference_id=event.reference_id,
                    resumed_on=event.on,
                ),
                f"resumed:{event.invoice_id}:{event.reference_id}",
            )
        case PromiseRecorded():
            p = event.promise
            yield (
                public.PromiseToPayRecorded(
                    promise_id=p.promise_id,
                    buyer_id=buyer_id,
                    invoice_ids=p.invoice_ids,
                    promised_amount=_money(p.amount.amount, p.amount.currency),
                    promised_payment_on=p.promised_on,
                    grace_days=(p.grace_until - p.promised_on).days,
                    recorded_by=p.recorded_by or "api",
                    recorded_on=p.recorded_on,
                ),
                f"promise:{p.promise_id}",
            )
        case PromiseEnded() if event.status == "broken":
            p = state.promises[event.promise_id]
            yield (
                public.PromiseToPayBroken(
                    promise_id=p.promise_id,
                    buyer_id=buyer_id,
                    invoice_ids=p.invoice_ids,
                    promised_amount=_money(p.amount.amount, p.amount.currency),
                    paid_amount=_money(event.paid, p.amount.currency),
                    promised_payment_on=p.promised_on,
                    broken_on=event.on,
                ),
                f"promise-broken:{p.promise_id}",
            )
        case _:
            pass


def _channel(state: BuyerDunning) -> public.Channel:
    return "email" if state.billing_contact else "letter"


def _action(state: BuyerDunning, e: ActionTaken) -> Any:
    inv = state.invoices[e.invoice_id]
    letter_id = e.letter.letter_id if e.letter else None
    assert letter_id is not None
    assert inv.due_on is not None
    if e.action is Action.RECEIPT_CONFIRMATION:
        return public.ReceiptConfirmationRequested(
            invoice_id=e.invoice_id,
            buyer_id=state.buyer_id,
            delivered_on=inv.delivered_on,
            letter_id=letter_id,
            channel=_channel(state),
            language=state.language,
            policy_version=e.policy_version,
            requested_on=e.on,
        )
    if e.action is Action.REMINDER:
        return public.PaymentReminderSent(
            invoice_id=e.invoice_id,
            buyer_id=state.buyer_id,
            due_on=inv.timeline_due_on or inv.due_on,
            outstanding=_money(e.outstanding.amount, e.outstanding.currency),
            letter_id=letter_id,
            channel=_channel(state),
            language=state.language,
            policy_version=e.policy_version,
            sent_on=e.on,
        )
    level, kind = _LEVELS[e.action]
    claim = e.claim
    interest = claim.interest if claim else Decimal(0)
    compensation = claim.compensation if claim else Decimal(0)
    compensation_currency = claim.compensation_currency if claim else inv.currency
    basis: public.InterestBasis = (
        "agreed" if inv.terms and inv.terms.late_interest == "agreed" else "statutory"
    )
    return public.DunningLevelReached(
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
    )


def about(state: BuyerDunning, event: DomainEvent) -> tuple[str, ...]:
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


def oldest_trace(state: BuyerDunning, invoice_ids: Collection[str]) -> str | None:
    """The trace of the oldest (first issued) of the invoices that has one."""
    traced = [
        i for i in invoice_ids if i in state.invoices and state.invoices[i].traceparent is not None
    ]
    if not traced:
        return None

    def age(invoice_id: str) -> tuple[date, str]:
        inv = state.invoices[invoice_id]
        return (inv.issued_on or date.max, invoice_id)

    return state.invoices[min(traced, key=age)].traceparent


def evidence(e: CaseOpened) -> list[dict[str, str | None]]:
    return [
        {"kind": kind, "document_ref": ref, "invoice_id": invoice_id}
        for kind, ref, invoice_id in e.evidence
    ]


def case_webhook_body(state: BuyerDunning, e: CaseOpened) -> str:
    """The Standard Webhooks payload (`type`, `timestamp`, `data`) an agency receives."""
    invoices = []
    claims = dict(e.claims)
    for invoice_id in e.invoice_ids:
        inv = state.invoices[invoice_id]
        assert inv.amount is not None
        due_on = inv.timeline_due_on
        assert due_on is not None
        claim = claims.get(invoice_id)
        invoices.append(
            {
                "interest": {"amount": str(claim.interest), "currency": inv.currency}
                if claim
                else None,
                "compensation": {
                    "amount": str(claim.compensation),
                    "currency": claim.compensation_currency,
                }
                if claim and claim.compensation
                else None,
                "invoice_id": invoice_id,
                "invoice_number": inv.invoice_number,
                "issued_on": inv.issued_on.isoformat() if inv.issued_on else None,
                "due_on": due_on.isoformat(),
                "amount": {"amount": str(inv.amount.amount), "currency": inv.amount.currency},
                "outstanding": {"amount": str(inv.pursued), "currency": inv.currency},
                "days_overdue": (e.on - due_on).days,
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
            "claim": {
                "principal": {"amount": str(e.amount.amount), "currency": e.amount.currency},
                "interest": {"amount": str(e.interest), "currency": e.amount.currency},
                "compensation": [
                    {"amount": str(m.amount), "currency": m.currency} for m in e.compensation
                ],
            },
            "invoices": invoices,
            "evidence": evidence(e),
            "opened_on": e.on.isoformat(),
            "policy_version": e.policy_version,
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
