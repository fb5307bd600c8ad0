"""A scorecard file applied offline: the same plain arithmetic the risk-monitor serves.

Points per factor from the bins, the score, the PD within 12 months from the calibration, the grade
from the master scale. Kept here so a backtest can run on a history on disk with a scorecard file
before (or without) the platform, and so the fitting can check the file it writes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arshield_cli.simulation.signals import Signals

SHIPPED = Path("services/risk-monitor/src/arshield_risk_monitor/domain/scorecards/2026.12-3.json")
"""The shipped scorecard, relative to the repository root."""


@dataclass(frozen=True)
class Score:
    points: int
    pd: float
    grade: int
    factors: dict[str, int]


@dataclass(frozen=True)
class Scorecard:
    document: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Scorecard:
        return cls(json.loads(path.read_text()))

    @property
    def version(self) -> str:
        return str(self.document["version"])

    def factor_points(self, signals: Signals) -> dict[str, int]:
        points: dict[str, int] = {}
        for factor in self.document["factors"]:
            value = signals.get(factor["signal"])
            if value is None:
                points[factor["signal"]] = int(factor["missing_points"])
                continue
            for bin_ in factor["bins"]:
                if bin_["upper"] is None or value < bin_["upper"]:
                    points[factor["signal"]] = int(bin_["points"])
                    break
        return points

    def pd_of(self, score: int) -> float:
        calibration = self.document["calibration"]
        z = calibration["intercept"] + calibration["slope"] * (
            score - calibration["reference_points"]
        )
        return min(0.9999, max(0.0001, 1 / (1 + math.exp(-z))))

    def grade_of(self, pd: float) -> int:
        for grade, bound in enumerate(self.document["master_scale"], start=1):
            if bound >= pd:
                return grade
        return 9

    def score(self, signals: Signals) -> Score:
        factors = self.factor_points(signals)
        points = int(self.document["base_points"]) + sum(factors.values())
        pd = self.pd_of(points)
        return Score(points, pd, self.grade_of(pd), factors)
