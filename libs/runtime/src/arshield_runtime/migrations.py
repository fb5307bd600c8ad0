"""Shared Alembic pieces, so each service's env.py and first revision stay a few lines long."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from arshield_runtime.db import runtime_metadata

_MIGRATION_LOCK = 0x6D696772  # "migr"


def create_runtime_tables(operations: Any = op) -> None:
    """Create the inbox, outbox and api_keys tables (call from a service's first revision)."""
    bind = operations.get_bind()
    runtime_metadata.create_all(bind)


def add_api_key_expiry(operations: Any = op) -> None:
    """Give `api_keys` its nullable `expires_at` (call from a service's revision after its first).

    Idempotent: a database created after the column joined the runtime's tables already has it.
    """
    operations.execute(
        "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at TIMESTAMP WITH TIME ZONE"
    )


def drop_api_key_expiry(operations: Any = op) -> None:
    operations.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS expires_at")


def drop_runtime_tables(operations: Any = op) -> None:
    runtime_metadata.drop_all(operations.get_bind())


def run_env(target_metadata: sa.MetaData | None = None) -> None:
    """The body of a service's Alembic env.py: online migrations over the async engine."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set")

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # A service starting while its admin command runs: one migrates, the other waits.
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK}
            )
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())
