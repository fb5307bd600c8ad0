"""The `arshield` console script: one typer app; each command group lives in its own module."""

from pathlib import Path

import typer

from arshield_cli.commands import clock_app, publish, replay, services_app
from arshield_cli.simulation.commands import backtest, simulate
from arshield_cli.stack.cli import stack_app

app = typer.Typer(no_args_is_help=True, help="arshield developer command line.")
app.add_typer(stack_app, name="stack")
app.add_typer(clock_app, name="clock")
app.add_typer(services_app, name="services")
app.command()(publish)
app.command()(replay)
app.command()(simulate)
app.command()(backtest)


@app.command()
def demo(
    tenant: str = typer.Option("demo"),
    csv_file: Path | None = typer.Option(
        None, "--csv", help="default: the IBM sample in ../shared"
    ),
) -> None:
    """Start everything, replay real receivables through every service, print the summary."""
    from arshield_cli.demo import run_demo

    run_demo(tenant, csv_file)


@app.command()
def stop() -> None:
    """Stop the services, the demo agency and the stack (data is kept)."""
    from arshield_cli.demo import stop_all

    stop_all()


if __name__ == "__main__":  # pragma: no cover
    app()
