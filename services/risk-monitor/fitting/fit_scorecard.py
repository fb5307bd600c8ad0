"""Fit the risk-monitor scorecard offline and write it as versioned data for the service.

    uv run --group fit python services/risk-monitor/fitting/fit_scorecard.py

Method (a classic points scorecard, each factor's points published with every score):
1. Monthly snapshots of simulated portfolios (training seeds, never the backtest seeds): the
   signals as of each month, label 1 if the buyer defaults within 12 months.
2. Bins per signal with optbinning (monotonic event rate, at least 0.5 % of the rows per bin, so
   the risky tails get bins of their own). The financial signals (equity / total assets, current
   ratio, net income / total assets) are binned, with their weights of evidence, on the Polish
   bankruptcy data (5th year, bankrupt within a year; the 70 % fitting part of the split that
   `real_data.py` judges on its hold-out), so their shape comes from real companies; the other
   signals on the simulated snapshots. A missing value has its own weight of evidence, from the
   snapshots.
3. A logistic regression on the weights of evidence weighs the factors, each weight bounded so a
   safer bin never costs points (a factor collinear with the others gets no weight rather than
   the wrong sign). Snapshots of unrated buyers count four times, so the payment factors (their
   only early sign besides the figures) are not drowned by the rated majority.
   Points = -coefficient x WoE x 20 / ln 2 (20 points double the odds), rounded; base 600.
4. The PD within 12 months: a logistic regression of the label on the score (the calibration).
5. Checks: the file is re-read and applied with the same arithmetic as the service, and its AUC
   reported on the training snapshots and on three other seeds.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
from common import (
    FINANCIAL,
    POLISH_RATIOS,
    ROOT,
    SCORECARDS,
    Snapshots,
    auc,
    polish,
    polish_split,
    snapshots,
)
from optbinning import OptimalBinning
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from arshield_cli.simulation.scorecard import Scorecard
from arshield_cli.simulation.signals import SIGNALS
from arshield_cli.simulation.simulator import SimulationConfig

VERSION = "2026.12-3"
TRAIN_SEEDS = (101, 102, 103)
TEST_SEEDS = (7, 8, 9)
BASE_POINTS = 600
UNRATED_WEIGHT = 4.0
POINTS_TO_DOUBLE_ODDS = 20
MASTER_SCALE = [0.0003, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 1.0]
LABELS = {
    "dbt_90d": "Days beyond terms (90 days)",
    "dbt_trend": "Days beyond terms: 90 days vs 12 months",
    "late_share_12m": "Share of invoices paid late (12 months)",
    "partial_payments_90d": "Partial payments (90 days)",
    "disputes_90d": "Disputes raised (90 days)",
    "days_since_payment": "Days since the last payment while past due",
    "overdue_days": "Days the oldest unpaid invoice is past due",
    "external_grade": "External rating grade",
    "external_grade_change_12m": "External grade change (12 months)",
    "equity_ratio": "Equity / total assets",
    "current_ratio": "Current ratio",
    "return_on_assets": "Net income / total assets",
    "equity_trend": "Equity ratio change since the previous report",
}


def woe(events: np.ndarray, labels: np.ndarray, index: np.ndarray, bins: int) -> list[float]:
    """Weight of evidence per bin, ln(share of non-defaulters / share of defaulters), smoothed."""
    bad_total, good_total = labels.sum(), (1 - labels).sum()
    out = []
    for b in range(bins):
        mask = index == b
        bad = events[mask].sum()
        good = mask.sum() - bad
        out.append(math.log(((good + 0.5) / (good_total + 1)) / ((bad + 0.5) / (bad_total + 1))))
    return out


def binning(name: str, x: np.ndarray, y: np.ndarray) -> list[float]:
    known = ~np.isnan(x)
    optimal = OptimalBinning(
        name=name,
        dtype="numerical",
        solver="cp",
        monotonic_trend="auto_asc_desc",
        max_n_prebins=60,
        min_prebin_size=0.002,
        max_n_bins=8,
        min_bin_size=0.005,
    )
    optimal.fit(x[known], y[known])
    return [float(split) for split in optimal.splits]


def sign_constrained_logistic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1e-4
) -> np.ndarray:
    """Logistic regression whose factor weights may not be positive: a higher weight of evidence
    (a safer bin) can never cost points. Collinear factors get a weight of 0 instead of the wrong
    sign (scikit-learn's LogisticRegression has no bounds, so scipy's L-BFGS-B does the fit)."""
    rows, width = x.shape
    design = np.column_stack([np.ones(rows), x])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ beta
        p = 1 / (1 + np.exp(-z))
        total = weight.sum()
        value = np.sum(weight * (np.logaddexp(0, z) - y * z)) / total + l2 * np.sum(beta[1:] ** 2)
        gradient = design.T @ (weight * (p - y)) / total
        gradient[1:] += 2 * l2 * beta[1:]
        return float(value), gradient

    bounds = [(None, None)] + [(None, 0.0)] * width
    result = minimize(loss, np.zeros(width + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return np.asarray(result.x[1:])


def round_split(value: float) -> float:
    """Splits rounded to readable figures (a bin edge of 10.0 days, 0.125 of equity)."""
    if value == 0:
        return 0.0
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return round(value, digits)


ALERTS = {
    "warning_grade": 10,
    "critical_grade": 10,
    "payment_stop_days": 999,
    "warning_pd": 0.4,
    "overdue_days": 60,
    "overdue_min_pd": 0.15,
    "overdue_external_grade": 5,
    "warning_after_days": 14,
    "watch_after_days": 10,
    "lower_after_days": 30,
}
"""The alert rules shipped with this scorecard, from the backtests (REPORT.md): with a calibrated
PD, grade 8 sits in the middle of a risky book and a 30-day payment stop trips seasonal payers, so
`warning` is a PD of 30 % or more (an external grade of 8 or worse still warns), `critical` is
insolvency. Since 2026.12-2 a watch or warning comes into force once its rule has held 10 days in
a row, and a level is lowered once its rules have not held for 30 days: a one-day spike raises
nothing, and a buyer is not moved on and off watch week after week (REPORT.md). Since
2026.12-3 (the same tables) a warning needs a PD of 40 % held 14 days, or the oldest open invoice
60 days past due (held 14 days) for a buyer with a PD of 15 % or more that is unrated or rated 5
or worse: the buyers that stop paying, whom the naive rule catches at 30 days overdue and the PD
alone missed, without the rated buyers that pay late through a cash squeeze (REPORT.md)."""


def fit() -> dict[str, object]:
    train = pd.concat(
        [
            snapshots(SimulationConfig(buyers=1000, years=4, seed=seed), first=30).frame
            for seed in TRAIN_SEEDS
        ],
        ignore_index=True,
    )
    y = train["label"].to_numpy()
    fitting_part, _ = polish_split(polish(5))
    factors: dict[str, dict[str, object]] = {}
    columns = {}
    for name in SIGNALS:
        x = train[name].to_numpy(dtype=float)
        if name in FINANCIAL:
            px = fitting_part[POLISH_RATIOS[name]].to_numpy(dtype=float)
            py = fitting_part["bankrupt"].to_numpy()
            splits = [round_split(s) for s in binning(name, px, py)]
            keep = ~np.isnan(px)
            weights = woe(py[keep], py[keep], np.digitize(px[keep], splits), len(splits) + 1)
        else:
            splits = [round_split(s) for s in binning(name, x, y)]
            known = ~np.isnan(x)
            weights = woe(y[known], y[known], np.digitize(x[known], splits), len(splits) + 1)
        missing = np.isnan(x)
        missing_woe = woe(y, y, np.where(missing, 0, 1), 2)[0] if missing.any() else 0.0
        column = np.where(
            missing, missing_woe, np.array(weights)[np.digitize(np.nan_to_num(x), splits)]
        )
        columns[name] = column
        factors[name] = {"splits": splits, "woe": weights, "missing_woe": missing_woe}
    matrix = np.column_stack([columns[n] for n in SIGNALS])
    # An unrated buyer's snapshots count UNRATED_WEIGHT times: for it, payment behaviour and
    # figures are the only early signs, and the rated majority would otherwise drown them.
    unrated = np.isnan(train["external_grade"].to_numpy(dtype=float))
    weights = sign_constrained_logistic(matrix, y, np.where(unrated, UNRATED_WEIGHT, 1.0))
    chosen = [n for n, w in zip(SIGNALS, weights, strict=True) if w < -1e-6]
    dropped = [n for n in SIGNALS if n not in chosen]
    if dropped:
        print(f"no weight (adds nothing beside the others): {dropped}", file=sys.stderr)
    coefficients = [w for w in weights if w < -1e-6]
    scale = POINTS_TO_DOUBLE_ODDS / math.log(2)
    document_factors = []
    for name, coefficient in zip(chosen, coefficients, strict=True):
        spec = factors[name]
        splits, weights = spec["splits"], spec["woe"]
        assert isinstance(splits, list)
        assert isinstance(weights, list)
        uppers: list[float | None] = [*splits, None]
        document_factors.append(
            {
                "signal": name,
                "label": LABELS[name],
                "missing_points": round(-coefficient * float(spec["missing_woe"]) * scale),  # type: ignore[arg-type]
                "bins": [
                    {"upper": upper, "points": round(-coefficient * w * scale)}
                    for upper, w in zip(uppers, weights, strict=True)
                ],
            }
        )
    document: dict[str, object] = {
        "version": VERSION,
        "fitted_on": (
            f"monthly snapshots of simulated portfolios (arshield simulate, seeds "
            f"{', '.join(map(str, TRAIN_SEEDS))}, 1,000 buyers x 4 years each, {len(train):,} "
            f"snapshots, {int(y.sum()):,} defaulting within 12 months); financial factors binned "
            f"on the Polish companies bankruptcy data (UCI 365, 5th year, 70 % fitting part, "
            f"CC BY 4.0); optbinning bins, sign-constrained logistic weights (unrated buyers x4), "
            f"scikit-learn calibration"
        ),
        "base_points": BASE_POINTS,
        "factors": document_factors,
        "calibration": {"intercept": 0.0, "slope": 0.0, "reference_points": BASE_POINTS},
        "master_scale": MASTER_SCALE,
        "alerts": ALERTS,
    }
    card = Scorecard(document)
    scores = np.array([card.score(row).points for row in _rows(train)])
    calibration = LogisticRegression(C=1e6, max_iter=2000)
    calibration.fit((scores - BASE_POINTS).reshape(-1, 1), y)
    document["calibration"] = {
        "intercept": round(float(calibration.intercept_[0]), 4),
        "slope": round(float(calibration.coef_[0][0]), 5),
        "reference_points": BASE_POINTS,
    }
    return document


def _rows(frame: pd.DataFrame) -> list[dict[str, float | None]]:
    records = frame[list(SIGNALS)].to_dict("records")
    return [{k: (None if pd.isna(v) else float(v)) for k, v in r.items()} for r in records]


def evaluate(card: Scorecard, data: Snapshots) -> tuple[float, float, float]:
    """AUC of the score, the mean PD and the observed default rate."""
    rows = _rows(data.frame)
    scores = [card.score(row) for row in rows]
    pds = np.array([s.pd for s in scores])
    return auc(data.labels, pds), float(pds.mean()), float(data.labels.mean())


def main() -> None:
    document = fit()
    path = SCORECARDS / f"{VERSION}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    card = Scorecard.load(path)
    print(f"wrote {path.relative_to(ROOT)}")
    for factor in document["factors"]:  # type: ignore[attr-defined]
        bins = ", ".join(f"<{b['upper']}: {b['points']:+d}" for b in factor["bins"])
        print(f"  {factor['signal']:<27} missing {factor['missing_points']:+d} | {bins}")
    print(f"  calibration {document['calibration']}")
    for seed in (*TRAIN_SEEDS[:1], *TEST_SEEDS):
        years = 4 if seed in TRAIN_SEEDS else 3
        data = snapshots(SimulationConfig(buyers=1000, years=years, seed=seed), first=30)
        area, mean_pd, rate = evaluate(card, data)
        role = "training" if seed in TRAIN_SEEDS else "test"
        print(
            f"  seed {seed} ({role}): {len(data.frame):,} snapshots, AUC {area:.3f}, "
            f"mean PD {mean_pd:.3%}, observed 12-month default rate {rate:.3%}"
        )


if __name__ == "__main__":
    main()
