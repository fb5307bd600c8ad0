"""`arshield simulate` and `arshield backtest`: a portfolio with known defaults, and how early the
platform warned of them."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.console import Console

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
