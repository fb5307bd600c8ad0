"""`arshield publish`, `arshield clock advance`, `arshield replay`, `arshield services`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arshield_cli import platform
from arshield_cli.importers.cloudevents_jsonl import read_event_facts
from arshield_cli.importers.receivables_csv import (
    DEFAULT_COUNTRIES,
    Fact,
    load_countries,
    read_facts,
)
from arshield_cli.publishing import Publisher, read_jsonl
from arshield_cli.replay import advance_clock
from arshield_cli.stack import StackSettings

console = Console()
clock_app = typer.Typer(no_args_is_help=True, help="Business time: day markers in the log.")
services_app = typer.Typer(no_args_is_help=True, help="The platform's services as local processes.")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    )


def publish(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Validate a file of CloudEvents (one per line) and publish the valid ones, in order."""
    events, problems = read_jsonl(file)
    for line, reason in problems:
        console.print(f"[red]line {line}[/red]: {reason}")

    async def run() -> int:
        async with Publisher(StackSettings().kafka_bootstrap) as publisher:
            with _progress() as progress:
                task = progress.add_task("publishing", total=len(events), detail="")
                done = 0
                for start in range(0, len(events), 500):
                    done += await publisher.publish(events[start : start + 500])
                    progress.update(task, completed=done)
                return done

    console.print(f"published {asyncio.run(run())} events, refused {len(problems)}")
    if problems:
        raise typer.Exit(1)


@clock_app.command("advance")
def clock_advance(
    to: str = typer.Option(..., "--to", help="last business date to tick, YYYY-MM-DD"),
    tenant: str = typer.Option("demo", help="whose business calendar"),
    start: str | None = typer.Option(
        None, "--from", help="first date (default: day after the last tick)"
    ),
) -> None:
    """Mark every day up to --to in the log (a day marker in every partition of the ERP and
    external topics, and the day's BusinessDayStarted), then close --to and wait until every
    service has closed it."""
    stack = StackSettings()
    target = date.fromisoformat(to)
    first = date.fromisoformat(start) if start else None
    with _progress() as progress:
        task = progress.add_task("ticking", total=None, detail="")
        count = asyncio.run(
            advance_clock(
                stack,
                platform.SERVICES,
                tenant=tenant,
                to=target,
                start=first,
                on_day=lambda day, _: progress.update(task, advance=1, detail=str(day)),
            )
        )
    console.print(f"published {count} ticks up to {target}")


JSONL_SUFFIXES = (".jsonl", ".ndjson")


def replay(
    files: list[Path] = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="a receivables CSV, or CloudEvents JSONL files (merged by business date)",
    ),
    tenant: str = typer.Option("demo", help="the CSV's tenant (JSONL events carry their own)"),
    countries: Path = typer.Option(DEFAULT_COUNTRIES, help="country-code mapping (TOML)"),
    until: str | None = typer.Option(None, help="keep ticking until this date"),
) -> None:
    """Import a receivables CSV or CloudEvents JSONL and replay it day by day through the running
    platform."""
    end = date.fromisoformat(until) if until else None
    if all(path.suffix in JSONL_SUFFIXES for path in files):
        asyncio.run(replay_jsonl(files, until=end))
    elif len(files) == 1:
        asyncio.run(replay_file(files[0], tenant=tenant, countries=countries, until=end))
    else:
        console.print("[red]give one CSV file, or JSONL files (.jsonl, .ndjson) only[/red]")
        raise typer.Exit(2)


async def replay_file(
    csv_file: Path, *, tenant: str, countries: Path = DEFAULT_COUNTRIES, until: date | None = None
) -> int:
    facts = read_facts(csv_file, tenant=tenant, countries=load_countries(countries))
    return await _replay_facts(facts, tenant=tenant, until=until)


async def replay_jsonl(files: Sequence[Path], *, until: date | None = None) -> int:
    """Replay CloudEvents JSONL files, each tenant's facts after that tenant's ticks."""
    facts, problems = read_event_facts(files)
    for path, line, reason in problems:
        console.print(f"[red]{path.name} line {line}[/red]: {reason}")
    if problems:
        raise typer.Exit(1)
    published = 0
    for tenant in sorted({fact.event.tenantid for fact in facts}):
        mine = [fact for fact in facts if fact.event.tenantid == tenant]
        published += await _replay_facts(mine, tenant=tenant, until=until)
    return published


async def _replay_facts(facts: Sequence[Fact], *, tenant: str, until: date | None) -> int:
    if not facts:
        return 0
    last = max(fact.on for fact in facts)
    end = max(until or last, last)
    first = min(fact.on for fact in facts)
    with _progress() as progress:
        task = progress.add_task("replaying", total=(end - first).days + 1, detail="")
        return await advance_clock(
            StackSettings(),
            platform.SERVICES,
            tenant=tenant,
            to=end,
            facts=facts,
            on_day=lambda day, n: progress.update(task, advance=1, detail=f"{day}  {n} events"),
        )


@services_app.command("start")
def services_start() -> None:
    """Start every service (detached) and wait until each is ready."""
    stack = StackSettings()
    for spec in platform.SERVICES:
        pid = platform.start(spec, stack)
        platform.wait_ready(spec, stack)
        console.print(f"{spec.name}: pid {pid}, {spec.url}")


@services_app.command("stop")
def services_stop() -> None:
    """Stop every service."""
    stack = StackSettings()
    for spec in platform.SERVICES:
        if platform.stop(spec, stack):
            console.print(f"stopped {spec.name}")
