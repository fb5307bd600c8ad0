"""`evolve(state, event) -> state`: what each of dunning's events does to a buyer's state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from arshield_dunning.domain.events import (
    ActionTaken,
    BuyerProfiled,
    CaseOpened,
    CashOnAccountNoted,
    ControllerAssigned,
    CorrectionNoted,
    DeliveryNoted,
    DisputeClosed,
    DisputeOpened,
    DomainEvent,
    InvoiceClosed,
    InvoiceEvaluated,
    InvoiceReduced,
    InvoiceTracked,
    LedgerBalanceNoted,
    Paused,
    PaymentSplit,
    PolicyApplied,
    PromiseEnded,
    PromiseRecorded,
    Resumed,
    StatementIssued,
    TimelineMoved,
    UnnamedPaymentNoted,
    WatchChanged,
)
from arshield_dunning.domain.state import BuyerDunning, DoneAction, InvoiceDunning, LedgerNote


@dataclass
class Decision:
    """Events decided so far, and the state they lead to (later rules see earlier outcomes)."""

    state: BuyerDunning
    events: list[DomainEvent] = field(default_factory=list)

    def add(self, event: DomainEvent) -> None:
        self.events.append(event)
        self.state = evolve(self.state, event)


def _with_invoice(state: BuyerDunning, inv: InvoiceDunning) -> BuyerDunning:
    return state.model_copy(update={"invoices": {**state.invoices, inv.invoice_id: inv}})


def _update_invoice(state: BuyerDunning, invoice_id: str, **changes: object) -> BuyerDunning:
    return _with_invoice(state, state.invoice(invoice_id).model_copy(update=changes))


def evolve(state: BuyerDunning, event: DomainEvent) -> BuyerDunning:
    match event:
        case BuyerProfiled():
            return state.model_copy(
                update={
                    "legal_name": event.legal_name,
                    "country": event.country,
                    "segment": event.segment,
                    "language": event.language,
                    "billing_contact": event.billing_contact,
                }
            )
        case WatchChanged():
            return state.model_copy(update={"on_watch": event.on_watch})
        case InvoiceTracked():
            details = {name: getattr(event, name) for name in InvoiceTracked.model_fields}
            del details["invoice_id"]
            # the first trace an invoice was tracked in stays its trace
            details["traceparent"] = (
                state.invoice(event.invoice_id).traceparent or event.traceparent
            )
            return _update_invoice(state, event.invoice_id, **details)
        case InvoiceReduced():
            inv = state.invoice(event.invoice_id)
            state = _update_invoice(
                state, event.invoice_id, reductions=(*inv.reductions, event.reduction)
            )
            if event.reduction.kind == "payment" and inv.promise_id in state.promises:
                promise = state.promises[inv.promise_id]
                promise = promise.model_copy(
                    update={"paid_since": promise.paid_since + event.reduction.amount}
                )
                state = state.model_copy(
                    update={"promises": {**state.promises, promise.promise_id: promise}}
                )
            return state
        case CorrectionNoted():
            inv = state.invoice(event.invoice_id)
            return _update_invoice(
                state, event.invoice_id, corrections=(*inv.corrections, event.credit_note_id)
            )
        case PaymentSplit():
            inv = state.invoice(event.invoice_id)
            reductions = tuple(
                r.model_copy(
                    update={"costs": event.costs, "interest": event.interest, "split": True}
                )
                if r.source_id == event.source_id and r.kind == "payment"
                else r
                for r in inv.reductions
            )
            return _update_invoice(state, event.invoice_id, reductions=reductions)
        case LedgerBalanceNoted():
            inv = state.invoice(event.invoice_id)
            notes = inv.ledger_balances
            if event.on is not None:
                notes = (*notes, LedgerNote(on=event.on, outstanding=event.outstanding))
            return _update_invoice(
                state,
                event.invoice_id,
                ledger_outstanding=event.outstanding,
                ledger_balances=notes,
            )
        case DeliveryNoted():
            return _update_invoice(state, event.invoice_id, proof_of_delivery=event.document_ref)
        case InvoiceClosed():
            state = _update_invoice(
                state, event.invoice_id, closed=event.closure, closed_on=event.on
            )
            if not state.open_invoices():
                state = state.model_copy(update={"controller_assigned_on": None})
            return state
        case DisputeOpened():
            inv = state.invoice(event.invoice_id)
            amounts = dict(inv.disputed_amounts)
            if event.amount is not None:
                amounts[event.dispute_id] = event.amount
            return _update_invoice(
                state,
                event.invoice_id,
                open_disputes=(*inv.open_disputes, event.dispute_id),
                disputed_amounts=amounts,
            )
        case DisputeClosed():
            inv = state.invoice(event.invoice_id)
            remaining = tuple(x for x in inv.open_disputes if x != event.dispute_id)
            amounts = {k: v for k, v in inv.disputed_amounts.items() if k != event.dispute_id}
            return _update_invoice(
                state, event.invoice_id, open_disputes=remaining, disputed_amounts=amounts
            )
        case CashOnAccountNoted():
            cash = {**state.cash_on_account, event.payment_id: event.amount}
            return state.model_copy(update={"cash_on_account": cash})
        case UnnamedPaymentNoted():
            paid = {**state.unnamed_payments, event.payment_id: event.amount}
            return state.model_copy(update={"unnamed_payments": paid})
        case PromiseRecorded():
            promise = event.promise
            state = state.model_copy(
                update={"promises": {**state.promises, promise.promise_id: promise}}
            )
            for invoice_id in promise.invoice_ids:
                state = _update_invoice(state, invoice_id, promise_id=promise.promise_id)
            return state
        case PromiseEnded():
            promise = state.promises[event.promise_id].model_copy(update={"status": event.status})
            state = state.model_copy(
                update={"promises": {**state.promises, promise.promise_id: promise}}
            )
            for invoice_id in promise.invoice_ids:
                if state.invoice(invoice_id).promise_id == promise.promise_id:
                    state = _update_invoice(state, invoice_id, promise_id=None)
            return state
        case ActionTaken():
            inv = state.invoice(event.invoice_id)
            done = DoneAction(
                action=event.action,
                level=event.level,
                on=event.on,
                policy_version=event.policy_version,
                letter_id=event.letter.letter_id if event.letter else None,
            )
            level_from = inv.level_from
            if event.level > inv.level and "due_on" in event.facts:
                level_from = date.fromisoformat(event.facts["due_on"])
            return _update_invoice(
                state,
                event.invoice_id,
                done=(*inv.done, done),
                level=max(inv.level, event.level),
                level_from=level_from,
            )
        case TimelineMoved():
            return _update_invoice(state, event.invoice_id, level=0, level_from=event.due_on)
        case InvoiceEvaluated():
            return _update_invoice(state, event.invoice_id, evaluated_through=event.through)
        case StatementIssued():
            return state.model_copy(update={"last_statement_on": event.on})
        case ControllerAssigned():
            return state.model_copy(update={"controller_assigned_on": event.on})
        case CaseOpened():
            for invoice_id in event.invoice_ids:
                state = _update_invoice(state, invoice_id, case_id=event.case_id)
            return state
        case PolicyApplied():
            return state.model_copy(update={"policy": event.policy})
        case Paused() | Resumed():
            return state
    raise TypeError(f"unknown event {type(event).__name__}")  # pragma: no cover


def replay(state: BuyerDunning, events: Iterable[DomainEvent]) -> BuyerDunning:
    for event in events:
        state = evolve(state, event)
    return state
