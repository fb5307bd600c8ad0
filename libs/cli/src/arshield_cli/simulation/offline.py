"""Alerts computed offline: the scorecard file applied to a history, day by day, with the alert
rules of the risk-monitor (DOMAIN "Risk monitoring and the grade"), so a backtest's figures can be
judged before, or without, the running platform.

The rules mirror the service's defaults: `watch` when the PD at least doubled within 90 days (and
reached 0.25 %), the grade fell by 2 within 90 days, or days beyond terms run 10 days above their
12-month level; `warning` at grade 8, a payment stop of 30 days, or an external grade of 8 or
worse; `critical` at grade 9 or an insolvency notice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from arshield_cli.simulation.backtest import RiskHistory
from arshield_cli.simulation.scorecard import Scorecard
from arshield_cli.simulation.signals import BuyerHistory


@dataclass(frozen=True)
class AlertRules:
    watch_pd_ratio: float = 2.0
    watch_min_pd: float = 0.0025
    watch_grade_drop: int = 2
    watch_dbt_trend: float = 10.0
    warning_grade: int = 8
    payment_stop_days: int = 30
    warning_external_grade: int = 8
    critical_grade: int = 9
    warning_pd: float | None = None
    """If set, `warning` also at this PD or above, and the grade rules (which cannot go above
    grade 9, a PD of 8 %) are left to `warning_grade` / `critical_grade` (10 turns them off)."""


class _WindowMin:
    """The minimum of the values of the last `days` days (a monotonic queue)."""

    def __init__(self, days: int) -> None:
        self.days = days
        self.queue: deque[tuple[date, float]] = deque()

    def push(self, on: date, value: float) -> float:
        while self.queue and self.queue[-1][1] >= value:
            self.queue.pop()
        self.queue.append((on, value))
        while self.queue[0][0] < on - timedelta(days=self.days):
            self.queue.popleft()
        return self.queue[0][1]


def level(
    grade: int,
    pd: float,
    signals: Mapping[str, float | None],
    lowest_pd: float,
    best_grade: float,
    rules: AlertRules,
) -> int:
    """0 none, 1 watch, 2 warning, 3 critical."""
    if grade >= rules.critical_grade:
        return 3
    if grade >= rules.warning_grade:
        return 2
    if rules.warning_pd is not None and pd >= rules.warning_pd:
        return 2
    if (signals.get("days_since_payment") or 0.0) >= rules.payment_stop_days:
        return 2
    external = signals.get("external_grade")
    if external is not None and external >= rules.warning_external_grade:
        return 2
    if pd >= rules.watch_min_pd and pd >= rules.watch_pd_ratio * lowest_pd:
        return 1
    if grade >= best_grade + rules.watch_grade_drop:
        return 1
    trend = signals.get("dbt_trend")
    return 1 if trend is not None and trend >= rules.watch_dbt_trend else 0


def offline_alerts(
    histories: Mapping[str, BuyerHistory],
    card: Scorecard,
    start: date,
    end: date,
    *,
    rules: AlertRules | None = None,
    step: int = 1,
) -> RiskHistory:
    """Score every buyer every `step` days from `start` to `end`; the first watch and warning
    and the PD timeline (a mark whenever the PD changes)."""
    rules = rules or AlertRules()
    result = RiskHistory({}, {}, {})
    for buyer, history in histories.items():
        lowest, best = _WindowMin(90), _WindowMin(90)
        marks: list[tuple[date, float]] = []
        day = start
        while day <= end:
            if history.insolvent_on is not None and history.insolvent_on <= day:
                result.first_watch.setdefault(buyer, history.insolvent_on)
                result.first_warning.setdefault(buyer, history.insolvent_on)
                marks.append((history.insolvent_on, 1.0))
                break
            signals = history.signals(day)
            score = card.score(signals)
            if not marks or marks[-1][1] != score.pd:
                marks.append((day, score.pd))
            found = level(
                score.grade,
                score.pd,
                signals,
                lowest.push(day, score.pd),
                best.push(day, float(score.grade)),
                rules,
            )
            if found >= 1:
                result.first_watch.setdefault(buyer, day)
            if found >= 2:
                result.first_warning.setdefault(buyer, day)
            day += timedelta(days=step)
        result.timeline[buyer] = marks
    return result
