"""The scorecard: signals -> points per factor -> score -> PD within 12 months -> grade.

Plain arithmetic over a versioned table fitted offline (the file format is agreed with the fitting
side and documented in the service README); nothing is trained here. A scorecard may also carry
the alert thresholds it was tuned with, so that a new version can move both together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PD_FLOOR, PD_CEILING = 0.0001, 0.9999
DEFAULTED = 10
"""The grade of an insolvent or defaulted buyer: only such facts set it, never a PD."""


class ScorecardInvalid(ValueError):  # noqa: N818 - reads as the fact it reports
    """A scorecard file that does not follow the agreed format."""


@dataclass(frozen=True, slots=True)
class Bin:
    upper: float | None
    """The bin holds values below `upper` (None: no upper bound)."""
    points: int


@dataclass(frozen=True, slots=True)
class Factor:
    signal: str
    label: str
    missing_points: int
    bins: tuple[Bin, ...]

    def points(self, value: float | None) -> int:
        if value is None:
            return self.missing_points
        for b in self.bins:
            if b.upper is None or value < b.upper:
                return b.points
        return self.bins[-1].points


UPGRADE_MARGIN = 0.8
"""An upgrade needs the PD at or below 80 % of the better grade's upper bound ..."""
UPGRADE_DAYS = 30
"""... over the last 30 days."""


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """When a buyer's alert level rises (DOMAIN "Risk monitoring and the grade"): `watch` when
    its PD at least doubled within 90 days (and reached `watch_min_pd`), its grade fell by
    `watch_grade_drop` within 90 days, or its days beyond terms trend rose by `watch_dbt_trend`
    days; `warning` at `warning_grade`, a payment stop of `payment_stop_days`, an invoice
    `overdue_days` past due (if set), or an external grade of `warning_external_grade` or worse;
    `critical` at `critical_grade` or insolvency.

    Persistence (`alerts.hold`): a rule must hold `watch_after_days` (watch) or
    `warning_after_days` (warning) before its level is in force, and a level in force is only
    lowered once its rules have not held for `lower_after_days`; `critical` is never delayed."""

    watch_pd_ratio: float = 2.0
    watch_min_pd: float = 0.0025
    watch_grade_drop: int = 2
    watch_dbt_trend: float = 10.0
    warning_grade: int = 8
    payment_stop_days: int = 30
    warning_external_grade: int = 8
    critical_grade: int = 9
    warning_pd: float | None = None
    """`warning` at this PD or above too (the grade rules cannot go above grade 9, a PD of 8 %:
    a calibrated scorecard may warn on the PD instead; 10 turns a grade rule off)."""
    payment_stop_min_pd: float = 0.0
    """The payment stop warns only a buyer whose PD is at least this (a buyer the scorecard
    already rates risky that stops paying, not a seasonal late payer in good standing)."""
    overdue_days: int | None = None
    """`warning` once the oldest open invoice is this many days past due (None: no such rule),
    for a buyer whose PD is at least `overdue_min_pd` and, if rated, whose external grade is
    `overdue_external_grade` or worse (None: whatever its rating). A buyer that stops paying
    altogether defaults on the day its first unpaid invoice is 90 days overdue; a rated buyer
    the agency still rates well that pays late through a squeeze is not warned by it alone."""
    overdue_min_pd: float = 0.0
    overdue_external_grade: int | None = None
    watch_after_days: int = 0
    warning_after_days: int = 0
    lower_after_days: int = 0

    def after_days(self, rank: int) -> int:
        """Days a rule of level `rank` (1 watch, 2 warning, 3 critical) must hold first."""
        return (0, self.watch_after_days, self.warning_after_days, 0)[rank]


@dataclass(frozen=True, slots=True)
class Scoring:
    """One score: the points of each factor (in the scorecard's order), their sum, PD, grade."""

    points: tuple[int, ...]
    score: int
    pd: float
    grade: int


@dataclass(frozen=True, slots=True)
class Scorecard:
    version: str
    base_points: int
    factors: tuple[Factor, ...]
    intercept: float
    slope: float
    reference_points: float
    master_scale: tuple[float, ...]
    alerts: AlertThresholds = field(default_factory=AlertThresholds)
    fitted_on: str = ""

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(f.signal for f in self.factors)

    def pd_of(self, score: int) -> float:
        z = self.intercept + self.slope * (score - self.reference_points)
        pd = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        return min(max(pd, PD_FLOOR), PD_CEILING)

    def grade_of(self, pd: float) -> int:
        for grade, upper in enumerate(self.master_scale, start=1):
            if pd <= upper:
                return grade
        return len(self.master_scale)

    def sticky_grade(
        self, pd: float, previous: int | None, sustained_pd: float | None = None
    ) -> int:
        """The grade of `pd`, except that an upgrade from `previous` must clear the better
        grade's bound by `UPGRADE_MARGIN`, and hold for `UPGRADE_DAYS` (`sustained_pd`: the
        highest PD published over them): a buyer whose PD wobbles around a bound, or improves
        for a week between two late payments, keeps its grade instead of moving back and forth
        with each invoice that falls due. A downgrade is never delayed."""
        grade = self.grade_of(pd)
        if previous is None or grade >= previous:
            return grade
        basis = max(pd, sustained_pd if sustained_pd is not None else pd)
        return min(previous, self.grade_of(basis / UPGRADE_MARGIN))

    def score(self, signals: Mapping[str, float | None]) -> Scoring:
        points = tuple(f.points(signals.get(f.signal)) for f in self.factors)
        score = self.base_points + sum(points)
        pd = self.pd_of(score)
        return Scoring(points=points, score=score, pd=pd, grade=self.grade_of(pd))


def parse_scorecard(document: Mapping[str, Any]) -> Scorecard:
    """A scorecard from its JSON document; raises `ScorecardInvalid` naming what is wrong."""
    try:
        factors = tuple(
            Factor(
                signal=str(f["signal"]),
                label=str(f.get("label") or f["signal"]),
                missing_points=int(f.get("missing_points", 0)),
                bins=tuple(
                    Bin(None if b["upper"] is None else float(b["upper"]), int(b["points"]))
                    for b in f["bins"]
                ),
            )
            for f in document["factors"]
        )
        calibration = document["calibration"]
        scale = tuple(float(x) for x in document["master_scale"])
        alerts = AlertThresholds(**document.get("alerts", {}))
        card = Scorecard(
            version=str(document["version"]),
            base_points=int(document["base_points"]),
            factors=factors,
            intercept=float(calibration["intercept"]),
            slope=float(calibration["slope"]),
            reference_points=float(calibration["reference_points"]),
            master_scale=scale,
            alerts=alerts,
            fitted_on=str(document.get("fitted_on", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ScorecardInvalid(f"not a scorecard: {error!r}") from error
    if len(scale) != 9 or list(scale) != sorted(scale):
        raise ScorecardInvalid("master_scale must hold 9 increasing PD bounds (grades 1-9)")
    for f in factors:
        uppers = [b.upper for b in f.bins]
        if not uppers or uppers[-1] is not None or None in uppers[:-1]:
            raise ScorecardInvalid(f"factor {f.signal}: the last bin (and only it) is unbounded")
        bounded = [u for u in uppers if u is not None]
        if bounded != sorted(bounded):
            raise ScorecardInvalid(f"factor {f.signal}: bins must be sorted by upper")
    return card
