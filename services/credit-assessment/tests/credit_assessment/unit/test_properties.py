"""Invariants of the limit rule and the check, over generated buyers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.check import CheckRequest, check
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY

from .factories import DAY, buyer

pytestmark = pytest.mark.unit

amounts = st.integers(min_value=0, max_value=5_000_000).map(Decimal)
maybe = st.one_of(st.none(), amounts)


def limited(
    grade: int, equity: Decimal | None, cover: Decimal | None, sales: Decimal | None
) -> object:
    commands: list[c.Command] = [c.NoteGrade(grade, "generated", DAY)]
    if equity is not None:
        commands.append(c.NoteFinancials(equity, "EUR", date(2023, 12, 31), DAY))
    if cover is not None:
        commands.append(c.NoteCover(cover, "EUR", DAY, DAY))
    if sales is not None:
        commands.append(c.SetExpectedSales(sales, "EUR", DAY))
    return buyer(*commands)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 10), maybe, maybe, maybe)
def test_the_limit_is_the_smallest_input_and_never_above_any(
    grade: int, equity: Decimal | None, cover: Decimal | None, sales: Decimal | None
) -> None:
    state = limited(grade, equity, cover, sales)
    limit = state.limit  # type: ignore[attr-defined]
    assert limit is not None
    if limit.security == "prepayment":
        assert limit.amount == 0
        return
    inputs = [limit.capacity, limit.cover + limit.appetite]
    if limit.need is not None:
        inputs.append(limit.need)
    assert limit.amount == min(inputs)
    assert limit.amount >= 0


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), maybe, maybe, st.integers(1, 400_000), st.integers(1, 400_000))
def test_a_larger_order_is_never_answered_better_than_a_smaller_one(
    grade: int, equity: Decimal | None, cover: Decimal | None, small: int, extra: int
) -> None:
    state = limited(grade, equity, cover, None)
    rank = {"approved": 0, "referred": 1, "declined": 2}

    def answer(amount: int) -> int:
        request = CheckRequest("r", "o", Decimal(amount), "EUR", None, DAY)
        return rank[check(state, DEFAULT_POLICY, request).decision]  # type: ignore[arg-type]

    assert answer(small) <= answer(small + extra)
