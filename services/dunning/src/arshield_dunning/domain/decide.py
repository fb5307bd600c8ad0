"""`decide(state, command) -> events` for one buyer's dunning: the facts' rules here, the business
day's in `domain/day.py`.

Within a day, facts only change state (an invoice becomes known, is paid, disputed, promised);
actions are taken when the day starts, so the order of facts within a day does not change them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from arshield_dunning.domain.commands import (
    ApplyCreditNote,
    ApplyPayment,
    CancelInvoice,
    Command,
    ConfirmDelivery,
    DunningError,
    NoteCashOnAccount,
    NoteLedgerBalance,
    NoteSettlement,
    NoteUnnamedPayment,
    PutOnWatch,
    RaiseDispute,
    RecordPromise,
    RegisterBuyer,
    ResolveDispute,
    RestorePromise,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_dunning.domain.day import start_day
from arshield_dunning.domain.events import (
    BuyerProfiled,
    CashOnAccountNoted,
    CorrectionNoted,
    DeliveryNoted,
    DisputeClosed,
    DisputeOpened,
    DomainEvent,
    InvoiceClosed,
    InvoiceReduced,
    InvoiceTracked,
    LedgerBalanceNoted,
    Paused,
    PromiseRecorded,
    Resumed,
    UnnamedPaymentNoted,
    WatchChanged,
)
from arshield_dunning.domain.evolve import Decision
from arshield_dunning.domain.state import ZERO, BuyerDunning, Closure, Money, Promise, Reduction

log = logging.getLogger(__name__)


def decide(state: BuyerDunning, command: Command) -> list[DomainEvent]:
    d = Decision(state)
    _DECIDERS[type(command)](d, command)
    return d.events


def _register(d: Decision, c: RegisterBuyer) -> None:
    d.add(BuyerProfiled(**c.__dict__))


def _put_on_watch(d: Decision, c: PutOnWatch) -> None:
    if c.on_watch != d.state.on_watch:
        d.add(WatchChanged(on_watch=c.on_watch, reason=c.reason))


def _close_if_paid(d: Decision, invoice_id: str, on: date) -> None:
    inv = d.state.invoice(invoice_id)
    if inv.is_open and inv.outstanding <= 0:
        d.add(InvoiceClosed(invoice_id=invoice_id, closure=Closure.SETTLED, on=on))


def _track(d: Decision, c: TrackInvoice) -> None:
    d.add(InvoiceTracked(**c.__dict__))
    _close_if_paid(d, c.invoice_id, c.issued_on)


def _cancel(d: Decision, c: CancelInvoice) -> None:
    if d.state.invoice(c.invoice_id).closed is None:
        d.add(InvoiceClosed(invoice_id=c.invoice_id, closure=Closure.CANCELLED, on=c.on))


def _confirm_delivery(d: Decision, c: ConfirmDelivery) -> None:
    d.add(DeliveryNoted(invoice_id=c.invoice_id, document_ref=c.document_ref, confirmed_on=c.on))


def _reduce(d: Decision, invoice_id: str, reduction: Reduction) -> None:
    inv = d.state.invoice(invoice_id)
    if any(r.source_id == reduction.source_id for r in inv.reductions):
        return
    d.add(InvoiceReduced(invoice_id=invoice_id, reduction=reduction))
    _close_if_paid(d, invoice_id, reduction.on)


def _pay(d: Decision, c: ApplyPayment) -> None:
    for invoice_id, amount in c.allocations:
        reduction = Reduction(source_id=c.payment_id, kind="payment", on=c.on, amount=amount)
        _reduce(d, invoice_id, reduction)


def _credit(d: Decision, c: ApplyCreditNote) -> None:
    reduction = Reduction(source_id=c.credit_note_id, kind="credit_note", on=c.on, amount=c.amount)
    _reduce(d, c.invoice_id, reduction)


_LEDGER_CLOSED = {
    "paid": Closure.SETTLED,
    "cancelled": Closure.CANCELLED,
    "credited": Closure.CANCELLED,
    "written_off": Closure.CANCELLED,
}


def _ledger_balance(d: Decision, c: NoteLedgerBalance) -> None:
    d.add(LedgerBalanceNoted(invoice_id=c.invoice_id, outstanding=c.outstanding, on=c.on))
    closure = _LEDGER_CLOSED.get(c.status)
    inv = d.state.invoice(c.invoice_id)
    if closure is not None and inv.closed is None:
        d.add(InvoiceClosed(invoice_id=c.invoice_id, closure=closure, on=c.on))
    else:
        _close_if_paid(d, c.invoice_id, c.on)


def _settled(d: Decision, c: NoteSettlement) -> None:
    if d.state.invoice(c.invoice_id).closed is None:
        d.add(InvoiceClosed(invoice_id=c.invoice_id, closure=Closure.SETTLED, on=c.on))


def _raise_dispute(d: Decision, c: RaiseDispute) -> None:
    inv = d.state.invoice(c.invoice_id)
    if c.dispute_id in inv.open_disputes:
        return
    was_paused = inv.paused
    d.add(DisputeOpened(invoice_id=c.invoice_id, dispute_id=c.dispute_id, on=c.on, amount=c.amount))
    # a dispute of part of the invoice pauses only that part: the rest keeps its timeline
    if not was_paused and inv.closed is None and d.state.invoice(c.invoice_id).paused:
        d.add(Paused(invoice_id=c.invoice_id, reason="dispute", reference_id=c.dispute_id, on=c.on))


def _cash_on_account(d: Decision, c: NoteCashOnAccount) -> None:
    if c.payment_id not in d.state.cash_on_account:
        d.add(CashOnAccountNoted(payment_id=c.payment_id, amount=c.amount, on=c.on))


def _unnamed_payment(d: Decision, c: NoteUnnamedPayment) -> None:
    if c.payment_id not in d.state.unnamed_payments:
        d.add(UnnamedPaymentNoted(payment_id=c.payment_id, amount=c.amount, on=c.on))


def _resolve_dispute(d: Decision, c: ResolveDispute) -> None:
    inv = d.state.invoice(c.invoice_id)
    if (
        c.outcome == "upheld"
        and c.credit_note_id is not None
        and c.credit_note_id not in inv.corrections
    ):
        # the note corrects the invoice, whether it or the resolution arrives first
        d.add(CorrectionNoted(invoice_id=c.invoice_id, credit_note_id=c.credit_note_id))
        inv = d.state.invoice(c.invoice_id)
    if c.dispute_id not in inv.open_disputes:
        return
    was_paused = inv.paused
    d.add(
        DisputeClosed(invoice_id=c.invoice_id, dispute_id=c.dispute_id, outcome=c.outcome, on=c.on)
    )
    inv = d.state.invoice(c.invoice_id)
    if was_paused and not inv.paused and inv.closed is None:
        d.add(
            Resumed(
                invoice_id=c.invoice_id,
                reason="dispute_resolved",
                reference_id=c.dispute_id,
                on=c.on,
            )
        )


def _record_promise(d: Decision, c: RecordPromise) -> None:
    state = d.state
    if c.promise_id in state.promises:
        existing = state.promises[c.promise_id]
        if existing.invoice_ids == c.invoice_ids and existing.promised_on == c.promised_on:
            return  # the same command again
        raise DunningError("promise-exists", f"promise {c.promise_id} already exists")
    if not c.invoice_ids:
        raise DunningError("no-invoices", "a promise to pay names at least one invoice")
    if len(set(c.invoice_ids)) != len(c.invoice_ids):
        raise DunningError("duplicate-invoices", "a promise names each invoice once")
    if c.promised_on < c.recorded_on:
        raise DunningError(
            "promise-in-past",
            f"promised date {c.promised_on} is before the business date {c.recorded_on}",
        )
    if c.grace_days < 0:
        raise DunningError("negative-grace", "grace days must not be negative")
    invoices = []
    for invoice_id in c.invoice_ids:
        inv = state.invoices.get(invoice_id)
        if inv is None or not inv.known:
            raise DunningError("unknown-invoice", f"invoice {invoice_id} is not known")
        if not inv.is_open or inv.outstanding <= 0:
            raise DunningError("invoice-closed", f"invoice {invoice_id} is not open")
        if inv.promise_id is not None:
            raise DunningError(
                "promise-active",
                f"invoice {invoice_id} is already covered by promise {inv.promise_id}",
            )
        invoices.append(inv)
    currencies = {inv.currency for inv in invoices}
    if len(currencies) != 1:
        raise DunningError("mixed-currencies", "a promise covers invoices of one currency")
    currency = currencies.pop()
    owed = sum((inv.outstanding for inv in invoices), ZERO)
    amount = owed if c.amount is None else c.amount
    if amount <= 0:
        raise DunningError("non-positive-amount", "the promised amount must be positive")
    promise = Promise(
        promise_id=c.promise_id,
        invoice_ids=c.invoice_ids,
        promised_on=c.promised_on,
        grace_until=c.promised_on + timedelta(days=c.grace_days),
        amount=Money(amount=amount, currency=currency),
        recorded_on=c.recorded_on,
        recorded_by=c.recorded_by,
        owed_when_recorded=owed,
    )
    paused_before = {inv.invoice_id: inv.paused for inv in invoices}
    d.add(PromiseRecorded(promise=promise))
    for invoice_id in c.invoice_ids:
        if not paused_before[invoice_id]:
            d.add(
                Paused(
                    invoice_id=invoice_id,
                    reason="promise_to_pay",
                    reference_id=c.promise_id,
                    on=c.recorded_on,
                    until=promise.grace_until,
                )
            )


def _restore_promise(d: Decision, c: RestorePromise) -> None:
    try:
        _record_promise(d, c.promise)
    except DunningError as refused:
        log.info("promise %s not restored: %s", c.promise.promise_id, refused.detail)


_DECIDERS: dict[type, Callable[[Decision, object], None]] = {
    RegisterBuyer: _register,  # type: ignore[dict-item]
    PutOnWatch: _put_on_watch,  # type: ignore[dict-item]
    TrackInvoice: _track,  # type: ignore[dict-item]
    CancelInvoice: _cancel,  # type: ignore[dict-item]
    ConfirmDelivery: _confirm_delivery,  # type: ignore[dict-item]
    ApplyPayment: _pay,  # type: ignore[dict-item]
    ApplyCreditNote: _credit,  # type: ignore[dict-item]
    NoteLedgerBalance: _ledger_balance,  # type: ignore[dict-item]
    NoteSettlement: _settled,  # type: ignore[dict-item]
    RaiseDispute: _raise_dispute,  # type: ignore[dict-item]
    NoteCashOnAccount: _cash_on_account,  # type: ignore[dict-item]
    NoteUnnamedPayment: _unnamed_payment,  # type: ignore[dict-item]
    ResolveDispute: _resolve_dispute,  # type: ignore[dict-item]
    RecordPromise: _record_promise,  # type: ignore[dict-item]
    StartBusinessDay: start_day,  # type: ignore[dict-item]
    RestorePromise: _restore_promise,  # type: ignore[dict-item]
}
