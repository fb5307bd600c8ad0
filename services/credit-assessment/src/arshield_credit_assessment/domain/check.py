"""The order credit check (DOMAIN.md "Credit assessment"): approve, refer to a person, or decline.

- decline: an unknown buyer, a prepayment-only grade (9-10), a hold (overdue, stop-supply,
  insolvency), or exposure after the order above the limit x the referral tolerance (110 %);
- refer: an order in another currency than the limit, exposure after above the limit but within
  the tolerance, grade 7-8, a `watch`/`warning`/`critical` alert, terms beyond the grade's, a sale
  beyond the share of the limit that may go unsecured, contract terms that fail the review;
- approve otherwise.

The decision id derives from everything the answer rests on, so the same order checked again
gets the very same decision until a fact it rests on changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_credit_assessment.domain.events import Decision
from arshield_credit_assessment.domain.limits import compute_limit, grade_of
from arshield_credit_assessment.domain.policy import CreditPolicy
from arshield_credit_assessment.domain.review import Review
from arshield_credit_assessment.domain.state import BuyerCredit

HOLD_CODES = {"stop_supply": "stop_supply", "insolvency": "insolvency"}


@dataclass(frozen=True)
class CheckRequest:
    request_id: str
    order_id: str | None
    amount: Decimal
    currency: str
    terms_days: int | None
    on: date
    review: Review | None = None


def _fmt(amount: Decimal) -> str:
    return format(amount, "f")


def check(state: BuyerCredit, policy: CreditPolicy, request: CheckRequest) -> Decision:
    """Decide `request` from the buyer's state alone (an open order of the same id is not
    counted twice in the exposure before it)."""
    currency = request.currency
    own = state.orders.get(request.order_id or "")
    before = state.exposure(currency) - (
        own.amount if own and own.currency == currency else Decimal(0)
    )
    after = before + request.amount
    declines: list[tuple[str, str]] = []
    refers: list[tuple[str, str]] = []
    limit_amount: Decimal | None = None
    if not state.registered:
        declines.append(("unknown_buyer", f"buyer {state.buyer_id} is not registered"))
    else:
        limit = state.limit or compute_limit(state, policy, request.on, "first check")
        grade, _ = grade_of(state, policy)
        band = policy.band(grade)
        if band.security == "prepayment":
            declines.append(("prepayment_only", f"grade {grade}: sales on prepayment only"))
        for hold in state.holds:
            code = HOLD_CODES.get(hold.cause, "credit_hold")
            declines.append((code, f"hold {hold.hold_id}: {hold.reason}"))
        if state.insolvent_on and not any(h.cause == "insolvency" for h in state.holds):
            declines.append(("insolvency", f"insolvent since {state.insolvent_on}"))
        if 7 <= grade <= 8:
            refers.append(("grade_referral", f"grade {grade}: a person decides"))
        if state.alert in ("watch", "warning", "critical"):
            refers.append(("risk_alert", f"{state.alert} alert: {state.alert_detail}"))
        terms = request.terms_days
        if terms is not None and terms > limit.terms_days:
            refers.append(
                (
                    "terms_exceed_grade",
                    f"{terms} days asked, grade {grade} allows {limit.terms_days}",
                )
            )
        if currency != limit.currency:
            refers.append(
                (
                    "currency_mismatch",
                    f"order in {currency}, the credit limit is in {limit.currency}",
                )
            )
        else:
            limit_amount = limit.amount
            tolerance = limit.amount * policy.referral_tolerance_percent / 100
            if after > tolerance:
                declines.append(
                    (
                        "over_limit",
                        f"exposure after {_fmt(after)} exceeds "
                        f"{policy.referral_tolerance_percent}% of the limit "
                        f"{_fmt(limit.amount)} {currency}",
                    )
                )
            elif after > limit.amount:
                refers.append(
                    (
                        "within_tolerance",
                        f"exposure after {_fmt(after)} exceeds the limit {_fmt(limit.amount)} "
                        f"{currency} within the {policy.referral_tolerance_percent}% tolerance",
                    )
                )
            secured = limit.secured_above_percent
            if (
                secured is not None
                and band.security != "prepayment"
                and after > limit.amount * secured / 100
            ):
                refers.append(
                    (
                        "security_required",
                        f"sales above {secured}% of the limit need {band.security}",
                    )
                )
        if request.review is not None and not request.review.compliant:
            refers.append(
                (
                    "contract_terms",
                    "contract terms fail the review: " + ", ".join(request.review.broken_rules),
                )
            )
    if declines:
        outcome, reasons = "declined", declines + refers
    elif refers:
        outcome, reasons = "referred", refers
    else:
        outcome = "approved"
        reasons = [
            (
                "within_limit",
                f"exposure after {_fmt(after)} within the limit {_fmt(limit_amount or Decimal(0))} "
                f"{currency}",
            )
        ]
    policy_version = state.limit.policy_version if state.limit else policy.ref
    key = "|".join(
        [
            request.request_id,
            request.order_id or "",
            _fmt(request.amount),
            currency,
            str(request.terms_days),
            outcome,
            ",".join(code for code, _ in reasons),
            _fmt(limit_amount) if limit_amount is not None else "",
            _fmt(before),
            policy_version,
        ]
    )
    return Decision(
        decision_id="dec-" + hashlib.sha256(key.encode()).hexdigest()[:20],
        request_id=request.request_id,
        order_id=request.order_id,
        currency=currency,
        requested=request.amount,
        decision=outcome,
        reason_codes=tuple(code for code, _ in reasons),
        reasons=tuple(text for _, text in reasons),
        credit_limit=limit_amount,
        exposure_before=before,
        exposure_after=after,
        policy_version=policy_version,
        decided_on=request.on,
    )
