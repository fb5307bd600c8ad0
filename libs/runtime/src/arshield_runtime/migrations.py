"""Shared Alembic pieces, so each service's env.py and first revision stay a few lines long."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from arshield_runtime.db import LEGACY_TENANT, runtime_metadata

_MIGRATION_LOCK = 0x6D696772  # "migr"


def create_runtime_tables(operations: Any = op) -> None:
    """Create the inbox, outbox and api_keys tables (call from a service's first revision)."""
    bind = operations.get_bind()
    runtime_metadata.create_all(bind)


# Each step brings a runtime table from an older shape to the current one and does nothing when the
# table already has it: a database created by a service's first revision gets the current shape from
# `create_runtime_tables`, an older one gets there through these. Append steps; never edit one.
_RUNTIME_STEPS: tuple[str, ...] = (
    # The inbox key holds the tenant. Rows handled before cannot tell their tenant: they keep
    # `LEGACY_TENANT`, which the consumer treats as a duplicate for every tenant (the old rule), so
    # an event redelivered across the upgrade still has one effect.
    f"""
    DO $$
    BEGIN
      IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'inbox' AND column_name = 'tenant_id'
      ) THEN
        ALTER TABLE inbox ADD COLUMN tenant_id text NOT NULL DEFAULT '{LEGACY_TENANT}';
        ALTER TABLE inbox ALTER COLUMN tenant_id DROP DEFAULT;
        ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
        ALTER TABLE inbox ADD CONSTRAINT inbox_pkey PRIMARY KEY (tenant_id, source, event_id);
      END IF;
    END $$
    """,
    # API keys may expire.
    "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at timestamp with time zone",
    # A tenant's wake-ups are kept (each task of a day consumes them by date, not by deleting
    # them); one pending from before wakes at the next day taken, as it would have.
    """
    DO $$
    BEGIN
      IF (
        SELECT count(*) FROM information_schema.key_column_usage
        WHERE table_schema = current_schema() AND table_name = 'tenant_wakes'
          AND constraint_name = 'tenant_wakes_pkey'
      ) = 1 THEN
        UPDATE tenant_wakes w SET wake_on = GREATEST(w.wake_on, b.business_date + 1)
          FROM business_dates b WHERE b.tenant_id = w.tenant_id;
        ALTER TABLE tenant_wakes DROP CONSTRAINT tenant_wakes_pkey;
        ALTER TABLE tenant_wakes ADD CONSTRAINT tenant_wakes_pkey PRIMARY KEY (tenant_id, wake_on);
      END IF;
    END $$
    """,
)


def upgrade_runtime_tables(operations: Any = op) -> None:
    """Bring the runtime's tables to their current shape (call from a service's revision whenever
    the runtime's tables change; safe to call on a database of any age)."""
    _upgrade(operations.get_bind())


def _upgrade(bind: Connection) -> None:
    runtime_metadata.create_all(bind)
    for step in _RUNTIME_STEPS:
        bind.execute(sa.text(step))


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
            # The runtime keeps its own tables current on every start, so a runtime change never
            # waits for each service to add a revision (the steps do nothing when already done).
            _upgrade(connection)

    async def run_async() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())
