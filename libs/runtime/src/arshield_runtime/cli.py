"""The command line every service shares: `python -m arshield_<svc> serve|rebuild|keys create`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import typer

from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.service import ServiceDefinition, rebuild, run_service


def service_cli(bootstrap: Callable[[], ServiceDefinition]) -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False)
    keys = typer.Typer(no_args_is_help=True, help="API keys (tenant-bound, scoped, hashed at rest)")
    app.add_typer(keys, name="keys")

    @app.command()
    def serve() -> None:
        """Run the service: migrations, consumer, outbox relay and HTTP API."""
        asyncio.run(run_service(bootstrap()))

    @app.command("rebuild")
    def rebuild_command() -> None:
        """Empty the projections and replay the whole log into them (stop the service first)."""
        count = asyncio.run(rebuild(bootstrap()))
        typer.echo(f"replayed {count} records")

    @keys.command("create")
    def create_key(
        tenant: str = typer.Option(..., help="the tenant the key belongs to"),
        scopes: str = typer.Option("read", help="comma-separated: read,write,agency,admin"),
        name: str = typer.Option("key", help="who or what uses the key"),
    ) -> None:
        """Create an API key and print it (it is stored only as a hash)."""
        definition = bootstrap()

        async def create() -> str:
            await migrate(definition.migrations, definition.settings.database_url)
            engine = create_engine(definition.settings.database_url, pool_size=1)
            try:
                return await create_api_key(
                    engine, tenant_id=tenant, name=name, scopes=scopes.split(",")
                )
            finally:
                await engine.dispose()

        typer.echo(asyncio.run(create()))

    return app
