"""Alert levels by the rules of DOMAIN.md, with the thresholds' defaults."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arshield_risk_monitor.domain.alerts import in_force, level_of
from arshield_risk_monitor.domain.scorecard import AlertThresholds
from arshield_risk_monitor.domain.signals import SIGNALS
from arshield_risk_monitor.domain.state import Assessment, Mark

pytestmark = pytest.mark.unit

D = date(2026, 6, 30)
RULES = AlertThresholds()


def assessment(grade: int, pd: float, **signals: float | None) -> Assessment:
    values: dict[str, float | None] = dict.fromkeys(SIGNALS)
    values.update(signals)
    return Assessment(on=D, version="t", signals=values, score=500, pd=pd, grade=grade)


def mark(days_ago: int, pd: float, grade: int) -> Mark:
    return Mark(on=D - timedelta(days=days_ago), pd=pd, grade=grade)


def test_no_rule_no_level() -> None:
    assert level_of(assessment(5, 0.008), [mark(10, 0.007, 5)], RULES).level is None


def test_critical_at_grade_9_and_on_insolvency() -> None:
    assert level_of(assessment(9, 0.2), [], RULES).level == "critical"
    insolvent = level_of(assessment(3, 0.001), [], RULES, insolvent=True)
    assert (insolvent.level, insolvent.signal) == ("critical", "insolvency_notice")


def test_warning_at_grade_8_a_payment_stop_or_an_external_grade_of_8() -> None:
    assert level_of(assessment(8, 0.06), [], RULES).signal == "grade"
    stop = level_of(assessment(5, 0.008, days_since_payment=30.0), [], RULES)
    assert (stop.level, stop.signal) == ("warning", "payment_stop")
    assert level_of(assessment(5, 0.008, days_since_payment=29.0), [], RULES).level is None
    external = level_of(assessment(5, 0.008, external_grade=8.0), [], RULES)
    assert (external.level, external.signal) == ("warning", "external_grade")


def test_watch_when_pd_doubled_within_90_days() -> None:
    # lowest PD in force over (D-90, D]: 0.004 (the mark of D-100 was in force at D-90)
    marks = [mark(100, 0.004, 4), mark(30, 0.006, 5)]
    doubled = level_of(assessment(5, 0.008), marks, RULES)
    assert (doubled.level, doubled.signal) == ("watch", "weaker_score")
    assert level_of(assessment(5, 0.0079), marks, RULES).level is None
    # a mark older than the one in force at D-90 no longer counts
    assert level_of(assessment(5, 0.008), [mark(200, 0.001, 2), *marks], RULES).level == "watch"
    assert in_force([mark(200, 0.001, 2), *marks], D) == marks


def test_watch_needs_a_pd_worth_watching() -> None:
    # 0.0001 -> 0.0002 doubles but stays below watch_min_pd (0.25 %)
    assert level_of(assessment(1, 0.0002), [mark(10, 0.0001, 1)], RULES).level is None


def test_watch_on_a_grade_drop_of_two_and_on_days_beyond_terms_rising() -> None:
    drop = level_of(assessment(6, 0.011), [mark(60, 0.0075, 4)], RULES)
    assert (drop.level, drop.signal) == ("watch", "grade_drop")
    trend = level_of(assessment(5, 0.008, dbt_trend=10.0), [], RULES)
    assert (trend.level, trend.signal) == ("watch", "days_beyond_terms_rising")
    assert level_of(assessment(5, 0.008, dbt_trend=9.9), [], RULES).level is None


def test_the_highest_level_wins() -> None:
    both = level_of(assessment(9, 0.2, days_since_payment=60.0, dbt_trend=30.0), [], RULES)
    assert both.level == "critical"
