"""evolve(state, event) -> state: the one place a buyer's credit state changes (pure)."""

from __future__ import annotations

from dataclasses import replace

from arshield_credit_assessment.domain import events as e
from arshield_credit_assessment.domain.state import BuyerCredit, Performance, Referral

MAX_FLAGGED = 50


def evolve(state: BuyerCredit, event: e.Event) -> BuyerCredit:
    match event:
        case e.Noted(changes=changes):
            return replace(state, **dict(changes))
        case e.OrderOpened(order=order):
            return replace(state, orders={**state.orders, order.order_id: order})
        case e.OrderClosed(order_id=order_id):
            return replace(state, orders={k: v for k, v in state.orders.items() if k != order_id})
        case e.InvoiceKept(invoice=invoice):
            return replace(state, invoices={**state.invoices, invoice.invoice_id: invoice})
        case e.InvoiceClosed(invoice_id=invoice_id, settled=settled, days_late=days_late):
            invoices = {k: v for k, v in state.invoices.items() if k != invoice_id}
            performance = state.performance
            if settled:
                performance = Performance(
                    performance.settled + 1,
                    performance.paid_late + (1 if days_late > 0 else 0),
                    performance.days_late_total + max(days_late, 0),
                )
            return replace(state, invoices=invoices, performance=performance)
        case e.DayStarted(on=on):
            return replace(state, as_of=on)
        case e.PolicyAdopted(policy=policy):
            return replace(state, policy=policy)
        case e.LimitSet(limit=limit, seq=seq, limit_changed=changed):
            performance = Performance() if changed else state.performance
            return replace(state, limit=limit, limit_seq=seq, performance=performance)
        case e.HoldPlaced(hold=hold):
            return replace(state, holds=(*state.holds, hold))
        case e.HoldReleased(hold=hold):
            return replace(state, holds=tuple(h for h in state.holds if h.hold_id != hold.hold_id))
        case e.DecisionMade(decision=decision):
            if decision.decided_by is not None:
                return replace(
                    state,
                    referrals=tuple(
                        r for r in state.referrals if r.decision_id != decision.referred_decision_id
                    ),
                )
            if decision.decision != "referred" or any(
                r.decision_id == decision.decision_id for r in state.referrals
            ):
                return state
            referral = Referral(
                decision.decision_id,
                decision.request_id,
                decision.order_id,
                decision.currency,
                decision.requested,
                decision.reasons,
                decision.decided_on,
            )
            referrals = sorted(
                (*state.referrals, referral), key=lambda r: (r.decided_on, r.decision_id)
            )
            return replace(state, referrals=tuple(referrals))
        case e.InvoiceFlagged(invoice_id=invoice_id, rules=rules):
            flagged = tuple(f for f in state.flagged_invoices if f[0] != invoice_id)
            return replace(state, flagged_invoices=((invoice_id, rules), *flagged)[:MAX_FLAGGED])
        case e.ContractReviewDone():
            return state
    return state
