"""A buyer's credit file as JSON, from its state alone (the `credit_files` read model's body)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arshield_credit_assessment.domain.decide import policy_of
from arshield_credit_assessment.domain.limits import grade_of
from arshield_credit_assessment.domain.state import BuyerCredit, Limit


def amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize() if value else Decimal(0), "f")


def limit_json(limit: Limit) -> dict[str, Any]:
    return {
        "currency": limit.currency,
        "amount": amount(limit.amount),
        "binding": limit.binding,
        "grade": limit.grade,
        "grade_source": limit.grade_source,
        "need": amount(limit.need),
        "need_basis": limit.need_basis,
        "capacity": amount(limit.capacity),
        "capacity_basis": limit.capacity_basis,
        "insured_cover": amount(limit.cover),
        "uninsured_appetite": amount(limit.appetite),
        "terms_days": limit.terms_days,
        "security": limit.security,
        "secured_above_percent": amount(limit.secured_above_percent),
        "policy_version": limit.policy_version,
        "effective_on": limit.effective_on.isoformat(),
        "review_on": limit.review_on.isoformat(),
        "reason": limit.reason,
    }


def credit_file(state: BuyerCredit) -> dict[str, Any]:
    policy = policy_of(state)
    grade, source = grade_of(state, policy)
    currencies = sorted({*state.currencies(), policy.currency})
    p = state.performance
    return {
        "buyer_id": state.buyer_id,
        "registered": state.registered,
        "legal_name": state.legal_name,
        "country": state.country,
        "grade": {
            "grade": grade,
            "source": source,
            "why": state.grade_reason,
            "graded_on": state.graded_on.isoformat() if state.graded_on else None,
            "alert": state.alert,
            "alert_detail": state.alert_detail,
            "insolvent_on": state.insolvent_on.isoformat() if state.insolvent_on else None,
        },
        "policy_version": policy.ref,
        "limit": limit_json(state.limit) if state.limit else None,
        "exposure": [
            {
                "currency": cur,
                "open_receivables": amount(state.receivables(cur)),
                "open_orders": amount(state.open_orders(cur)),
                "total": amount(state.exposure(cur)),
            }
            for cur in currencies
        ],
        "holds": [
            {
                "hold_id": h.hold_id,
                "cause": h.cause,
                "reason": h.reason,
                "invoice_ids": list(h.invoice_ids),
                "placed_on": h.placed_on.isoformat(),
                "lifted_by_a_person_only": h.lifted_by_a_person_only,
            }
            for h in state.holds
        ],
        "referrals": [r.decision_id for r in state.referrals],
        "noncompliant_invoices": [
            {"invoice_id": i, "rules": list(rules)} for i, rules in state.flagged_invoices
        ],
        "payment_performance": {
            "invoices_settled": p.settled,
            "paid_late": p.paid_late,
            "average_days_late": (
                amount(Decimal(p.days_late_total) / p.settled) if p.settled else None
            ),
        },
        "as_of": state.as_of.isoformat() if state.as_of else None,
    }
