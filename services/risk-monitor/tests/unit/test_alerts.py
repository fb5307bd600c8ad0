"""Alert levels by the rules of DOMAIN.md, with the thresholds' defaults."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arshield_risk_monitor.domain.alerts import Level, hold, in_force, level_of, next_hold_change
from arshield_risk_monitor.domain.scorecard import AlertThresholds
from arshield_risk_monitor.domain.signals import SIGNALS
from arshield_risk_monitor.domain.state import AlertLevel, Assessment, Mark, Standing

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


def test_a_payment_stop_warns_only_from_the_scorecards_pd() -> None:
    rules = AlertThresholds(payment_stop_min_pd=0.1)
    risky = level_of(assessment(5, 0.1, days_since_payment=30.0), [mark(5, 0.1, 5)], rules)
    assert (risky.level, risky.signal) == ("warning", "payment_stop")
    # a seasonal late payer in good standing (PD 9.99 %): not a warning
    calm = level_of(assessment(5, 0.0999, days_since_payment=45.0), [mark(5, 0.0999, 5)], rules)
    assert calm.level is None


def test_an_invoice_long_overdue_warns_from_a_pd_unless_the_buyer_is_rated_well() -> None:
    rules = AlertThresholds(overdue_days=60, overdue_min_pd=0.15, overdue_external_grade=5)
    unrated = level_of(assessment(5, 0.15, overdue_days=60.0), [], rules)
    assert (unrated.level, unrated.signal) == ("warning", "payment_stop")
    assert unrated.detail == "an invoice 60 days past due"
    assert level_of(assessment(5, 0.15, overdue_days=59.0), [], rules).level is None
    assert level_of(assessment(5, 0.1499, overdue_days=90.0), [], rules).level is None
    # rated 5 or worse: warned; rated 4 (the agency still sees a sound business): not by this
    rated_weak = level_of(assessment(5, 0.2, overdue_days=60.0, external_grade=5.0), [], rules)
    assert rated_weak.level == "warning"
    rated_well = level_of(assessment(5, 0.2, overdue_days=90.0, external_grade=4.0), [], rules)
    assert rated_well.level is None
    # without overdue_days (the default, and every scorecard before 2026.12-3): no such rule
    assert level_of(assessment(5, 0.2, overdue_days=400.0), [], RULES).level is None


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


# persistence: a level comes into force once its rules held long enough, and leaves once they
# stopped holding long enough (hand-computed day by day)

HELD = AlertThresholds(warning_after_days=10, watch_after_days=5, lower_after_days=30)
START = date(2026, 1, 1)


def run(
    days: list[tuple[int, AlertLevel | None]], rules: AlertThresholds = HELD
) -> list[AlertLevel | None]:
    """The level in force after each (day offset, level the rules gave) assessment."""
    held: AlertLevel | None = None
    standing = Standing()
    out = []
    for offset, found in days:
        held, standing = hold(
            held, standing, Level(found, "t", "t"), START + timedelta(offset), rules
        )
        out.append(held)
    return out


def test_without_persistence_the_level_follows_the_rules() -> None:
    rules = AlertThresholds()
    assert run([(0, "warning"), (1, None), (2, "watch")], rules) == ["warning", None, "watch"]


def test_a_warning_needs_its_rule_to_hold_ten_days() -> None:
    # warning from day 0: watch is in force from day 5 (the watch rule holds with it), warning
    # from day 10; on day 9 not yet
    got = run([(0, "warning"), (5, "warning"), (9, "warning"), (10, "warning")])
    assert got == [None, "watch", "watch", "warning"]


def test_a_run_broken_before_its_days_starts_again() -> None:
    # warning days 0-7, nothing on day 8, warning again from day 9: due on day 19, not 10
    got = run([(0, "warning"), (8, None), (9, "warning"), (12, "warning"), (19, "warning")])
    assert got == [None, None, None, None, "warning"]


def test_a_level_is_lowered_only_after_thirty_days_below_it() -> None:
    # warning in force on day 10; its rule stops on day 20: kept until day 49, gone on day 50
    # (watch too: its rule stopped on day 20 as well)
    days: list[tuple[int, AlertLevel | None]] = [(0, "warning"), (10, "warning"), (20, None)]
    got = run([*days, (49, None), (50, None)])
    assert got == [None, "warning", "warning", "warning", None]


def test_lowered_to_watch_while_the_watch_rule_still_holds() -> None:
    got = run([(0, "warning"), (10, "warning"), (20, "watch"), (50, "watch")])
    assert got == [None, "warning", "warning", "watch"]


def test_back_above_within_the_thirty_days_keeps_the_level_without_a_new_alert() -> None:
    got = run([(0, "warning"), (10, "warning"), (20, None), (40, "warning"), (80, "warning")])
    assert got == [None, "warning", "warning", "warning", "warning"]


def test_critical_is_never_delayed() -> None:
    assert run([(0, "critical")]) == ["critical"]


def test_the_next_day_time_alone_changes_the_level() -> None:
    standing = Standing()
    held, standing = hold(None, standing, Level("warning", "t", "t"), START, HELD)
    # watch due on day 5 (the earlier of watch at 5 and warning at 10)
    assert next_hold_change(held, standing, HELD) == START + timedelta(5)
    held, standing = hold(held, standing, Level("warning", "t", "t"), START + timedelta(5), HELD)
    assert (held, next_hold_change(held, standing, HELD)) == ("watch", START + timedelta(10))
    held, standing = hold(held, standing, Level(None, "t", "t"), START + timedelta(7), HELD)
    # lowered from watch 30 days after day 7
    assert (held, next_hold_change(held, standing, HELD)) == ("watch", START + timedelta(37))
