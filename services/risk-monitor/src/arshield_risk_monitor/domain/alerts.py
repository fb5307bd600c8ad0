"""The alert level a buyer is at (DOMAIN "Risk monitoring and the grade"): the highest level whose
rule holds, with the signal and words that explain it. An alert is raised only when the level
rises; while it stays, nothing is repeated; when the rules no longer hold, the level falls quietly
(so a later rise is raised again)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from arshield_risk_monitor.domain.scorecard import AlertThresholds
from arshield_risk_monitor.domain.state import AlertLevel, Assessment, Mark

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
    if stop >= rules.payment_stop_days:
        return Level("warning", "payment_stop", f"nothing paid for {stop:.0f} days while overdue")
    external = signals.get("external_grade")
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
