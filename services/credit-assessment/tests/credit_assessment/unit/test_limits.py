"""The limit rule with hand-computed figures (default policy, EUR)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.events import LimitSet
from arshield_credit_assessment.domain.limits import add_months

from .factories import DAY, D, buyer, of, run

pytestmark = pytest.mark.unit

FINANCIALS = c.NoteFinancials(D(2_000_000), "EUR", date(2023, 12, 31), DAY)
COVER = c.NoteCover(D(150_000), "EUR", DAY, DAY)
SALES = c.SetExpectedSales(D(90_000), "EUR", DAY)


def test_grade_2_limit_is_the_smallest_of_need_capacity_and_cover_plus_appetite() -> None:
    state = buyer(c.NoteGrade(2, "strong", DAY), FINANCIALS, COVER, SALES)
    limit = state.limit
    assert limit is not None
    # need 90,000 x (60 + 30) / 30 = 270,000; capacity 15% x 2,000,000 = 300,000;
    # cover 150,000 + appetite 100,000 = 250,000
    assert (limit.need, limit.capacity, limit.cover, limit.appetite) == (
        D(270_000),
        D(300_000),
        D(150_000),
        D(100_000),
    )
    assert (limit.amount, limit.binding, limit.terms_days, limit.security) == (
        D(250_000),
        "cover + appetite",
        60,
        "open_account",
    )
    assert limit.review_on == date(2025, 3, 1)


def test_a_downgrade_cuts_the_limit_and_terms_at_once() -> None:
    state = buyer(c.NoteGrade(2, "strong", DAY), FINANCIALS, COVER, SALES)
    state, events = run(state, c.NoteGrade(5, "slower payments", DAY + timedelta(days=3)))
    # need 90,000 x 75 / 30 = 225,000; capacity 10% = 200,000; 150,000 + 50,000 = 200,000
    assert state.limit is not None
    assert (state.limit.amount, state.limit.terms_days) == (D(200_000), 45)
    (changed,) = of(events, LimitSet)
    assert changed.limit_changed
    assert changed.terms_changed
    assert changed.limit.effective_on == DAY + timedelta(days=3)
    assert "grade 2 -> 5" in changed.limit.reason

    state, _ = run(state, c.NoteGrade(7, "payment stop", DAY + timedelta(days=4)))
    # need 90,000 x 60 / 30 = 180,000; capacity 5% = 100,000; 150,000 + 10,000 = 160,000
    assert state.limit is not None
    assert (state.limit.amount, state.limit.security, state.limit.secured_above_percent) == (
        D(100_000),
        "letter_of_credit",
        D(50),
    )
    assert state.limit.review_on == add_months(DAY + timedelta(days=4), 6)

    state, _ = run(state, c.NoteGrade(9, "default likely", DAY + timedelta(days=5)))
    assert state.limit is not None
    assert (state.limit.amount, state.limit.security, state.limit.terms_days) == (
        D(0),
        "prepayment",
        0,
    )


def test_without_financials_the_grade_cap_is_the_capacity_and_an_unrated_buyer_is_grade_5() -> None:
    state = buyer()
    assert state.limit is not None
    # grade 5 (unrated): cap 200,000; no cover: 0 + 50,000 appetite; need unknown
    assert (state.limit.grade, state.limit.capacity, state.limit.amount) == (
        5,
        D(200_000),
        D(50_000),
    )
    assert state.limit.need is None
    assert state.limit.grade_source == "unrated (policy default)"


def test_a_cover_reduction_caps_the_limit_from_its_effective_date_not_its_notice() -> None:
    state = buyer(c.NoteGrade(2, "strong", DAY), FINANCIALS, COVER, SALES)
    notice = DAY + timedelta(days=1)
    state, events = run(state, c.NoteCover(D(50_000), "EUR", notice + timedelta(days=30), notice))
    assert not of(events, LimitSet)
    assert state.limit is not None
    assert state.limit.amount == D(250_000)
    from arshield_credit_assessment.domain.decide import wake_on

    assert wake_on(state) == notice + timedelta(days=30)
    from arshield_credit_assessment.domain.policy import DEFAULT_POLICY

    state, events = run(state, c.StartDay(notice + timedelta(days=29), DEFAULT_POLICY))
    assert not [e for e in of(events, LimitSet) if e.limit_changed]
    state, events = run(state, c.StartDay(notice + timedelta(days=30), DEFAULT_POLICY))
    # 50,000 + 100,000 = 150,000 < need 270,000 and capacity 300,000
    (changed,) = [e for e in of(events, LimitSet) if e.limit_changed]
    assert changed.limit.amount == D(150_000)
    assert changed.limit.effective_on == notice + timedelta(days=30)
    assert not changed.terms_changed


def test_negative_equity_gives_no_capacity() -> None:
    state = buyer(c.NoteFinancials(D(-10), "EUR", date(2023, 12, 31), DAY))
    assert state.limit is not None
    assert (state.limit.capacity, state.limit.amount) == (D(0), D(0))


def test_add_months_keeps_the_day_or_the_months_last() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)
