"""The command line every service shares: `python -m arshield_<svc> serve|rebuild|keys ...`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from arshield_runtime.auth import create_api_key, expiry_in_days, list_api_keys, revoke_api_key
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.service import ServiceDefinition, rebuild, run_service

T = TypeVar("T")


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

    def with_engine(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        definition = bootstrap()

        async def run() -> T:
            await migrate(definition.migrations, definition.settings.database_url)
            engine = create_engine(definition.settings.database_url, pool_size=1)
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(run())

    @keys.command("create")
    def create_key(
        tenant: str = typer.Option(..., help="the tenant the key belongs to"),
        scopes: str = typer.Option("read", help="comma-separated: read,write,agency,admin"),
        name: str = typer.Option("key", help="who or what uses the key"),
        expires_in_days: float | None = typer.Option(
            None, min=0, help="the key stops working after this many days (default: never)"
        ),
    ) -> None:
        """Create an API key and print it (it is stored only as a hash)."""
        expires_at = expiry_in_days(expires_in_days)
        secret = with_engine(
            lambda engine: create_api_key(
                engine,
                tenant_id=tenant,
                name=name,
                scopes=scopes.split(","),
                expires_at=expires_at,
            )
        )
        typer.echo(secret)

    @keys.command("revoke")
    def revoke_key(key_id: str = typer.Argument(..., help="the id shown by `keys list`")) -> None:
        """Revoke a key; running services stop accepting it within their key cache time."""
        if not with_engine(lambda engine: revoke_api_key(engine, key_id)):
            typer.echo(f"no live key {key_id}", err=True)
            raise typer.Exit(1)
        typer.echo(f"revoked {key_id}")

    @keys.command("list")
    def list_keys(
        tenant: str | None = typer.Option(None, help="only this tenant's keys"),
    ) -> None:
        """The keys (never their secrets): id, tenant, name, scopes, created, expires, revoked."""
        for key in with_engine(lambda engine: list_api_keys(engine, tenant_id=tenant)):
            typer.echo(
                "\t".join(
                    [
                        key.key_id,
                        key.tenant_id,
                        key.name,
                        ",".join(key.scopes),
                        key.created_at.isoformat(timespec="seconds"),
                        key.expires_at.isoformat(timespec="seconds") if key.expires_at else "-",
                        key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "-",
                    ]
                )
            )

    return app
