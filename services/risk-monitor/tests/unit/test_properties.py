"""Invariants over generated histories: pruning never changes a signal a later window can see,
and the grade never improves as the score falls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_risk_monitor.adapters.scorecards import from_directory
from arshield_risk_monitor.domain import signals as sig
from arshield_risk_monitor.domain.scorecard import Scorecard
from arshield_risk_monitor.domain.state import History, Invoice, Rating

pytestmark = pytest.mark.unit

D = date(2026, 6, 30)
CARDS: Mapping[str, Scorecard] = from_directory(
    __import__("pathlib").Path(__file__).parents[1] / "fixtures" / "scorecards"
)

offsets = st.integers(min_value=-800, max_value=0)


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    due = D + timedelta(days=draw(st.integers(min_value=-800, max_value=60)))
    settled = draw(st.one_of(st.none(), st.integers(min_value=-30, max_value=200)))
    settled_on = None if settled is None else min(due + timedelta(days=settled), D)
    return Invoice(
        invoice_id=f"i{draw(st.integers(0, 10_000))}",
        due_on=due,
        amount=Decimal(draw(st.integers(min_value=1, max_value=100_000))),
        settled_on=settled_on,
        void=draw(st.booleans()),
    )


histories = st.builds(
    History,
    invoices=st.lists(invoices(), max_size=12).map(tuple),
    last_payment_on=st.one_of(st.none(), offsets.map(lambda n: D + timedelta(days=n))),
    partial_payments=st.lists(offsets.map(lambda n: D + timedelta(days=n)), max_size=5).map(
        lambda days: tuple(sorted(days))
    ),
    disputes=st.lists(offsets.map(lambda n: D + timedelta(days=n)), max_size=5).map(
        lambda days: tuple(sorted(days))
    ),
    ratings=st.lists(
        st.builds(
            Rating,
            published_on=offsets.map(lambda n: D + timedelta(days=n)),
            grade=st.integers(1, 10),
        ),
        max_size=5,
    ).map(lambda rs: tuple(sorted(rs, key=lambda r: r.published_on))),
)


@settings(max_examples=200, deadline=None)
@given(histories, st.integers(min_value=0, max_value=400))
def test_pruning_keeps_every_signal_of_today_and_later(history: History, ahead: int) -> None:
    pruned = sig.prune(history, D)
    later = D + timedelta(days=ahead)
    assert sig.compute(pruned, D) == sig.compute(history, D)
    assert sig.compute(pruned, later) == sig.compute(history, later)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-2000, max_value=3000), st.integers(min_value=0, max_value=500))
def test_a_lower_score_never_has_a_better_grade(score: int, drop: int) -> None:
    card = CARDS["test-1"]
    higher, lower = card.pd_of(score), card.pd_of(score - drop)
    assert lower >= higher
    assert card.grade_of(lower) >= card.grade_of(higher)
