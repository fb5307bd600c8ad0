"""Alerts computed offline: the scorecard file applied to a history, day by day, with the alert
rules of the risk-monitor itself, so a backtest's figures can be judged before, or without, the
running platform.

The rules are not restated here: the level the rules give (`level_of`) and its persistence
(`hold`: how long a rule must hold before its level is in force, and how long a level stays once
its rules stopped holding) are the service's own pure domain functions, with the thresholds of the
scorecard's `alerts` block (`AlertThresholds`), so the offline backtest and the live service apply
one implementation. The one difference is what the watch rules compare against: the service keeps
the scores it published (a new grade or score band), this backtest every change of the PD.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from arshield_cli.simulation.backtest import RiskHistory
from arshield_cli.simulation.scorecard import Scorecard
from arshield_cli.simulation.signals import BuyerHistory
from arshield_risk_monitor.domain.alerts import hold, in_force, level_of
from arshield_risk_monitor.domain.scorecard import AlertThresholds
from arshield_risk_monitor.domain.state import Assessment, Mark, Standing, rank


def offline_alerts(
    histories: Mapping[str, BuyerHistory],
    card: Scorecard,
    start: date,
    end: date,
    *,
    rules: AlertThresholds | None = None,
    step: int = 1,
) -> RiskHistory:
    """Score every buyer every `step` days from `start` to `end`; the first watch and warning
    in force (after the rules' persistence) and the PD timeline (a mark whenever the PD
    changes)."""
    rules = rules or AlertThresholds()
    result = RiskHistory({}, {}, {})
    for buyer, history in histories.items():
        timeline: list[tuple[date, float]] = []
        marks: list[Mark] = []
        held, standing = None, Standing()
        day = start
        while day <= end:
            insolvent = history.insolvent_on is not None and history.insolvent_on <= day
            if insolvent and history.insolvent_on is not None:
                day = history.insolvent_on
                pd, grade = 1.0, 10
                signals: dict[str, float | None] = {}
            else:
                signals = dict(history.signals(day))
                score = card.score(signals)
                pd, grade = score.pd, score.grade
            if not timeline or timeline[-1][1] != pd:
                timeline.append((day, pd))
            now = Assessment(on=day, version=card.version, signals=signals, pd=pd, grade=grade)
            marks = in_force(marks, day)
            found = level_of(now, marks, rules, insolvent=insolvent)
            held, standing = hold(held, standing, found, day, rules)
            if not marks or (marks[-1].pd, marks[-1].grade) != (pd, grade):
                marks.append(Mark(on=day, pd=pd, grade=grade))
            if rank(held) >= 1:
                result.first_watch.setdefault(buyer, day)
            if rank(held) >= 2:
                result.first_warning.setdefault(buyer, day)
            if insolvent:
                break
            day += timedelta(days=step)
        result.timeline[buyer] = timeline
    return result
