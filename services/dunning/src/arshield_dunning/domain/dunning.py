"""`decide(state, command) -> events` and `evolve(state, event) -> state` for one buyer's dunning.

Time is a command: `StartBusinessDay(on=D)` fires every action whose date has come, for invoices
that are open and not paused. An invoice remembers the last day it was evaluated, so an action fires
at most once, a paused invoice catches up when it resumes, and when several levels came due at once
(a late-arriving invoice, a resumed one) only the highest is taken: an overdue account starts
collection at once instead of receiving every earlier letter on one day.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arshield_dunning.domain.claims import Claim, ClaimCalculator
from arshield_dunning.domain.events import (
    ActionTaken,
    BuyerProfiled,
    CaseOpened,
    ControllerAssigned,
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
    PromiseEnded,
    PromiseRecorded,
    Resumed,
    StatementIssued,
    WatchChanged,
)
from arshield_dunning.domain.letters import Letter, LetterLine, letter_id
from arshield_dunning.domain.model import (
    ZERO,
    BillingContact,
    BuyerDunning,
    Closure,
    ContractTerms,
    DoneAction,
    InvoiceDunning,
    Money,
    Promise,
    Reduction,
)
from arshield_dunning.domain.policy import (
    Action,
    EscalationStep,
    Policy,
    PolicyRules,
    Segment,
    plan,
)

_CASE_NAMESPACE = uuid.UUID("4d8b3b8e-1f0e-4f0a-9d55-6a0c8f4e2b71")


class DunningError(Exception):
    """A command the state refuses (the API answers it with a problem document)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# --- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterBuyer:
    legal_name: str
    country: str | None
    segment: Segment
    language: str
    billing_contact: BillingContact | None = None


@dataclass(frozen=True)
class PutOnWatch:
    on_watch: bool
    reason: str


@dataclass(frozen=True)
class TrackInvoice:
    invoice_id: str
    invoice_number: str
    order_id: str | None
    issued_on: date
    delivered_on: date | None
    due_on: date
    amount: Money
    terms: ContractTerms | None = None


@dataclass(frozen=True)
class CancelInvoice:
    invoice_id: str
    on: date


@dataclass(frozen=True)
class ConfirmDelivery:
    invoice_id: str
    document_ref: str
    on: date


@dataclass(frozen=True)
class ApplyPayment:
    payment_id: str
    allocations: tuple[tuple[str, Decimal], ...]
    on: date


@dataclass(frozen=True)
class ApplyCreditNote:
    credit_note_id: str
    invoice_id: str
    amount: Decimal
    on: date


@dataclass(frozen=True)
class NoteLedgerBalance:
    invoice_id: str
    outstanding: Decimal
    status: str
    on: date


@dataclass(frozen=True)
class NoteSettlement:
    invoice_id: str
    on: date


@dataclass(frozen=True)
class RaiseDispute:
    dispute_id: str
    invoice_id: str
    on: date


@dataclass(frozen=True)
class ResolveDispute:
    dispute_id: str
    invoice_id: str
    outcome: str
    on: date


@dataclass(frozen=True)
class RecordPromise:
    promise_id: str
    invoice_ids: tuple[str, ...]
    promised_on: date
    amount: Decimal | None
    recorded_on: date
    grace_days: int
    recorded_by: str | None = None


@dataclass(frozen=True)
class StartBusinessDay:
    on: date
    policy: Policy
    claims: ClaimCalculator
    agency_id: str | None = None


Command = (
    RegisterBuyer
    | PutOnWatch
    | TrackInvoice
    | CancelInvoice
    | ConfirmDelivery
    | ApplyPayment
    | ApplyCreditNote
    | NoteLedgerBalance
    | NoteSettlement
    | RaiseDispute
    | ResolveDispute
    | RecordPromise
    | StartBusinessDay
)


# --- decide --------------------------------------------------------------------------------------


@dataclass
class _Decision:
    """Events decided so far, and the state they lead to (later rules see earlier outcomes)."""

    state: BuyerDunning
    events: list[DomainEvent] = field(default_factory=list)

    def add(self, event: DomainEvent) -> None:
        self.events.append(event)
        self.state = evolve(self.state, event)


def decide(state: BuyerDunning, command: Command) -> list[DomainEvent]:
    d = _Decision(state)
    _DECIDERS[type(command)](d, command)
    return d.events


def _register(d: _Decision, c: RegisterBuyer) -> None:
    d.add(BuyerProfiled(**c.__dict__))


def _put_on_watch(d: _Decision, c: PutOnWatch) -> None:
    if c.on_watch != d.state.on_watch:
        d.add(WatchChanged(on_watch=c.on_watch, reason=c.reason))


def _close_if_paid(d: _Decision, invoice_id: str, on: date) -> None:
    inv = d.state.invoice(invoice_id)
    if inv.is_open and inv.outstanding <= 0:
        d.add(InvoiceClosed(invoice_id=invoice_id, closure=Closure.SETTLED, on=on))


def _track(d: _Decision, c: TrackInvoice) -> None:
    d.add(InvoiceTracked(**c.__dict__))
    _close_if_paid(d, c.invoice_id, c.issued_on)


def _cancel(d: _Decision, c: CancelInvoice) -> None:
    if d.state.invoice(c.invoice_id).closed is None:
        d.add(InvoiceClosed(invoice_id=c.invoice_id, closure=Closure.CANCELLED, on=c.on))


def _confirm_delivery(d: _Decision, c: ConfirmDelivery) -> None:
    d.add(DeliveryNoted(invoice_id=c.invoice_id, document_ref=c.document_ref, confirmed_on=c.on))


def _reduce(d: _Decision, invoice_id: str, reduction: Reduction) -> None:
    inv = d.state.invoice(invoice_id)
    if any(r.source_id == reduction.source_id for r in inv.reductions):
        return
    d.add(InvoiceReduced(invoice_id=invoice_id, reduction=reduction))
    _close_if_paid(d, invoice_id, reduction.on)


def _pay(d: _Decision, c: ApplyPayment) -> None:
    for invoice_id, amount in c.allocations:
        reduction = Reduction(source_id=c.payment_id, kind="payment", on=c.on, amount=amount)
        _reduce(d, invoice_id, reduction)


def _credit(d: _Decision, c: ApplyCreditNote) -> None:
    reduction = Reduction(source_id=c.credit_note_id, kind="credit_note", on=c.on, amount=c.amount)
    _reduce(d, c.invoice_id, reduction)


_LEDGER_CLOSED = {
    "paid": Closure.SETTLED,
    "cancelled": Closure.CANCELLED,
    "credited": Closure.CANCELLED,
    "written_off": Closure.CANCELLED,
}


def _ledger_balance(d: _Decision, c: NoteLedgerBalance) -> None:
    d.add(LedgerBalanceNoted(invoice_id=c.invoice_id, outstanding=c.outstanding))
    closure = _LEDGER_CLOSED.get(c.status)
    inv = d.state.invoice(c.invoice_id)
    if closure is not None and inv.closed is None:
        d.add(InvoiceClosed(invoice_id=c.invoice_id, closure=closure, on=c.on))
    else:
        _close_if_paid(d, c.invoice_id, c.on)


def _settled(d: _Decision, c: NoteSettlement) -> None:
    if d.state.invoice(c.invoice_id).closed is None:
        d.add(InvoiceClosed(invoice_id=c.invoice_id, closure=Closure.SETTLED, on=c.on))


def _raise_dispute(d: _Decision, c: RaiseDispute) -> None:
    inv = d.state.invoice(c.invoice_id)
    if c.dispute_id in inv.open_disputes:
        return
    was_paused = inv.paused
    d.add(DisputeOpened(invoice_id=c.invoice_id, dispute_id=c.dispute_id, on=c.on))
    if not was_paused and inv.closed is None:
        d.add(Paused(invoice_id=c.invoice_id, reason="dispute", reference_id=c.dispute_id, on=c.on))


def _resolve_dispute(d: _Decision, c: ResolveDispute) -> None:
    inv = d.state.invoice(c.invoice_id)
    if c.dispute_id not in inv.open_disputes:
        return
    d.add(
        DisputeClosed(invoice_id=c.invoice_id, dispute_id=c.dispute_id, outcome=c.outcome, on=c.on)
    )
    inv = d.state.invoice(c.invoice_id)
    if not inv.paused and inv.closed is None:
        d.add(
            Resumed(
                invoice_id=c.invoice_id,
                reason="dispute_resolved",
                reference_id=c.dispute_id,
                on=c.on,
            )
        )


def _record_promise(d: _Decision, c: RecordPromise) -> None:
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


def _start_day(d: _Decision, c: StartBusinessDay) -> None:
    today = c.on
    rules = c.policy.rules
    broken = _end_promises(d, today)
    handed_over: list[InvoiceDunning] = []
    for inv in list(d.state.invoices.values()):
        if not inv.is_open or inv.paused:
            continue
        if inv.evaluated_through is not None and inv.evaluated_through >= today:
            continue
        taken = _fire_due_actions(d, inv, c, escalate_now=inv.invoice_id in broken)
        if taken is Action.AGENCY_HANDOVER:
            handed_over.append(d.state.invoices[inv.invoice_id])
        d.add(InvoiceEvaluated(invoice_id=inv.invoice_id, through=today))
    _open_cases(d, handed_over, c)
    _assign_controller(d, rules, c)
    _issue_statements(d, rules, c)


def _end_promises(d: _Decision, today: date) -> set[str]:
    """Promises whose grace ended before `today`: kept ones resume, broken ones escalate."""
    broken: set[str] = set()
    for promise in list(d.state.promises.values()):
        if promise.status != "active" or promise.grace_until >= today:
            continue
        open_invoices = [
            d.state.invoices[i]
            for i in promise.invoice_ids
            if i in d.state.invoices
            and d.state.invoices[i].is_open
            and d.state.invoices[i].outstanding > 0
        ]
        kept = not open_invoices or promise.paid_since >= promise.amount.amount
        d.add(
            PromiseEnded(
                promise_id=promise.promise_id,
                status="kept" if kept else "broken",
                paid=promise.paid_since,
                on=today,
            )
        )
        for inv in open_invoices:
            if not d.state.invoices[inv.invoice_id].paused:
                d.add(
                    Resumed(
                        invoice_id=inv.invoice_id,
                        reason="promise_kept_partially" if kept else "promise_broken",
                        reference_id=promise.promise_id,
                        on=today,
                    )
                )
            if not kept:
                broken.add(inv.invoice_id)
    return broken


def _fire_due_actions(
    d: _Decision, inv: InvoiceDunning, c: StartBusinessDay, *, escalate_now: bool
) -> Action | None:
    """Take the actions that came due for `inv` since it was last evaluated; return the
    escalation taken, if any."""
    assert inv.due_on is not None
    today = c.on
    rules = c.policy.rules
    due = [
        p
        for p in plan(rules, due_on=inv.due_on, delivered_on=inv.delivered_on)
        if p.on <= today and (inv.evaluated_through is None or p.on > inv.evaluated_through)
    ]
    days_overdue = (today - inv.due_on).days

    for p in due:
        if (
            p.action is Action.RECEIPT_CONFIRMATION
            and inv.proof_of_delivery is None
            and not inv.has_done(Action.RECEIPT_CONFIRMATION)
        ):
            _take(d, inv, Action.RECEIPT_CONFIRMATION, 0, p.on, c, facts={})
    reminders = [p for p in due if p.action is Action.REMINDER]
    if reminders and days_overdue <= 0:
        _take(
            d,
            inv,
            Action.REMINDER,
            0,
            reminders[-1].on,
            c,
            facts={"reminders_due": str(len(reminders))},
        )

    levels = [p for p in due if p.level > inv.level]
    step: EscalationStep | None = None
    planned_on: date | None = None
    if levels:
        planned_on = levels[-1].on
        step = rules.escalation_for(levels[-1].action)
    if escalate_now and days_overdue >= 1:
        following = sorted(
            (s for s in rules.escalation if s.level > inv.level), key=lambda s: s.level
        )
        if following and (step is None or following[0].level > step.level):
            step, planned_on = following[0], None
    if step is None:
        return None
    facts = {"cause": "promise_broken" if planned_on is None else "schedule"}
    skipped = [p.action.value for p in levels if step is not None and p.level < step.level]
    if skipped:
        facts["superseded"] = ",".join(skipped)
    action = Action(step.action)
    _take(d, inv, action, step.level, planned_on, c, facts=facts)
    return action


def _take(
    d: _Decision,
    inv: InvoiceDunning,
    action: Action,
    level: int,
    planned_on: date | None,
    c: StartBusinessDay,
    *,
    facts: dict[str, str],
) -> None:
    assert inv.amount is not None
    assert inv.due_on is not None
    today = c.on
    days_overdue = (today - inv.due_on).days
    claim = None
    if days_overdue >= 1 and action is not Action.RECEIPT_CONFIRMATION:
        claim = _claim(inv, today, c.claims)
    line = _line(inv, today, claim)
    letter = Letter(
        letter_id=letter_id(d.state.tenant_id, d.state.buyer_id, action, inv.invoice_id, today),
        kind=action,
        language=d.state.language,
        buyer_id=d.state.buyer_id,
        buyer_name=d.state.legal_name or d.state.buyer_id,
        as_of=today,
        currency=inv.currency,
        lines=(line,),
        policy_version=c.policy.ref,
    )
    all_facts = {
        "business_date": today.isoformat(),
        "due_on": inv.due_on.isoformat(),
        "outstanding": str(inv.outstanding),
        "currency": inv.currency,
        "days_overdue": str(days_overdue),
        "segment": d.state.effective_segment.value,
        "level_before": str(inv.level),
        **({"planned_on": planned_on.isoformat()} if planned_on else {}),
        **facts,
    }
    d.add(
        ActionTaken(
            invoice_id=inv.invoice_id,
            action=action,
            level=level,
            on=today,
            planned_on=planned_on,
            policy_version=c.policy.ref,
            outstanding=Money(amount=inv.outstanding, currency=inv.currency),
            days_overdue=days_overdue,
            facts=all_facts,
            letter=letter,
            claim=claim,
        )
    )


def _claim(inv: InvoiceDunning, as_of: date, claims: ClaimCalculator) -> Claim:
    assert inv.amount is not None
    assert inv.due_on is not None
    return claims.claim(
        amount=inv.amount.amount,
        currency=inv.currency,
        due_on=inv.due_on,
        as_of=as_of,
        terms=inv.terms,
        reductions=inv.reductions,
    )


def _line(inv: InvoiceDunning, as_of: date, claim: Claim | None) -> LetterLine:
    assert inv.amount is not None
    assert inv.due_on is not None
    return LetterLine(
        invoice_id=inv.invoice_id,
        invoice_number=inv.invoice_number or inv.invoice_id,
        issued_on=inv.issued_on,
        due_on=inv.due_on,
        amount=inv.amount.amount,
        outstanding=inv.outstanding,
        days_overdue=(as_of - inv.due_on).days,
        interest=claim.interest if claim else ZERO,
        compensation=claim.compensation if claim else ZERO,
        compensation_currency=claim.compensation_currency if claim else None,
        basis=claim.basis if claim else "",
    )


def _by_currency(invoices: Iterable[InvoiceDunning]) -> dict[str, list[InvoiceDunning]]:
    groups: dict[str, list[InvoiceDunning]] = {}
    for inv in invoices:
        groups.setdefault(inv.currency, []).append(inv)
    return groups


def _open_cases(d: _Decision, invoices: list[InvoiceDunning], c: StartBusinessDay) -> None:
    """One collection case per currency for the invoices handed over today."""
    for currency, group in sorted(_by_currency(invoices).items()):
        ids = tuple(sorted(inv.invoice_id for inv in group))
        case_id = str(
            uuid.uuid5(
                _CASE_NAMESPACE, f"{d.state.tenant_id}|{d.state.buyer_id}|{c.on}|{currency}|{ids}"
            )
        )
        evidence: list[tuple[str, str, str | None]] = []
        for inv in group:
            evidence.append(
                ("invoice", f"invoice:{inv.invoice_number or inv.invoice_id}", inv.invoice_id)
            )
            if inv.proof_of_delivery:
                evidence.append(("proof_of_delivery", inv.proof_of_delivery, inv.invoice_id))
            for done in inv.done:
                if done.letter_id:
                    formal = done.action is Action.FORMAL_NOTICE
                    kind = "legal_letter" if formal else "correspondence"
                    evidence.append((kind, f"letter:{done.letter_id}", inv.invoice_id))
        if d.state.last_statement_on is not None:
            statement = letter_id(
                d.state.tenant_id,
                d.state.buyer_id,
                Action.STATEMENT,
                currency,
                d.state.last_statement_on,
            )
            evidence.append(("statement_of_account", f"letter:{statement}", None))
        d.add(
            CaseOpened(
                case_id=case_id,
                invoice_ids=ids,
                amount=Money(amount=sum((i.outstanding for i in group), ZERO), currency=currency),
                evidence=tuple(evidence),
                on=c.on,
                policy_version=c.policy.ref,
                agency_id=c.agency_id,
            )
        )


def _assign_controller(d: _Decision, rules: PolicyRules, c: StartBusinessDay) -> None:
    if rules.controller_threshold is None or d.state.controller_assigned_on is not None:
        return
    for currency, balance in sorted(d.state.open_balance().items()):
        if balance >= rules.controller_threshold:
            d.add(
                ControllerAssigned(
                    on=c.on,
                    policy_version=c.policy.ref,
                    balance=Money(amount=balance, currency=currency),
                    threshold=rules.controller_threshold,
                )
            )
            return


def _issue_statements(d: _Decision, rules: PolicyRules, c: StartBusinessDay) -> None:
    day = rules.statement_day_of_month
    today = c.on
    last = d.state.last_statement_on
    if (
        day is None
        or today.day < day
        or (last is not None and (last.year, last.month) == (today.year, today.month))
    ):
        return
    for currency, group in sorted(_by_currency(d.state.open_invoices()).items()):
        lines = []
        overdue = ZERO
        for inv in group:
            assert inv.due_on is not None
            claim = _claim(inv, today, c.claims) if inv.due_on < today else None
            lines.append(_line(inv, today, claim))
            if inv.due_on < today:
                overdue += inv.outstanding
        letter = Letter(
            letter_id=letter_id(
                d.state.tenant_id, d.state.buyer_id, Action.STATEMENT, currency, today
            ),
            kind=Action.STATEMENT,
            language=d.state.language,
            buyer_id=d.state.buyer_id,
            buyer_name=d.state.legal_name or d.state.buyer_id,
            as_of=today,
            currency=currency,
            lines=tuple(lines),
            policy_version=c.policy.ref,
        )
        d.add(
            StatementIssued(on=today, policy_version=c.policy.ref, letter=letter, overdue=overdue)
        )


_DECIDERS: dict[type, Callable[[_Decision, object], None]] = {
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
    ResolveDispute: _resolve_dispute,  # type: ignore[dict-item]
    RecordPromise: _record_promise,  # type: ignore[dict-item]
    StartBusinessDay: _start_day,  # type: ignore[dict-item]
}


# --- evolve --------------------------------------------------------------------------------------


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
        case LedgerBalanceNoted():
            return _update_invoice(state, event.invoice_id, ledger_outstanding=event.outstanding)
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
            return _update_invoice(
                state, event.invoice_id, open_disputes=(*inv.open_disputes, event.dispute_id)
            )
        case DisputeClosed():
            inv = state.invoice(event.invoice_id)
            remaining = tuple(x for x in inv.open_disputes if x != event.dispute_id)
            return _update_invoice(state, event.invoice_id, open_disputes=remaining)
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
            return _update_invoice(
                state, event.invoice_id, done=(*inv.done, done), level=max(inv.level, event.level)
            )
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
        case Paused() | Resumed():
            return state
    raise TypeError(f"unknown event {type(event).__name__}")  # pragma: no cover


def replay(state: BuyerDunning, events: Iterable[DomainEvent]) -> BuyerDunning:
    for event in events:
        state = evolve(state, event)
    return state


def next_wake(state: BuyerDunning, rules: PolicyRules) -> date | None:
    """The first business day on which a tick can change anything for this buyer (None: only a
    new fact can). Lets the tick handler skip buyers with nothing due."""
    candidates: list[date] = []
    for inv in state.invoices.values():
        if not inv.is_open or inv.paused or inv.due_on is None:
            continue
        for p in plan(rules, due_on=inv.due_on, delivered_on=inv.delivered_on):
            if inv.evaluated_through is None or p.on > inv.evaluated_through:
                candidates.append(p.on)
                break
        if inv.evaluated_through is None:
            candidates.append(date.min)
    for promise in state.promises.values():
        if promise.status == "active":
            candidates.append(promise.grace_until + timedelta(days=1))
    open_invoices = state.open_invoices()
    if (
        open_invoices
        and rules.controller_threshold is not None
        and state.controller_assigned_on is None
        and any(b >= rules.controller_threshold for b in state.open_balance().values())
    ):
        candidates.append(date.min)
    if open_invoices and rules.statement_day_of_month is not None:
        last = state.last_statement_on
        if last is None:
            candidates.append(date.min)
        else:
            month = date(last.year + last.month // 12, last.month % 12 + 1, 1)
            candidates.append(month.replace(day=rules.statement_day_of_month))
    return min(candidates) if candidates else None
