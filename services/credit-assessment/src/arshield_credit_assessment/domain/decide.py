"""decide(state, command) -> events: credit-assessment's rules for one buyer (pure).

A fact changes the buyer's inputs at once and re-derives its limit under the policy the buyer was
last decided under (a downgrade cuts the limit the day it arrives); a business-day tick adopts the
policy in force, lets covers take effect on their effective date and places holds on invoices
overdue beyond the policy's threshold. Paying every invoice behind an overdue hold releases it;
stop-supply and insolvency holds wait for a person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.check import CheckRequest, check
from arshield_credit_assessment.domain.events import (
    ContractReviewDone,
    DayStarted,
    DecisionMade,
    Event,
    HoldPlaced,
    HoldReleased,
    InvoiceClosed,
    InvoiceFlagged,
    InvoiceKept,
    LimitSet,
    Noted,
    OrderClosed,
    OrderOpened,
    PolicyAdopted,
)
from arshield_credit_assessment.domain.evolve import evolve
from arshield_credit_assessment.domain.limits import compute_limit
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY, CreditPolicy
from arshield_credit_assessment.domain.review import Review, Terms
from arshield_credit_assessment.domain.state import BuyerCredit, Cover, Hold, OpenInvoice, OpenOrder

ReviewTerms = Callable[[Terms, tuple[str, ...], str | None], Review]
"""Reviews terms given the countries that require retention of title and the tenant's own law."""


class _Decision:
    """Events decided so far and the state they lead to."""

    def __init__(self, state: BuyerCredit) -> None:
        self.state, self.events = state, list[Event]()

    def add(self, *events: Event) -> None:
        for event in events:
            self.state = evolve(self.state, event)
            self.events.append(event)


def policy_of(state: BuyerCredit) -> CreditPolicy:
    return state.policy or DEFAULT_POLICY


def _noted(**changes: Any) -> Noted:
    return Noted(tuple(sorted(changes.items())))


def _reason(previous: Any, new: Any, default: str) -> str:
    if previous is None:
        return "first limit"
    parts = []
    if previous.policy_version != new.policy_version:
        parts.append(f"credit policy {new.policy_version} in force")
    if previous.grade != new.grade:
        parts.append(f"grade {previous.grade} -> {new.grade}")
    if previous.cover != new.cover:
        parts.append(f"insured cover {previous.cover} -> {new.cover}")
    if previous.capacity != new.capacity:
        parts.append(f"capacity {previous.capacity} -> {new.capacity}")
    if previous.need != new.need:
        parts.append(f"need {previous.need} -> {new.need}")
    return "; ".join(parts) or default


def relimit(d: _Decision, on: date, why: str) -> None:
    """Re-derive the limit; publish it when its result (amount, terms, security) changes."""
    state = d.state
    if not state.registered:
        return
    previous = state.limit
    limit = compute_limit(state, policy_of(state), on, why)
    limit = replace(limit, reason=_reason(previous, limit, why))
    if previous is not None and limit.same_result(previous):
        kept = replace(
            limit,
            effective_on=previous.effective_on,
            review_on=previous.review_on,
            reason=previous.reason,
        )
        if kept != previous:
            d.add(LimitSet(kept, previous, state.limit_seq, False, False))
        return
    terms_changed = previous is None or (previous.terms_days, previous.security) != (
        limit.terms_days,
        limit.security,
    )
    d.add(LimitSet(limit, previous, state.limit_seq + 1, True, terms_changed))


def _overdue_holds(d: _Decision, on: date, days_overdue: dict[str, int] | None = None) -> None:
    state, policy = d.state, policy_of(d.state)
    held = {i for h in state.holds if h.cause == "overdue" for i in h.invoice_ids}
    late = sorted(
        inv.invoice_id
        for inv in state.invoices.values()
        if inv.outstanding > 0
        and inv.invoice_id not in held
        and _days_overdue(inv, on, days_overdue) > policy.hold_overdue_days
    )
    if late:
        d.add(
            HoldPlaced(
                Hold(
                    hold_id=f"overdue-{on.isoformat()}-{late[0]}",
                    cause="overdue",
                    reason=f"invoices {', '.join(late)} overdue more than "
                    f"{policy.hold_overdue_days} days",
                    invoice_ids=tuple(late),
                    placed_on=on,
                    policy_version=policy.ref,
                )
            )
        )


def _days_overdue(inv: OpenInvoice, on: date, reported: dict[str, int] | None) -> int:
    known = (reported or {}).get(inv.invoice_id)
    if known is not None:
        return known
    return -1 if inv.due_on is None else (on - inv.due_on).days


def _release_paid(d: _Decision, on: date) -> None:
    for hold in d.state.holds:
        if hold.cause != "overdue":
            continue
        still = [
            i for i in hold.invoice_ids if i in d.state.invoices and d.state.invoices[i].outstanding
        ]
        if not still:
            d.add(HoldReleased(hold, f"invoices {', '.join(hold.invoice_ids)} paid", on, None))


def _review(d: _Decision, reviewer: ReviewTerms, terms: Terms, subject: str, on: date) -> Review:
    policy = policy_of(d.state)
    review = reviewer(
        replace(terms, buyer_country=terms.buyer_country or d.state.country),
        policy.retention_of_title_required,
        d.state.tenant_law,
    )
    d.add(ContractReviewDone(f"rev-{subject}", subject, review, policy.ref, on))
    return review


def decide(state: BuyerCredit, command: c.Command, reviewer: ReviewTerms) -> list[Event]:
    d = _Decision(state)
    match command:
        case c.RegisterBuyer(legal_name=name, country=country, on=on):
            d.add(_noted(registered=True, legal_name=name, country=country))
            relimit(d, max(on, state.as_of or on), "buyer registered")
        case c.NoteGrade(grade=grade, reason=reason, on=on):
            d.add(_noted(grade=grade, grade_reason=reason, graded_on=on))
            relimit(d, max(on, state.as_of or on), f"grade {grade}")
        case c.NoteAlert(level=level, detail=detail):
            d.add(_noted(alert=level, alert_detail=detail))
        case c.NoteFinancials(equity=equity, currency=currency, period_end=end, on=on):
            d.add(_noted(equity=equity, equity_currency=currency, financials_period_end=end))
            relimit(d, max(on, state.as_of or on), "financials reported")
        case c.NoteCover() as cover:
            kept = tuple(x for x in state.covers if x.effective_on != cover.effective_on)
            new = Cover(cover.amount, cover.currency, cover.effective_on, cover.notified_on)
            covers = tuple(sorted((*kept, new), key=lambda x: (x.effective_on, x.notified_on)))
            d.add(_noted(covers=covers))
            today = state.as_of or cover.notified_on
            if cover.effective_on <= today:
                relimit(d, today, "insured cover changed")
        case c.SetExpectedSales(amount=amount, currency=currency, on=on):
            d.add(_noted(expected_monthly_sales=amount, sales_currency=currency))
            relimit(d, max(on, state.as_of or on), "expected sales recorded")
        case c.PlaceHold(cause=cause, reason=reason, on=on, insolvent=insolvent):
            if insolvent and state.insolvent_on is None:
                d.add(_noted(insolvent_on=on))
            if not any(h.cause == cause for h in state.holds):
                d.add(
                    HoldPlaced(
                        Hold(
                            f"{cause}-{on.isoformat()}", cause, reason, (), on, policy_of(state).ref
                        )
                    )
                )
        case c.PlaceOrder() as order:
            _place_order(d, order, reviewer)
        case c.CancelOrder(order_id=order_id):
            if order_id in state.orders:
                d.add(OrderClosed(order_id))
        case c.TrackInvoice() as invoice:
            _track_invoice(d, invoice, reviewer)
        case c.NoteBalance() as balance:
            _note_balance(d, balance)
        case c.CloseInvoice(invoice_id=invoice_id, on=on):
            _close_invoice(d, invoice_id, on)
        case c.NoteSettled(invoice_id=invoice_id, days_late=days_late, on=on):
            # the ledger may have closed it already (its balance comes first): still counted
            d.add(InvoiceClosed(invoice_id, settled=True, days_late=days_late))
            _release_paid(d, on)
        case c.AdoptPolicy(policy=policy, tenant_law=law):
            if state.policy is None:
                d.add(PolicyAdopted(policy))
                if law != state.tenant_law:
                    d.add(_noted(tenant_law=law))
                if state.as_of is not None:
                    relimit(d, state.as_of, f"credit policy {policy.ref} in force")
        case c.StartDay(on=on, policy=policy, tenant_law=law):
            if law != state.tenant_law:
                d.add(_noted(tenant_law=law))
            _start_day(d, on, policy)

        case c.RestoreDecision(decision=decision):
            d.add(DecisionMade(decision, public=False))
        case c.RestoreRelease() as release:
            hold = state.hold(release.hold_id)
            if hold is not None:
                d.add(HoldReleased(hold, release.reason, release.released_on, release.released_by))
        case c.RestoreReview() as done:
            d.add(
                ContractReviewDone(
                    done.review_id,
                    done.subject,
                    done.review,
                    done.policy_version,
                    done.reviewed_on,
                    public=False,
                )
            )
    return d.events


def _place_order(d: _Decision, order: c.PlaceOrder, reviewer: ReviewTerms) -> None:
    if order.order_id in d.state.orders:
        return
    review = None
    if order.terms is not None:
        review = _review(d, reviewer, order.terms, order.order_id, order.placed_on)
    on = max(order.placed_on, d.state.as_of or order.placed_on)
    request = CheckRequest(
        request_id=order.request_id,
        order_id=order.order_id,
        amount=order.amount,
        currency=order.currency,
        terms_days=order.terms_days,
        on=on,
        review=review,
    )
    decision = check(d.state, policy_of(d.state), request)
    d.add(
        OrderOpened(OpenOrder(order.order_id, order.currency, order.amount, order.placed_on)),
        DecisionMade(decision),
    )


def _track_invoice(d: _Decision, invoice: c.TrackInvoice, reviewer: ReviewTerms) -> None:
    state = d.state
    known = state.invoices.get(invoice.invoice_id)
    outstanding = known.outstanding if known is not None else invoice.amount
    d.add(
        InvoiceKept(
            OpenInvoice(
                invoice.invoice_id,
                invoice.currency,
                outstanding,
                invoice.due_on,
                invoice.order_id,
            )
        )
    )
    order = state.orders.get(invoice.order_id) if invoice.order_id else None
    if order is not None and known is None:  # an invoice counts against its order once
        rest = order.amount - invoice.amount
        if invoice.currency == order.currency and rest > 0:  # invoiced in part: the rest is open
            d.add(OrderOpened(replace(order, amount=rest)))
        else:
            d.add(OrderClosed(order.order_id))
    if invoice.terms is not None:
        review = reviewer(
            replace(invoice.terms, buyer_country=invoice.terms.buyer_country or state.country),
            policy_of(state).retention_of_title_required,
            state.tenant_law,
        )
        if not review.compliant:
            d.add(
                InvoiceFlagged(invoice.invoice_id, review.broken_rules),
                ContractReviewDone(
                    f"rev-{invoice.invoice_id}",
                    invoice.invoice_id,
                    review,
                    policy_of(state).ref,
                    invoice.on,
                ),
            )


def _close_invoice(d: _Decision, invoice_id: str, on: date) -> None:
    if invoice_id in d.state.invoices:
        d.add(InvoiceClosed(invoice_id))
    _release_paid(d, on)


def _note_balance(d: _Decision, balance: c.NoteBalance) -> None:
    state = d.state
    known = state.invoices.get(balance.invoice_id)
    if balance.closed or balance.outstanding <= 0:
        _close_invoice(d, balance.invoice_id, balance.on)
        return
    due_on = balance.due_on or (known.due_on if known else None)
    invoice = OpenInvoice(
        balance.invoice_id,
        balance.currency,
        balance.outstanding,
        due_on,
        known.order_id if known else None,
    )
    if invoice != known:
        d.add(InvoiceKept(invoice))
    if balance.days_overdue is not None:
        _overdue_holds(d, balance.on, {balance.invoice_id: balance.days_overdue})
    _release_paid(d, balance.on)


def _start_day(d: _Decision, on: date, policy: CreditPolicy) -> None:
    state = d.state
    d.add(DayStarted(on))
    adopted = state.policy != policy
    if adopted:
        d.add(PolicyAdopted(policy))
    in_force = [x for x in state.covers if x.effective_on <= on]
    if len(in_force) > 1:  # superseded covers are history
        latest = max(in_force, key=lambda x: (x.effective_on, x.notified_on))
        d.add(_noted(covers=tuple(x for x in state.covers if x.effective_on > on or x == latest)))
    why = f"credit policy {policy.ref} in force" if adopted else "business day"
    relimit(d, on, why)
    _overdue_holds(d, on)


def wake_on(state: BuyerCredit) -> date | None:
    """The next business date the buyer needs a tick: at once when it has not adopted a policy;
    the day a cover takes effect; the day an open invoice passes the overdue threshold. (A new
    policy version wakes every buyer of the tenant on its effective date: the kernel's doing.)"""
    if state.policy is None:
        return date.min
    dates = [x.effective_on for x in state.covers if state.as_of and x.effective_on > state.as_of]
    held = {i for h in state.holds if h.cause == "overdue" for i in h.invoice_ids}
    threshold = timedelta(days=state.policy.hold_overdue_days + 1)
    dates += [
        inv.due_on + threshold
        for inv in state.invoices.values()
        if inv.due_on is not None and inv.outstanding > 0 and inv.invoice_id not in held
    ]
    return min(dates) if dates else None
