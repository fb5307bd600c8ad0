"""Backtest measures on tiny histories whose figures are computed by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arshield_cli.simulation.backtest import (
    Truth,
    judge,
    pd_auc,
    risk_history,
    targets,
    tradeoff,
)

pytestmark = pytest.mark.unit
D = date(2025, 6, 30)
# Five buyers over exactly two years (730 days): A, B and C default on D; H1 and H2 do not.
TRUTH = Truth(
    start=date(2024, 1, 1),
    end=date(2024, 1, 1) + timedelta(days=729),
    buyers=("A", "B", "C", "H1", "H2"),
    defaults={"A": D, "B": D, "C": D},
)


def test_precision_recall_lead_and_false_alarms() -> None:
    first = {
        "A": D - timedelta(days=120),  # caught, 120 days ahead
        "B": D - timedelta(days=30),  # caught, 30 days ahead
        "C": D,  # on the default day: not a warning of it
        "H1": date(2024, 3, 1),  # a false alarm
    }
    report = judge(first, TRUTH)
    assert report.warned == 3  # A, B, H1
    assert report.true_warnings == 2
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 3)
    assert report.caught == 2
    # One false alarm over 2 healthy buyers x 2 years = 25 per 100 healthy buyers per year.
    assert report.false_alarms_per_100_per_year == pytest.approx(25.0)
    # Leads 30 and 120: median 75, quartiles (inclusive) 52.5 and 97.5.
    assert report.lead_median == pytest.approx(75.0)
    assert (report.lead_q1, report.lead_q3) == (pytest.approx(52.5), pytest.approx(97.5))
    assert report.share_90d_ahead == pytest.approx(1 / 3)  # A of the three defaulters


def test_a_warning_more_than_a_year_ahead_counts_for_recall_but_not_precision() -> None:
    report = judge({"A": D - timedelta(days=400)}, TRUTH)
    assert (report.warned, report.true_warnings, report.caught) == (1, 0, 1)
    assert report.precision == 0.0
    assert report.recall == pytest.approx(1 / 3)
    assert report.false_alarms_per_100_per_year == pytest.approx(25.0)


def test_a_warning_after_the_end_of_the_history_is_not_counted() -> None:
    report = judge({"H1": TRUTH.end + timedelta(days=1)}, TRUTH)
    assert report.warned == 0
    assert report.precision is None


def test_auc_of_the_pd_pairs_each_defaulter_with_the_healthy_the_same_day() -> None:
    start = TRUTH.start
    timeline = {
        "A": [(start, 0.30)],
        "B": [(start, 0.01), (D - timedelta(days=10), 0.5)],  # rises only 10 days before
        "C": [(start, 0.02)],
        "H1": [(start, 0.02)],
        "H2": [(start, 0.01)],
    }
    # 90 days before: A 0.30 beats both (2), B 0.01 ties H2 (0.5), C 0.02 ties H1 and beats H2
    # (1.5): 4 of 6 pairs.
    assert pd_auc(timeline, TRUTH, 90) == pytest.approx(4 / 6)
    # 5 days before, B's 0.5 beats both: 5.5 of 6.
    assert pd_auc(timeline, TRUTH, 5) == pytest.approx(5.5 / 6)
    # Before anyone was scored there is nothing to judge.
    assert pd_auc(timeline, TRUTH, 600) is None


def test_the_tradeoff_moves_the_warning_with_the_threshold() -> None:
    start = TRUTH.start
    timeline = {
        "A": [(start, 0.01), (D - timedelta(days=200), 0.05), (D - timedelta(days=60), 0.2)],
        "H1": [(start, 0.01), (date(2024, 6, 1), 0.06)],
    }
    (_, low), (_, high) = tradeoff(timeline, TRUTH, [0.05, 0.1])
    assert (low.warned, low.true_warnings, low.lead_median) == (2, 1, 200)
    assert (high.warned, high.true_warnings, high.lead_median) == (1, 1, 60)


def test_risk_events_give_the_first_watch_warning_and_the_pd_timeline() -> None:
    def event(kind: str, **data: object) -> dict[str, object]:
        return {"type": f"arshield.risk.{kind}.v1", "data": data}

    history = risk_history(
        [
            event("BuyerScored", buyer_id="A", pd="0.0100", scored_on="2024-02-01"),
            event("RiskAlertRaised", buyer_id="A", level="watch", raised_on="2024-03-01"),
            event("BuyerScored", buyer_id="A", pd="0.0600", scored_on="2024-04-01"),
            event("RiskAlertRaised", buyer_id="A", level="warning", raised_on="2024-04-01"),
            event("BuyerInsolvent", buyer_id="B", insolvent_on="2024-05-01"),
            event("BuyerUpgraded", buyer_id="A"),
        ]
    )
    assert history.first_watch == {"A": date(2024, 3, 1), "B": date(2024, 5, 1)}
    assert history.first_warning == {"A": date(2024, 4, 1), "B": date(2024, 5, 1)}
    assert history.timeline == {"A": [(date(2024, 2, 1), 0.01), (date(2024, 4, 1), 0.06)]}


def test_targets_compare_with_the_naive_rule() -> None:
    good = judge(
        {"A": D - timedelta(days=120), "B": D - timedelta(days=100), "C": D - timedelta(days=95)},
        TRUTH,
    )
    naive = judge({"A": D - timedelta(days=10), "H1": date(2024, 3, 1)}, TRUTH)
    met = {t.name: t.met for t in targets(good, naive)}
    assert all(met.values()), met
    missed = {t.name: t.met for t in targets(naive, good)}
    assert not any(missed.values()), missed
