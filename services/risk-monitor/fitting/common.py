"""What the fitting scripts share: the Polish ratios, the simulated snapshots, the AUC.

Offline only: these scripts need the `fit` dependency group (`uv sync --group fit`), never the
service, which serves the fitted tables with plain arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import arff
from sklearn.metrics import roc_auc_score

from arshield_cli.simulation.signals import SIGNALS, histories
from arshield_cli.simulation.simulator import SimulationConfig, simulate

ROOT = Path(__file__).resolve().parents[3]
DATASETS = ROOT.parent / "shared" / "datasets"
SCORECARDS = ROOT / "services/risk-monitor/src/arshield_risk_monitor/domain/scorecards"
HORIZON = 365
# The financial signals and the Polish attributes that are the same ratios.
POLISH_RATIOS = {
    "equity_ratio": "equity / total assets",
    "current_ratio": "current assets / short-term liabilities",
    "return_on_assets": "net profit / total assets",
}
FINANCIAL = tuple(POLISH_RATIOS)


def datasets_dir() -> Path:
    """The shared data sets, beside the repository (or named by ARSHIELD_DATASETS)."""
    import os

    return Path(os.environ.get("ARSHIELD_DATASETS", DATASETS))


def polish(year: int = 5) -> pd.DataFrame:
    """A Polish bankruptcy file as a frame: every attribute by its formula, `bankrupt` 0/1."""
    data, meta = arff.loadarff(datasets_dir() / "polish-bankruptcy" / f"{year}year.arff")
    frame = pd.DataFrame(data)
    frame.columns = [*meta.names()[:-1], "bankrupt"]
    frame["bankrupt"] = frame["bankrupt"].astype(int)
    return frame


def polish_split(frame: pd.DataFrame, seed: int = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified 70/30 split: fit on the first, judge on the hold-out."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(frame), dtype=bool)
    for label in (0, 1):
        rows = np.flatnonzero(frame["bankrupt"].to_numpy() == label)
        test[rng.choice(rows, size=round(0.3 * len(rows)), replace=False)] = True
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


@dataclass(frozen=True)
class Snapshots:
    frame: pd.DataFrame  # one row per buyer and month: the signals, `label`, `buyer`, `day`

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy()


def snapshots(config: SimulationConfig, step: int = 30, first: int = 90) -> Snapshots:
    """Monthly snapshots of every buyer not yet in default, labelled 1 if it defaults within the
    next 12 months; only dates whose 12 months lie inside the history (so every label is known)."""
    sim = simulate(config)
    found = histories(fact.event for fact in sim.facts)
    truth = {t.buyer_id: t for t in sim.truth}
    rows: list[dict[str, object]] = []
    last = config.end - timedelta(days=HORIZON)
    for buyer, history in found.items():
        default_on = truth[buyer].default_on
        day = config.start + timedelta(days=first)
        while day <= last and (default_on is None or day < default_on):
            signals = history.signals(day)
            label = default_on is not None and (default_on - day).days <= HORIZON
            rows.append({**signals, "label": int(label), "buyer": buyer, "day": day})
            day += timedelta(days=step)
    frame = pd.DataFrame(rows)
    for name in SIGNALS:
        frame[name] = frame[name].astype(float)
    return Snapshots(frame)


def auc(labels: np.ndarray, risk: np.ndarray) -> float:
    return float(roc_auc_score(labels, risk))
