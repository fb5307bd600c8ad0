"""The alert level a buyer is at (DOMAIN "Risk monitoring and the grade"): the highest level whose
rule holds, with the signal and words that explain it. An alert is raised only when the level
rises; while it stays, nothing is repeated; when the rules no longer hold, the level falls quietly
(so a later rise is raised again)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from arshield_risk_monitor.domain.scorecard import AlertThresholds
from arshield_risk_monitor.domain.state import (
    LEVELS,
    AlertLevel,
    Assessment,
    Mark,
    Standing,
    rank,
)

WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Level:
    level: AlertLevel | None
    signal: str
    detail: str


NONE = Level(None, "grade", "no alert rule holds")


def in_force(marks: Sequence[Mark], day: date) -> list[Mark]:
    """The published scores that were in force at some point of (day-90, day]."""
    cut = day - WINDOW
    before = [m for m in marks if m.on <= cut]
    return [*before[-1:], *(m for m in marks if cut < m.on <= day)]


def level_of(
    assessment: Assessment,
    marks: Sequence[Mark],
    rules: AlertThresholds,
    *,
    insolvent: bool = False,
) -> Level:
    grade, pd, signals = assessment.grade, assessment.pd, assessment.signals
    if insolvent:
        return Level("critical", "insolvency_notice", "insolvency notice published")
    if grade is not None and grade >= rules.critical_grade:
        return Level("critical", "grade", f"grade {grade}")
    if grade is not None and grade >= rules.warning_grade:
        return Level("warning", "grade", f"grade {grade}")
    if pd is not None and rules.warning_pd is not None and pd >= rules.warning_pd:
        return Level("warning", "weaker_score", f"PD {pd:.2%} within 12 months")
    stop = signals.get("days_since_payment") or 0.0
    if stop >= rules.payment_stop_days and (pd or 0.0) >= rules.payment_stop_min_pd:
        return Level("warning", "payment_stop", f"nothing paid for {stop:.0f} days while overdue")
    external = signals.get("external_grade")
    if rules.overdue_days is not None:
        overdue = signals.get("overdue_days") or 0.0
        bound = rules.overdue_external_grade
        rated_well = external is not None and bound is not None and external < bound
        if overdue >= rules.overdue_days and (pd or 0.0) >= rules.overdue_min_pd and not rated_well:
            return Level("warning", "payment_stop", f"an invoice {overdue:.0f} days past due")
    if external is not None and external >= rules.warning_external_grade:
        return Level("warning", "external_grade", f"external grade {external:.0f}")
    window = in_force(marks, assessment.on)
    if pd is not None and window:
        lowest = min(m.pd for m in window)
        if pd >= rules.watch_min_pd and pd >= rules.watch_pd_ratio * lowest:
            return Level("watch", "weaker_score", f"PD {pd:.2%} from {lowest:.2%} within 90 days")
    if grade is not None and window:
        best = min(m.grade for m in window)
        if grade >= best + rules.watch_grade_drop:
            return Level("watch", "grade_drop", f"grade {grade} from {best} within 90 days")
    trend = signals.get("dbt_trend")
    if trend is not None and trend >= rules.watch_dbt_trend:
        return Level(
            "watch",
            "days_beyond_terms_rising",
            f"days beyond terms {trend:.1f} above their 12-month level",
        )
    return NONE


def hold(
    held: AlertLevel | None,
    standing: Standing,
    found: Level,
    day: date,
    rules: AlertThresholds,
) -> tuple[AlertLevel | None, Standing]:
    """The level in force on `day`, from the level `held` until then, once the rules gave `found`
    (assessments in date order), and the new standing.

    A level comes into force once its rules have held for its `after_days` (a PD above the
    warning threshold for the few days of one late invoice is not a warning yet), and stays in
    force until its rules have not held for `lower_after_days` (a buyer hovering around a
    threshold is not raised and lowered with every invoice). Days are calendar days between
    assessments: a buyer is assessed whenever its signals can change (and on the days
    `next_hold_change` names), so a rule that held at one assessment held until the next.
    Critical is never delayed.
    """
    now = rank(found.level)
    crossed = tuple(
        day if (now >= i) != (standing.raw >= i) else standing.crossed[i - 1] for i in (1, 2, 3)
    )
    before = rank(held)
    level = 0
    for i in (1, 2, 3):
        since = crossed[i - 1]
        days = (day - since).days if since is not None else 0
        reached = now >= i and days >= rules.after_days(i)
        kept = i <= before and (now >= i or days < rules.lower_after_days)
        if reached or kept:
            level = i
    standing = Standing(raw=now, crossed=(crossed[0], crossed[1], crossed[2]))
    return (None if level == 0 else LEVELS[level - 1]), standing


def next_hold_change(
    held: AlertLevel | None, standing: Standing, rules: AlertThresholds
) -> date | None:
    """The first day on which time alone would change the level in force (a rule that has held,
    or stopped holding, long enough): the day a buyer must be assessed again."""
    before = rank(held)
    days: list[date] = []
    for i in (1, 2, 3):
        since = standing.crossed[i - 1]
        if since is None:
            continue
        if i > before and standing.raw >= i:
            days.append(since + timedelta(days=rules.after_days(i)))
        elif i <= before and standing.raw < i:
            days.append(since + timedelta(days=rules.lower_after_days))
    return min(days, default=None)
