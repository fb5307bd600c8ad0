"""Variants of the warning rules on simulated portfolios, fast enough for a grid.

    uv run --group fit python services/risk-monitor/fitting/alert_grid.py --seeds 7,8 \
        [--cache DIR] [--grid '{"warning_pd": [0.3, 0.4], "after": [10, 14]}']

`arshield backtest --offline` applies the service's own `level_of` and `hold` to every buyer and
day, about a minute a portfolio: right for a figure, slow for a grid. This script computes each
buyer's daily signals once (cached per seed), scores them with the scorecard's tables in numpy,
and replays the warning rules: the PD at or above `warning_pd`, an external grade of 8 or worse,
and the invoice past due (`overdue_days`, from `overdue_min_pd`, for a buyer unrated or rated
`overdue_external_grade` or worse; 0 turns the condition off), the first warning being the first
day on which one of them has held `after` days in a row (`hold` for a warning: the watch level,
which does not count, left aside). On the shipped rules it gives the figures of
`arshield backtest --offline` exactly (seeds 7-13); the measures are the service's
(`domain/backtest.py`). REPORT.md, "Backtests of scorecard 2026.12-3".
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from common import SCORECARDS

from arshield_cli.simulation.signals import SIGNALS, histories
from arshield_cli.simulation.simulator import SimulationConfig, simulate
from arshield_risk_monitor.domain.backtest import Truth, judge, targets

INDEX = {name: i for i, name in enumerate(SIGNALS)}
SHIPPED = {
    "warning_pd": [0.4],
    "overdue_days": [60],
    "overdue_min_pd": [0.15],
    "overdue_external_grade": [5],
    "after": [14],
}


def portfolio(seed: int, cache: Path) -> tuple[Truth, dict[str, np.ndarray], dict[str, date]]:
    """Every buyer's signals on every day before its insolvency (a row a day), the ground truth
    and the naive rule's first day; cached per seed (numpy arrays and JSON)."""
    arrays, facts = cache / f"signals-{seed}.npz", cache / f"truth-{seed}.json"
    if not (arrays.exists() and facts.exists()):
        config = SimulationConfig(buyers=1000, years=3, seed=seed)
        sim = simulate(config)
        found = histories(fact.event for fact in sim.facts)
        days = (config.end - config.start).days + 1
        rows: dict[str, np.ndarray] = {}
        for buyer, history in found.items():
            table = []
            for d in range(days):
                day = config.start + timedelta(days=d)
                if history.insolvent_on is not None and history.insolvent_on <= day:
                    break
                signals = history.signals(day)
                table.append([np.nan if signals[k] is None else signals[k] for k in SIGNALS])
            rows[buyer] = np.array(table, dtype=float).reshape(-1, len(SIGNALS))
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(arrays, **rows)
        document = {
            "start": config.start.isoformat(),
            "end": config.end.isoformat(),
            "buyers": [t.buyer_id for t in sim.truth],
            "defaults": {t.buyer_id: t.default_on.isoformat() for t in sim.truth if t.default_on},
            "naive": {b: on.isoformat() for b, h in found.items() if (on := h.naive_trip())},
        }
        facts.write_text(json.dumps(document))
    document = json.loads(facts.read_text())
    truth = Truth(
        start=date.fromisoformat(document["start"]),
        end=date.fromisoformat(document["end"]),
        buyers=tuple(document["buyers"]),
        defaults={b: date.fromisoformat(on) for b, on in document["defaults"].items()},
    )
    naive = {b: date.fromisoformat(on) for b, on in document["naive"].items()}
    with np.load(arrays, allow_pickle=False) as loaded:
        signals = {buyer: loaded[buyer] for buyer in loaded.files}
    return truth, signals, naive


def pds(card: dict, signals: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    """The scorecard's arithmetic (`domain/scorecard.py`) over rows of signals."""
    points = np.full(len(signals), float(card["base_points"]))
    for factor in card["factors"]:
        x = signals[:, INDEX[factor["signal"]]]
        edges = np.array([b["upper"] for b in factor["bins"] if b["upper"] is not None])
        earned = np.array([b["points"] for b in factor["bins"]], dtype=float)
        got = earned[np.searchsorted(edges, x, side="right")]
        points += np.where(np.isnan(x), factor["missing_points"], got)
    c = card["calibration"]
    z = c["intercept"] + c["slope"] * (points - c["reference_points"])
    return np.clip(1 / (1 + np.exp(-z)), 0.0001, 0.9999)


def first_held(rule: np.ndarray, after: int) -> int | None:  # type: ignore[type-arg]
    run = 0
    for day, holds in enumerate(rule):
        run = run + 1 if holds else 0
        if run > after:
            return day
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="7,8")
    parser.add_argument("--scorecard", default=str(SCORECARDS / "2026.12-3.json"))
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "arshield-alert-grid"))
    parser.add_argument("--grid", default="{}", help="JSON: lists replacing the shipped values")
    args = parser.parse_args()
    card = json.loads(Path(args.scorecard).read_text())
    grid = {**SHIPPED, **json.loads(args.grid)}
    seeds = [int(s) for s in args.seeds.split(",")]
    data = {seed: portfolio(seed, Path(args.cache)) for seed in seeds}
    scored = {seed: {b: (x, pds(card, x)) for b, x in d[1].items()} for seed, d in data.items()}
    grade, overdue = INDEX["external_grade"], INDEX["overdue_days"]
    for values in itertools.product(*grid.values()):
        v = dict(zip(grid, values, strict=True))
        cells, met = [], 0
        for seed in seeds:
            truth, _, naive = data[seed]
            first = {}
            for buyer, (x, pd) in scored[seed].items():
                external = x[:, grade]
                rated_well = ~np.isnan(external) & (external < v["overdue_external_grade"])
                rule = (pd >= v["warning_pd"]) | (np.nan_to_num(external) >= 8)
                if v["overdue_days"]:
                    late = x[:, overdue] >= v["overdue_days"]
                    rule |= late & (pd >= v["overdue_min_pd"]) & ~rated_well
                day = first_held(rule, v["after"])
                if day is not None:
                    first[buyer] = truth.start + timedelta(days=day)
            ours, theirs = judge(first, truth), judge(naive, truth)
            met += all(t.met for t in targets(ours, theirs))
            cells.append(
                f"seed {seed}: {ours.precision or 0:.1%} / {ours.recall or 0:.1%} "
                f"({theirs.recall or 0:.1%}) / {ours.false_alarms_per_100_per_year:.2f} / "
                f"{ours.lead_median or 0:.0f}"
            )
        print(f"{v} all targets on {met} of {len(seeds)} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
