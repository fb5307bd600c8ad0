"""The `arshield` console script: one typer app; each command group lives in its own module."""

import typer

from arshield_cli.commands import clock_app, publish, replay, services_app
from arshield_cli.stack.cli import stack_app

app = typer.Typer(no_args_is_help=True, help="arshield developer command line.")
app.add_typer(stack_app, name="stack")
app.add_typer(clock_app, name="clock")
app.add_typer(services_app, name="services")
app.command()(publish)
app.command()(replay)

if __name__ == "__main__":  # pragma: no cover
    app()
