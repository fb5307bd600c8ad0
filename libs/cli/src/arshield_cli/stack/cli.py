"""`arshield stack up|down|status|reset`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from arshield_cli.stack import api
from arshield_cli.stack._proc import StackError
from arshield_cli.stack.settings import DATABASES, StackSettings

stack_app = typer.Typer(
    no_args_is_help=True,
    help="Native local stack: Apache Kafka (KRaft) + PostgreSQL on 127.0.0.1. "
    "Settings via ARSHIELD_STACK_* env vars.",
)
console = Console()


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    if not verbose:
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


def _fail(exc: StackError) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


@stack_app.command()
def up(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Start Kafka and PostgreSQL (idempotent); create topics and databases."""
    _logging(verbose)
    settings = StackSettings()
    try:
        info = api.up(settings)
    except StackError as exc:
        _fail(exc)
        return
    verb = "started" if info.started else "already running"
    console.print(
        f"[green]stack {verb}[/green] in {info.seconds:.1f}s: kafka {info.kafka_bootstrap} "
        f"(pid {info.kafka_pid}), postgres 127.0.0.1:{settings.pg_port} (pid {info.postgres_pid})"
    )


@stack_app.command()
def down(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Stop both, keeping their data."""
    _logging(verbose)
    try:
        stopped = api.down()
    except StackError as exc:
        _fail(exc)
        return
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command()
def reset(
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Stop both and wipe all their data (topics, databases)."""
    _logging(verbose)
    settings = StackSettings()
    if not yes:
        typer.confirm(f"Wipe all local stack data in {settings.state_dir}?", abort=True)
    try:
        api.reset(settings)
    except StackError as exc:
        _fail(exc)
        return
    console.print(f"stack stopped and wiped ({settings.state_dir})")


@stack_app.command()
def init(
    kafka_bootstrap: str = typer.Option(..., envvar="ARSHIELD_STACK_INIT_KAFKA_BOOTSTRAP"),
    postgres_dsn: str = typer.Option(
        ...,
        envvar="ARSHIELD_STACK_INIT_POSTGRES_DSN",
        help="admin DSN, e.g. postgresql://arshield:arshield@postgres:5432/postgres",
    ),
    database: Annotated[
        list[str] | None, typer.Option("--database", "-d", help="default: ledger, dunning")
    ] = None,
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Create the topics and service databases on an already running Kafka/PostgreSQL
    (used by docker-compose; the native `up` does this itself)."""
    _logging(verbose)
    asyncio.run(api.init_external(kafka_bootstrap, postgres_dsn, database or list(DATABASES)))
    console.print("topics and databases ready")


def _short(path: Path) -> str:
    """Relative to the working directory when below it (keeps the table narrow)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@stack_app.command()
def status() -> None:
    """Show whether Kafka and PostgreSQL run, with pid, port and data dir."""
    components = api.status()
    table = Table(title="arshield local stack")
    for column in ("component", "running", "pid", "port", "data dir", "log"):
        table.add_column(column, overflow="fold")
    for c in components:
        table.add_row(
            c.name,
            "[green]yes[/green]" if c.running else "[red]no[/red]",
            str(c.pid or "-"),
            str(c.port),
            _short(c.data_dir),
            _short(c.log_file),
        )
    console.print(table)
    if not all(c.running for c in components):
        raise typer.Exit(3)
