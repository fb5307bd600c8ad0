"""`evolve(state, event) -> state`: a domain event applied to a buyer's frozen sub-ledger (pure).

Only what changes is copied (the invoice or purse an event names); the rest is shared with the
previous state, which is never modified.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arshield_ledger.domain.events import (
    AnomalyRecorded,
    CashDrawn,
    CashExhausted,
    CashReleasedFromEarmark,
    DeferredFactsTaken,
    DisputeClosed,
    DisputeOpened,
    Entry,
    EntryPosted,
    Event,
    FactAccepted,
    FactDeferred,
    InstalmentAnnouncedOverdue,
    InvoiceBalanceChanged,
    InvoiceCancelled,
    InvoiceCredited,
    InvoiceRecorded,
    InvoiceSettled,
    InvoiceWrittenOff,
    PaymentLeftUnapplied,
    ResolutionHeld,
    TenantLawAdopted,
)
from arshield_ledger.domain.state import (
    CORRECTION,
    ZERO,
    BuyerLedger,
    CashKind,
    CashOnAccount,
    InstalmentState,
    InvoiceState,
)

MOVES_INSTALMENT = ("payment", "unapplied_cash", "credit_note", "cancelled", "written_off")
"""Entry kinds that move an instalment's outstanding amount (`issued` sets it at recording)."""
PAYING = ("payment", "unapplied_cash")
_SETTLED = {"costs_settled": "costs_paid", "interest_settled": "interest_paid"}
"""What a payment settled before the principal (`settlement`): paid, no instalment moves."""
_CASH_KINDS: dict[str, CashKind] = {
    "payment_on_account": "payment",
    "credit_note_on_account": "credit_note",
    "released_on_account": "released",
}


def evolve(state: BuyerLedger, event: Event) -> BuyerLedger:
    if isinstance(event, EntryPosted):
        return _post(state, event.entry)
    if isinstance(event, InvoiceRecorded):
        invoice = InvoiceState(
            invoice_id=event.invoice_id,
            invoice_number=event.invoice_number,
            currency=event.currency,
            amount=event.amount,
            issued_on=event.issued_on,
            due_on=event.due_on,
            content=event.content,
            instalments=tuple(
                InstalmentState(seq=p.seq, due_on=p.due_on, amount=p.amount, outstanding=p.amount)
                for p in event.instalments
            ),
            payment_terms_days=event.payment_terms_days,
            jurisdiction=event.jurisdiction,
            agreed_annual_rate=event.agreed_annual_rate,
            signed_on=event.signed_on,
            creditor_is_sme=event.creditor_is_sme,
            debtor_is_large_or_public=event.debtor_is_large_or_public,
        )
        return _with(state, invoices={**state.invoices, event.invoice_id: invoice})
    if isinstance(event, AnomalyRecorded):
        return _with(state, anomaly_no=event.anomaly.anomaly_no)
    if isinstance(event, FactAccepted):
        return _with(state, seen={**state.seen, event.fact_id: event.content})
    if isinstance(event, FactDeferred):
        key = event.fact.invoice_id
        waiting = (*state.pending.get(key, ()), event.fact)
        return _with(state, pending={**state.pending, key: waiting})
    if isinstance(event, DeferredFactsTaken):
        return _with(state, pending=_without(state.pending, event.invoice_id))
    if isinstance(event, InvoiceCredited):
        inv = state.invoices[event.invoice_id]
        return _invoice(state, inv, credited=inv.credited + event.amount)
    if isinstance(event, InvoiceCancelled):
        inv = state.invoices[event.invoice_id]
        parts = tuple(p.model_copy(update={"outstanding": ZERO}) for p in inv.instalments)
        return _invoice(
            state, inv, instalments=parts, cancelled_on=event.cancelled_on, settled_on=None
        )
    if isinstance(event, InvoiceWrittenOff):
        inv = state.invoices[event.invoice_id]
        parts = tuple(p.model_copy(update={"outstanding": ZERO}) for p in inv.instalments)
        return _invoice(state, inv, instalments=parts, written_off_on=event.written_off_on)
    if isinstance(event, DisputeOpened):
        inv = state.invoices[event.invoice_id]
        return _invoice(state, inv, disputes={**inv.disputes, event.dispute_id: event.amount})
    if isinstance(event, DisputeClosed):
        return _close_dispute(state, event)
    if isinstance(event, ResolutionHeld):
        held = {**state.resolved_early, event.dispute_id: event.outcome}
        return _with(state, resolved_early=held)
    if isinstance(event, CashReleasedFromEarmark | CashDrawn | CashExhausted):
        return _cash(state, event)
    if isinstance(event, InstalmentAnnouncedOverdue):
        inv = state.invoices[event.invoice_id]
        parts = _parts(inv.instalments, event.seq, alerted=event.level)
        return _invoice(state, inv, instalments=parts)
    if isinstance(event, InvoiceBalanceChanged):
        return _invoice(state, state.invoices[event.invoice_id], status=event.status)
    if isinstance(event, InvoiceSettled):
        return _invoice(state, state.invoices[event.invoice_id], settled_on=event.settled_on)
    if isinstance(event, PaymentLeftUnapplied):
        return state  # the cash itself came with its `*_on_account` entry
    if isinstance(event, TenantLawAdopted):
        return _with(
            state,
            tenant_jurisdiction=event.jurisdiction,
            tenant_is_sme=event.is_sme,
            law_adopted=True,
        )
    raise TypeError(f"not a ledger event: {event!r}")


def evolve_all(state: BuyerLedger, events: Iterable[Event]) -> BuyerLedger:
    for event in events:
        state = evolve(state, event)
    return state


def _with(state: BuyerLedger, **update: Any) -> BuyerLedger:
    return state.model_copy(update=update)


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _invoice(state: BuyerLedger, inv: InvoiceState, **update: Any) -> BuyerLedger:
    changed = inv.model_copy(update=update)
    return _with(state, invoices={**state.invoices, inv.invoice_id: changed})


def _parts(
    parts: tuple[InstalmentState, ...], seq: int, **update: Any
) -> tuple[InstalmentState, ...]:
    return tuple(p.model_copy(update=update) if p.seq == seq else p for p in parts)


def _post(state: BuyerLedger, entry: Entry) -> BuyerLedger:
    state = _with(state, entry_no=entry.entry_no)
    if entry.invoice_id is None:
        kind = _CASH_KINDS.get(entry.kind)
        if kind is None:
            return state  # `cash_applied`: the cash drawn is its own event
        cash = CashOnAccount(
            cash_no=entry.entry_no,
            ref=entry.ref,
            kind=kind,
            received_on=entry.effective_on,
            amount=-entry.amount,
            earmarked_for=entry.detail or None,
        )
        purse = (*state.cash.get(entry.currency, ()), cash)
        return _with(state, cash={**state.cash, entry.currency: purse})
    inv = state.invoices[entry.invoice_id]
    if entry.kind == "payments_released":
        return _invoice(state, inv, paid=ZERO)
    if entry.kind == CORRECTION:
        return _invoice(state, inv, corrections=(*inv.corrections, entry.ref))
    if entry.kind == "credit_note" and entry.seq is not None:
        move = (entry.ref, entry.seq, entry.effective_on, entry.amount)
        state = _invoice(state, inv, credit_moves=(*inv.credit_moves, move))
        inv = state.invoices[entry.invoice_id]
    settled = _SETTLED.get(entry.kind)
    if settled is not None:
        return _invoice(
            state,
            inv,
            paid=inv.paid - entry.amount,
            **{settled: getattr(inv, settled) - entry.amount},
        )
    if entry.seq is None or entry.kind not in MOVES_INSTALMENT:
        return state
    update: dict[str, Any] = {}
    parts = []
    for part in inv.instalments:
        if part.seq == entry.seq:
            change: dict[str, Any] = {
                "outstanding": part.outstanding + entry.amount,
                "moves": (*part.moves, (entry.effective_on, entry.amount)),
            }
            if entry.kind in PAYING:
                on = entry.effective_on
                change["paid_on"] = on if part.paid_on is None else max(part.paid_on, on)
            part = part.model_copy(update=change)
        parts.append(part)
    update["instalments"] = tuple(parts)
    if entry.kind in PAYING:
        update["paid"] = inv.paid - entry.amount
    return _invoice(state, inv, **update)


def _close_dispute(state: BuyerLedger, event: DisputeClosed) -> BuyerLedger:
    resolved = {**state.resolved, event.dispute_id: event.outcome}
    if event.resolution_was_held:
        held = _without(state.resolved_early, event.dispute_id)
        return _with(state, resolved=resolved, resolved_early=held)
    inv = state.invoices[event.invoice_id]
    state = _invoice(state, inv, disputes=_without(inv.disputes, event.dispute_id))
    return _with(state, resolved=resolved)


def _cash(
    state: BuyerLedger, event: CashReleasedFromEarmark | CashDrawn | CashExhausted
) -> BuyerLedger:
    purse: list[CashOnAccount] = []
    for cash in state.cash[event.currency]:
        if cash.cash_no == event.cash_no:
            if isinstance(event, CashExhausted):
                continue
            if isinstance(event, CashDrawn):
                cash = cash.model_copy(update={"amount": cash.amount - event.amount})
            else:
                cash = cash.model_copy(update={"earmarked_for": None})
        purse.append(cash)
    if purse:
        return _with(state, cash={**state.cash, event.currency: tuple(purse)})
    return _with(state, cash=_without(state.cash, event.currency))
