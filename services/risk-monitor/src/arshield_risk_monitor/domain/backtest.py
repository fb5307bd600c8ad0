"""Backtest measures: how early, and how rightly, a history's warnings foretold its known defaults.

Pure functions over (a) the ground truth (who defaulted, when, over which period), (b) the first
warning and first watch of each buyer, and (c) each buyer's PD over time, wherever these came
from: the service's own published history (`GET /v1/backtest`), the risk events read back from
the log, or alerts computed offline with a scorecard file (`arshield backtest`). One module, so
every report counts alike.

Definitions (per buyer; a warning on or after the default day is not a warning of it):
- a buyer is warned when its first warning comes before its default (or it never defaults);
- precision: warned buyers that default within 12 months of their first warning / warned buyers;
- recall: defaulters warned before their default / defaulters;
- lead time: default date - first warning, over the defaulters warned (median, quartiles), and the
  share of all defaulters warned 90 days or more ahead;
- false alarms: warned buyers that do not default within 12 months of the first warning, per 100
  non-defaulting buyers per year of history;
- AUC of the PD h days before default: each defaulter's PD as of its default date - h against the
  PD of every non-defaulting buyer as of the same date (pairs; ties count one half).
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

HORIZON = 365
LEVELS = {"watch": 1, "warning": 2, "critical": 3}


@dataclass(frozen=True)
class Truth:
    start: date
    end: date
    buyers: tuple[str, ...]
    defaults: Mapping[str, date]

    @property
    def years(self) -> float:
        return ((self.end - self.start).days + 1) / 365


@dataclass(frozen=True)
class WarningReport:
    warned: int
    true_warnings: int
    defaulters: int
    caught: int
    precision: float | None
    recall: float | None
    false_alarms_per_100_per_year: float
    lead_median: float | None
    lead_q1: float | None
    lead_q3: float | None
    share_90d_ahead: float | None


def _quartiles(values: Sequence[int]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    if len(values) == 1:
        return float(values[0]), float(values[0]), float(values[0])
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def judge(first: Mapping[str, date], truth: Truth) -> WarningReport:
    """The warning measures of the first warning per buyer against the ground truth."""
    warned = true = 0
    leads: list[int] = []
    for buyer in truth.buyers:
        on = first.get(buyer)
        default_on = truth.defaults.get(buyer)
        if on is None or on > truth.end or (default_on is not None and on >= default_on):
            continue
        warned += 1
        if default_on is not None:
            leads.append((default_on - on).days)
            true += (default_on - on).days <= HORIZON
    defaulters = len(truth.defaults)
    healthy = len(truth.buyers) - defaulters
    q1, median, q3 = _quartiles(leads)
    return WarningReport(
        warned=warned,
        true_warnings=true,
        defaulters=defaulters,
        caught=len(leads),
        precision=true / warned if warned else None,
        recall=len(leads) / defaulters if defaulters else None,
        false_alarms_per_100_per_year=(
            100 * (warned - true) / (healthy * truth.years) if healthy else 0.0
        ),
        lead_median=median,
        lead_q1=q1,
        lead_q3=q3,
        share_90d_ahead=sum(lead >= 90 for lead in leads) / defaulters if defaulters else None,
    )


Timeline = Mapping[str, Sequence[tuple[date, float]]]
"""Per buyer, its PD from each date on (sorted by date)."""


def pd_as_of(timeline: Sequence[tuple[date, float]], day: date) -> float | None:
    index = bisect_right([on for on, _ in timeline], day)
    return timeline[index - 1][1] if index else None


def pd_auc(timeline: Timeline, truth: Truth, days_before: int) -> float | None:
    """AUC of the PD `days_before` the default (defaulters vs the non-defaulters that day)."""
    healthy = [b for b in truth.buyers if b not in truth.defaults]
    above = pairs = 0.0
    for buyer, default_on in truth.defaults.items():
        day = default_on - timedelta(days=days_before)
        mine = pd_as_of(timeline.get(buyer, ()), day)
        if mine is None:
            continue
        others = sorted(
            p for p in (pd_as_of(timeline.get(b, ()), day) for b in healthy) if p is not None
        )
        below = bisect_left(others, mine)
        ties = bisect_right(others, mine) - below
        above += below + ties / 2
        pairs += len(others)
    return above / pairs if pairs else None


def first_at_or_above(timeline: Timeline, threshold: float) -> dict[str, date]:
    first: dict[str, date] = {}
    for buyer, marks in timeline.items():
        for on, pd in marks:
            if pd >= threshold:
                first[buyer] = on
                break
    return first


def tradeoff(
    timeline: Timeline, truth: Truth, thresholds: Iterable[float]
) -> list[tuple[float, WarningReport]]:
    """Warning on the first day the PD reaches each threshold: the lead time against the false
    alarms (and precision, recall) as the threshold moves."""
    return [(t, judge(first_at_or_above(timeline, t), truth)) for t in thresholds]


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    goal: str
    met: bool


def targets(service: WarningReport, naive: WarningReport) -> list[Target]:
    """The issue's targets for the service's warnings against the naive rule's."""

    def at_least(value: float | None, bound: float) -> bool:
        return value is not None and value >= bound

    naive_precision = naive.precision or 0.0
    naive_recall = naive.recall or 0.0
    return [
        Target(
            "precision",
            service.precision,
            f">= 1.5 x naive ({1.5 * naive_precision:.1%}) and >= 70 %",
            at_least(service.precision, max(1.5 * naive_precision, 0.70)),
        ),
        Target(
            "recall",
            service.recall,
            f">= naive ({naive_recall:.1%}) and >= 85 %",
            at_least(service.recall, max(naive_recall, 0.85)),
        ),
        Target(
            "false alarms / 100 healthy / year",
            service.false_alarms_per_100_per_year,
            f"<= half naive ({naive.false_alarms_per_100_per_year / 2:.2f}) and <= 2",
            service.false_alarms_per_100_per_year
            <= min(naive.false_alarms_per_100_per_year / 2, 2.0),
        ),
        Target(
            "median lead of the first warning (days)",
            service.lead_median,
            ">= 90",
            at_least(service.lead_median, 90),
        ),
    ]


AUC_DAYS = (91, 182, 365)
"""The AUC of the PD is taken 3, 6 and 12 months before each default."""


@dataclass(frozen=True)
class Report:
    """A history's backtest: its first warnings and first watches judged, and the AUC of the PD
    3, 6 and 12 months before the defaults (None: no pair to compare)."""

    warning: WarningReport
    watch: WarningReport
    pd_auc: Mapping[int, float | None]


def report(
    truth: Truth,
    first_warning: Mapping[str, date],
    first_watch: Mapping[str, date],
    timeline: Timeline,
) -> Report:
    return Report(
        warning=judge(first_warning, truth),
        watch=judge(first_watch, truth),
        pd_auc={days: pd_auc(timeline, truth, days) for days in AUC_DAYS},
    )
