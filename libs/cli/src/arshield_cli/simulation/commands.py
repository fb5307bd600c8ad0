"""`arshield simulate` and `arshield backtest`: a portfolio with known defaults, and how early the
platform warned of them."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from arshield_cli.simulation.scorecard import SHIPPED as SHIPPED_SCORECARD

console = Console()


def simulate(
    buyers: int = typer.Option(1000, min=1, help="number of buyers"),
    years: int = typer.Option(3, min=1, max=20, help="length of the history"),
    seed: int = typer.Option(7, help="the same seed gives the same history"),
    out: Path = typer.Option(..., "--out", file_okay=False, help="directory to write into"),
    start: str = typer.Option("2024-01-01", help="first business date, YYYY-MM-DD"),
    tenant: str = typer.Option("sim"),
) -> None:
    """Simulate a portfolio: ERP and external facts as CloudEvents JSONL, and the ground truth."""
    from arshield_cli.simulation.simulator import SimulationConfig, simulate, write_simulation

    began = time.perf_counter()
    config = SimulationConfig(
        buyers=buyers, years=years, seed=seed, start=date.fromisoformat(start), tenant=tenant
    )
    sim = simulate(config)
    counts = write_simulation(sim, out)
    defaults = [truth for truth in sim.truth if truth.defaults]
    for name, count in counts.items():
        console.print(f"{out / name}: {count} events")
    console.print(
        f"{out / 'ground_truth.json'}: {len(sim.truth)} buyers, {len(defaults)} default "
        f"({sum(t.kind == 'insolvency' for t in defaults)} insolvency, "
        f"{sum(t.kind == 'non_payment' for t in defaults)} non-payment), "
        f"{config.start} to {config.end}, in {time.perf_counter() - began:.1f} s"
    )


DEFAULT_THRESHOLDS = "0.01,0.02,0.04,0.06,0.08,0.12,0.2,0.25,0.3,0.35,0.4,0.5"


def backtest(
    history: Path = typer.Option(
        ..., "--history", exists=True, file_okay=False, help="a simulated history (ground truth)"
    ),
    events: Path | None = typer.Option(
        None, "--events", exists=True, dir_okay=False, help="risk events JSONL (default: Kafka)"
    ),
    offline: bool = typer.Option(
        False, "--offline", help="compute the alerts from the history with the scorecard file"
    ),
    scorecard: Path = typer.Option(
        SHIPPED_SCORECARD, "--scorecard", help="scorecard file for --offline"
    ),
    step: int = typer.Option(1, min=1, help="--offline: score every STEP days"),
    warning_grade: int | None = typer.Option(
        None, help="--offline: warning at this grade (10: never; default: the scorecard's rule)"
    ),
    critical_grade: int | None = typer.Option(
        None, help="--offline: critical at this grade (10: never; default: the scorecard's)"
    ),
    warning_pd: float | None = typer.Option(None, help="--offline: warning at this PD too"),
    payment_stop_days: int | None = typer.Option(
        None, help="--offline: warning after a payment stop (default: the scorecard's)"
    ),
    warning_external_grade: int | None = typer.Option(
        None, help="--offline: warning at this rating (default: the scorecard's)"
    ),
    payment_stop_min_pd: float | None = typer.Option(
        None, help="--offline: the payment stop warns from this PD (default: the scorecard's)"
    ),
    overdue_days: int | None = typer.Option(
        None, help="--offline: warning once an invoice is this many days past due"
    ),
    overdue_min_pd: float | None = typer.Option(
        None, help="--offline: the overdue rule warns from this PD (default: the scorecard's)"
    ),
    overdue_external_grade: int | None = typer.Option(
        None, help="--offline: the overdue rule warns a rated buyer from this external grade"
    ),
    warning_after_days: int | None = typer.Option(
        None, help="--offline: days a warning rule must hold first (default: the scorecard's)"
    ),
    watch_after_days: int | None = typer.Option(
        None, help="--offline: days a watch rule must hold first (default: the scorecard's)"
    ),
    lower_after_days: int | None = typer.Option(
        None, help="--offline: days before a level is lowered (default: the scorecard's)"
    ),
    thresholds: str = typer.Option(DEFAULT_THRESHOLDS, help="PD thresholds of the trade-off"),
    report: Path | None = typer.Option(None, "--json", help="also write the figures as JSON"),
) -> None:
    """Judge a history's early warnings against its known defaults, beside a naive rule."""
    from arshield_cli.importers.cloudevents_jsonl import read_event_facts
    from arshield_cli.simulation import backtest as bt
    from arshield_cli.simulation.signals import histories

    truth = bt.load_truth(history / "ground_truth.json")
    files = sorted(history.glob("*.jsonl"))
    facts, _ = read_event_facts([f for f in files if f.name in ("erp.jsonl", "external.jsonl")])
    found = histories(fact.event for fact in facts)
    naive = {b: h.naive_trip() for b, h in found.items()}
    naive_first = {b: on for b, on in naive.items() if on is not None}
    if offline:
        from arshield_cli.simulation.offline import offline_alerts
        from arshield_cli.simulation.scorecard import Scorecard
        from arshield_risk_monitor.domain.scorecard import AlertThresholds

        card = Scorecard.load(scorecard)
        given = {
            "warning_grade": warning_grade,
            "critical_grade": critical_grade,
            "warning_pd": warning_pd,
            "payment_stop_days": payment_stop_days,
            "warning_external_grade": warning_external_grade,
            "payment_stop_min_pd": payment_stop_min_pd,
            "overdue_days": overdue_days,
            "overdue_min_pd": overdue_min_pd,
            "overdue_external_grade": overdue_external_grade,
            "warning_after_days": warning_after_days,
            "watch_after_days": watch_after_days,
            "lower_after_days": lower_after_days,
        }
        # the scorecard's own rules (as the service applies them), then what the command names
        rules = AlertThresholds(
            **{
                **card.document.get("alerts", {}),
                **{k: v for k, v in given.items() if v is not None},
            }
        )
        source = f"offline, scorecard {card.version}, scored every {step} day(s), {rules}"
        risk = offline_alerts(found, card, truth.start, truth.end, rules=rules, step=step)
    else:
        tenant = json.loads((history / "ground_truth.json").read_text())["tenant"]
        if events is not None:
            documents = bt.read_documents(events)
            source = f"{events.name}"
        else:
            documents = asyncio.run(_risk_documents(tenant))
            source = f"arshield.risk, tenant {tenant}"
        risk = bt.risk_history(documents)
    figures = _figures(truth, risk, naive_first, [float(t) for t in thresholds.split(",")])
    _print(figures, source, truth)
    if report is not None:
        report.write_text(json.dumps(figures, indent=1, default=str) + "\n")


async def _risk_documents(tenant: str) -> list[dict[str, Any]]:
    from arshield_cli.reading import tenant_events
    from arshield_cli.stack import StackSettings
    from arshield_events import topics
    from arshield_events.registry import event_document

    events = await tenant_events(StackSettings().kafka_bootstrap, topics.RISK, tenant)
    return [event_document(event) for event in events]


def _figures(
    truth: Any, risk: Any, naive: dict[str, date], thresholds: list[float]
) -> dict[str, Any]:
    from arshield_cli.simulation import backtest as bt

    measured = bt.report(truth, risk.first_warning, risk.first_watch, risk.timeline)
    rule = bt.judge(naive, truth)
    return {
        "buyers": len(truth.buyers),
        "defaulters": len(truth.defaults),
        "years": round(truth.years, 2),
        "warning": asdict(measured.warning),
        "watch": asdict(measured.watch),
        "naive": asdict(rule),
        "pd_auc": {f"{days}d": auc for days, auc in measured.pd_auc.items()},
        "tradeoff": [
            {"pd_threshold": t, **asdict(r)}
            for t, r in bt.tradeoff(risk.timeline, truth, thresholds)
        ],
        "targets": [asdict(t) for t in bt.targets(measured.warning, rule)],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _print(figures: dict[str, Any], source: str, truth: Any) -> None:
    from rich.table import Table

    console.print(
        f"{figures['buyers']} buyers, {figures['defaulters']} defaults, "
        f"{truth.start} to {truth.end}; alerts from {source}"
    )
    table = Table(
        "",
        "warned",
        "precision",
        "recall",
        "false alarms/100/yr",
        "lead median",
        "lead q1-q3",
        ">= 90 d ahead",
    )
    for name, key in (
        ("first warning", "warning"),
        ("first watch", "watch"),
        ("naive rule", "naive"),
    ):
        r = figures[key]
        table.add_row(
            name,
            str(r["warned"]),
            _pct(r["precision"]),
            _pct(r["recall"]),
            f"{r['false_alarms_per_100_per_year']:.2f}",
            _days(r["lead_median"]),
            f"{_days(r['lead_q1'])}-{_days(r['lead_q3'])}",
            _pct(r["share_90d_ahead"]),
        )
    console.print(table)
    aucs = ", ".join(
        f"{k} before: {'-' if v is None else f'{v:.3f}'}" for k, v in figures["pd_auc"].items()
    )
    console.print(f"AUC of the PD {aucs}")
    curve = Table(
        "PD >=",
        "precision",
        "recall",
        "false alarms/100/yr",
        "lead median",
        ">= 90 d ahead",
        title="trade-off: warning at the first PD >= threshold",
    )
    for r in figures["tradeoff"]:
        curve.add_row(
            f"{r['pd_threshold']:.0%}",
            _pct(r["precision"]),
            _pct(r["recall"]),
            f"{r['false_alarms_per_100_per_year']:.2f}",
            _days(r["lead_median"]),
            _pct(r["share_90d_ahead"]),
        )
    console.print(curve)
    for t in figures["targets"]:
        value = t["value"]
        ratio = t["name"] in ("precision", "recall")
        shown = "-" if value is None else (f"{value:.1%}" if ratio else f"{value:.2f}")
        console.print(f"{'MET ' if t['met'] else 'MISS'} {t['name']}: {shown} (target {t['goal']})")
