"""The limit rule: limit = min(need, capacity, insured cover + uninsured appetite).

need = expected monthly sales x (terms + 30 days) / 30 (not limiting while no sales are expected);
capacity = the band's share of the buyer's equity when financials are known, else the band's
grade-based cap; insured cover is the cover in force on the day. A prepayment band has no limit.
Every input is kept on the `Limit`, and the input that binds is named.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

from arshield_credit_assessment.domain.policy import CreditPolicy
from arshield_credit_assessment.domain.state import BuyerCredit, Limit
from arshield_events.money import round_to_minor_units


def grade_of(state: BuyerCredit, policy: CreditPolicy) -> tuple[int, str]:
    """The buyer's internal grade (risk-monitor's), else the policy's grade for unrated buyers."""
    if state.grade is not None:
        return state.grade, "risk-monitor"
    return policy.unrated_grade, "unrated (policy default)"


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _amount(value: Decimal, currency: str) -> Decimal:
    return round_to_minor_units(value, currency)


def compute_limit(state: BuyerCredit, policy: CreditPolicy, on: date, reason: str) -> Limit:
    grade, source = grade_of(state, policy)
    band = policy.band(grade)
    currency = policy.currency
    terms = band.max_terms_days

    need: Decimal | None = None
    if state.expected_monthly_sales is None:
        need_basis = "no expected sales recorded: not limiting"
    elif state.sales_currency != currency:
        need_basis = (
            f"expected sales in {state.sales_currency}, not the policy currency {currency}: "
            "not limiting"
        )
    else:
        need = _amount(state.expected_monthly_sales * (terms + 30) / 30, currency)
        need_basis = (
            f"expected monthly sales {state.expected_monthly_sales} {currency} x "
            f"({terms} + 30) / 30 days"
        )

    if state.equity is not None and state.equity_currency == currency:
        capacity = _amount(
            max(state.equity, Decimal(0)) * band.capacity_percent_of_equity / 100, currency
        )
        capacity_basis = (
            f"{band.capacity_percent_of_equity}% of equity {state.equity} {currency}"
            f" (period ending {state.financials_period_end})"
        )
    else:
        capacity = band.grade_cap
        known = (
            "" if state.equity is None else f" in {currency} (equity in {state.equity_currency})"
        )
        capacity_basis = f"grade {grade} cap {band.grade_cap} {currency}: no financials{known}"

    cover = state.cover_on(on, currency)
    appetite = band.uninsured_appetite
    if band.security == "prepayment":
        amount, binding = Decimal(0), "prepayment"
    else:
        candidates = [("capacity", capacity), ("cover + appetite", cover + appetite)]
        if need is not None:
            candidates.insert(0, ("need", need))
        binding, amount = min(candidates, key=lambda c: c[1])
    return Limit(
        currency=currency,
        amount=_amount(amount, currency),
        grade=grade,
        grade_source=source,
        terms_days=terms,
        security=band.security,
        secured_above_percent=band.secured_above_percent,
        need=need,
        need_basis=need_basis,
        capacity=capacity,
        capacity_basis=capacity_basis,
        cover=cover,
        appetite=appetite,
        binding=binding,
        policy_version=policy.ref,
        effective_on=on,
        review_on=add_months(on, band.review_months),
        reason=reason,
    )
