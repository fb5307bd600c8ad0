"""Judge the scorecard's approach on real data, beside the published results.

    uv run --group fit python services/risk-monitor/fitting/real_data.py

Polish companies bankruptcy data (UCI 365): fit on a stratified 70 % part, judge on the 30 %
hold-out, for the 1st-year file (bankruptcy within 5 years) and the 5th-year file (within a year):
- the shipped scorecard's financial factors a single statement can feed (those of equity ratio,
  current ratio and return on assets that the file holds) with their points as shipped, nothing
  refitted;
- a scorecard of the same kind (optbinning bins, logistic on the weights of evidence) on all 64
  ratios;
- gradient boosting on all 64 ratios, the published method (AUC about 0.93-0.96).

UCI default of credit card clients (UCI 350) as payment behaviour: each month's bill is an invoice,
each payment a payment, the repayment status the days beyond terms. From each month's figures the
behaviour signals of the scorecard are derived (days beyond terms now and their trend, share of
months late, partial payments, months with nothing paid while a bill is open, how much of the limit
is used); a scorecard of the same kind and gradient boosting are fitted on 70 % and judged on 30 %,
using all six months (published: about 0.78) and using only the months at least three months (90
days) before the month whose default is predicted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import POLISH_RATIOS, SCORECARDS, auc, datasets_dir, polish, polish_split
from optbinning import BinningProcess
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from arshield_cli.simulation.scorecard import Scorecard

SEED = 2026


def woe_scorecard(train: pd.DataFrame, test: pd.DataFrame, names: list[str], target: str) -> float:
    process = BinningProcess(variable_names=names, max_n_bins=8, min_bin_size=0.02)
    process.fit(train[names], train[target].to_numpy())
    model = LogisticRegression(max_iter=3000)
    model.fit(process.transform(train[names], metric="woe"), train[target])
    risk = model.predict_proba(process.transform(test[names], metric="woe"))[:, 1]
    return auc(test[target].to_numpy(), risk)


def boosted(train: pd.DataFrame, test: pd.DataFrame, names: list[str], target: str) -> float:
    model = HistGradientBoostingClassifier(max_iter=400, learning_rate=0.05, random_state=SEED)
    model.fit(train[names], train[target])
    return auc(test[target].to_numpy(), model.predict_proba(test[names])[:, 1])


def shipped_financial_factors(test: pd.DataFrame) -> float:
    card = Scorecard.load(SCORECARDS / "2026.12-3.json")
    factors = [f for f in card.document["factors"] if f["signal"] in POLISH_RATIOS]
    financial = Scorecard({**card.document, "factors": factors})
    points = []
    for _, row in test.iterrows():
        signals = {
            name: (None if pd.isna(row[column]) else float(row[column]))
            for name, column in POLISH_RATIOS.items()
        }
        points.append(financial.score(signals).points)
    return auc(test["bankrupt"].to_numpy(), -np.array(points, dtype=float))


def polish_results() -> list[tuple[str, str, float]]:
    rows = []
    for year, horizon in ((1, "5 years"), (5, "1 year")):
        frame = polish(year)
        names = [c for c in frame.columns if c != "bankrupt"]
        frame[names] = frame[names].astype(float)
        train, test = polish_split(frame, SEED)
        label = f"Polish {year}year (bankrupt within {horizon}), hold-out {len(test):,}"
        rows += [
            (label, "shipped financial factors (as shipped)", shipped_financial_factors(test)),
            (label, "WoE scorecard, 64 ratios", woe_scorecard(train, test, names, "bankrupt")),
            (label, "gradient boosting, 64 ratios", boosted(train, test, names, "bankrupt")),
        ]
    return rows


# UCI columns: 1 = September (the latest month) ... 6 = April; PAY_0 is September's status.
STATUS = {1: "PAY_0", 2: "PAY_2", 3: "PAY_3", 4: "PAY_4", 5: "PAY_5", 6: "PAY_6"}


def behaviour(frame: pd.DataFrame, months: list[int]) -> pd.DataFrame:
    """The scorecard's behaviour signals from the months given (latest first)."""
    latest, window = months[0], months[:3]
    status = {m: frame[STATUS[m]].clip(lower=0) for m in months}
    out = pd.DataFrame(index=frame.index)
    out["dbt_now"] = 30.0 * status[latest]
    out["dbt_3m"] = 30.0 * sum(status[m] for m in window) / len(window)
    out["dbt_trend"] = out["dbt_3m"] - 30.0 * sum(status.values()) / len(months)
    out["late_share"] = sum((status[m] > 0).astype(float) for m in months) / len(months)
    # A payment in month m settles the bill of month m + 1 (the previous statement).
    pairs = [(m, m + 1) for m in months if m + 1 in months]
    out["partial_payments"] = sum(
        ((frame[f"PAY_AMT{m}"] > 0) & (frame[f"PAY_AMT{m}"] < frame[f"BILL_AMT{b}"])).astype(float)
        for m, b in pairs
    )
    out["payment_stop_months"] = sum(
        ((frame[f"PAY_AMT{m}"] <= 0) & (frame[f"BILL_AMT{b}"] > 0)).astype(float) for m, b in pairs
    )
    out["utilisation"] = frame[f"BILL_AMT{latest}"] / frame["LIMIT_BAL"]
    return out


def uci_results() -> list[tuple[str, str, float]]:
    frame = pd.read_csv(datasets_dir() / "uci-credit-card-default" / "UCI_Credit_Card.csv")
    frame = frame.rename(columns={"default.payment.next.month": "default"})
    rng = np.random.default_rng(SEED)
    test_mask = rng.random(len(frame)) < 0.3
    rows = []
    for label, months in (
        ("UCI, all six months (Apr-Sep)", [1, 2, 3, 4, 5, 6]),
        ("UCI, only months >= 3 before (Apr-Jul)", [3, 4, 5, 6]),
    ):
        signals = behaviour(frame, months)
        names = list(signals.columns)
        signals["default"] = frame["default"]
        raw_names = ["LIMIT_BAL"] + [
            c for m in months for c in (STATUS[m], f"BILL_AMT{m}", f"PAY_AMT{m}")
        ]
        raw = frame[[*raw_names, "default"]]
        train, test = signals[~test_mask], signals[test_mask]
        rows += [
            (
                label,
                "WoE scorecard, behaviour signals",
                woe_scorecard(train, test, names, "default"),
            ),
            (
                label,
                "gradient boosting, behaviour signals",
                boosted(train, test, names, "default"),
            ),
            (
                label,
                "gradient boosting, raw monthly columns",
                boosted(raw[~test_mask], raw[test_mask], raw_names, "default"),
            ),
        ]
    return rows


def main() -> None:
    print("| data (hold-out) | model | AUC |")
    print("|---|---|---|")
    for data, model, value in [*polish_results(), *uci_results()]:
        print(f"| {data} | {model} | {value:.3f} |")
    print("\npublished: Polish 0.93-0.96 (boosted trees, Zieba et al. 2016); UCI about 0.78")


if __name__ == "__main__":
    main()
