"""`arshield simulate` and `arshield backtest` end to end on a small portfolio (no platform)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arshield_cli.main import app
from arshield_cli.simulation.scorecard import SHIPPED

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def test_simulate_then_backtest_offline_and_from_an_events_file(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "sim"
    result = runner.invoke(
        app, ["simulate", "--buyers", "60", "--years", "2", "--seed", "5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "ground_truth.json").read_text())
    assert len(truth["buyers"]) == 60
    report = tmp_path / "offline.json"
    result = runner.invoke(
        app,
        [
            "backtest",
            "--history",
            str(out),
            "--offline",
            "--step",
            "7",
            "--scorecard",
            str(ROOT / SHIPPED),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(report.read_text())
    assert figures["defaulters"] == sum(b["defaults"] for b in truth["buyers"])
    assert {t["name"] for t in figures["targets"]} >= {"precision", "recall"}
    assert 0 <= figures["naive"]["warned"] <= 60
    # The live mode judges the service's published events; here a file of them.
    defaulter = next(b for b in truth["buyers"] if b["defaults"])
    events = tmp_path / "risk.jsonl"
    events.write_text(
        json.dumps(
            {
                "type": "arshield.risk.RiskAlertRaised.v1",
                "data": {
                    "buyer_id": defaulter["buyer_id"],
                    "level": "warning",
                    "raised_on": truth["start"],
                },
            }
        )
        + "\n"
    )
    live = tmp_path / "live.json"
    result = runner.invoke(
        app, ["backtest", "--history", str(out), "--events", str(events), "--json", str(live)]
    )
    assert result.exit_code == 0, result.output
    warning = json.loads(live.read_text())["warning"]
    # Warned on the first day of the history, before its default: caught (the precision
    # depends on whether the default came within 12 months of that day).
    assert (warning["warned"], warning["caught"], warning["recall"] > 0) == (1, 1, True)
