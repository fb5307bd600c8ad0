"""Database plumbing: the async engine, the runtime's own tables, and migrations on start."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

runtime_metadata = sa.MetaData()

LEGACY_TENANT = "*"
"""The inbox tenant of rows handled before the key held the tenant: a duplicate for every tenant."""

inbox = sa.Table(
    "inbox",
    runtime_metadata,
    # One tenant's event ids never shadow another's (ARCHITECTURE decision 4).
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column(
        "handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

outbox = sa.Table(
    "outbox",
    runtime_metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("headers", pg.JSONB, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

api_keys = sa.Table(
    "api_keys",
    runtime_metadata,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("key_hash", sa.Text, nullable=False, unique=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
)


buyer_states = sa.Table(
    "buyer_states",
    runtime_metadata,
    # The kernel's snapshot of each buyer's decision state, and when it next needs a tick.
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("state", pg.JSONB, nullable=False),
    sa.Column("wake_on", sa.Date),
    sa.Index("buyer_states_due", "tenant_id", "wake_on"),
)

business_dates = sa.Table(
    "business_dates",
    runtime_metadata,
    # The tenant's business date: the latest business-day tick consumed.
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, nullable=False),
)

day_marks = sa.Table(
    "day_marks",
    runtime_metadata,
    # Business time taken from the log: the latest day marker consumed, per tenant, from each
    # partition of the topics that gate the service's business days (`arshield_runtime.days`).
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("closing", sa.Boolean, nullable=False),
)

days_marked = sa.Table(
    "days_marked",
    runtime_metadata,
    # The latest day marker the service wrote, per tenant and task (partition number), into that
    # partition of the topics it publishes.
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("task", sa.Integer, primary_key=True),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("closing", sa.Boolean, nullable=False),
)

tenant_wakes = sa.Table(
    "tenant_wakes",
    runtime_metadata,
    # Every buyer of the tenant is due on this date (a configuration version takes effect then),
    # whatever its own wake-up date: the first day each task takes on or after it wakes them all.
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("wake_on", sa.Date, primary_key=True),
)

configurations = sa.Table(
    "configurations",
    runtime_metadata,
    # What was configured for a tenant, in the order it was read from the log: the tenant's
    # profile, and each service's versioned configuration (a policy, a scorecard). Each version is
    # in force from its effective date; on one date, the one read last wins.
    sa.Column("position", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("body", pg.JSONB, nullable=False),
    sa.UniqueConstraint("tenant_id", "kind", "event_id", name="configurations_event"),
    sa.Index("configurations_in_force", "tenant_id", "kind", "effective_on"),
)


class BulkInsert:
    """`INSERT INTO table (columns) SELECT FROM unnest(<one array per column>)`.

    Any number of rows in one statement and one round trip, with a fixed SQL text (prepared once
    per connection) and no per-row work in SQLAlchemy: each column travels as one typed array.
    Rows keep their order (`WITH ORDINALITY`), so identity values are drawn in row order. `conflict`
    names the unique columns: with `update`, those columns take the new row's values (an upsert,
    each key at most once per call); without, a conflicting row is skipped. `returning` columns
    come back for the rows actually inserted or updated.
    """

    def __init__(
        self,
        table: sa.Table,
        columns: Sequence[str],
        *,
        conflict: Sequence[str] = (),
        update: Sequence[str] = (),
        returning: Sequence[str] = (),
    ) -> None:
        dialect = pg.dialect()  # type: ignore[no-untyped-call]
        quote = dialect.identifier_preparer.quote
        self.columns = tuple(columns)
        arrays, selected = [], []
        for i, name in enumerate(self.columns):
            column_type = table.c[name].type
            if isinstance(column_type, pg.JSONB):  # values travel as JSON text
                arrays.append(f"CAST(:c{i} AS text[])")
                selected.append(f"CAST(u.c{i} AS jsonb)")
            else:
                arrays.append(f"CAST(:c{i} AS {column_type.compile(dialect=dialect)}[])")
                selected.append(f"u.c{i}")
        names = ", ".join(f"c{i}" for i in range(len(self.columns)))
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) "
            f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) "
            f"WITH ORDINALITY AS u({names}, ordinality) ORDER BY u.ordinality"
        )
        if conflict:
            target = ", ".join(quote(c) for c in conflict)
            if update:
                assignments = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update)
                sql += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
            else:
                sql += f" ON CONFLICT ({target}) DO NOTHING"
        if returning:
            sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
        self.statement = sa.text(sql)

    async def execute(
        self, session: AsyncSession | AsyncConnection, rows: Sequence[Sequence[Any]]
    ) -> sa.CursorResult[Any] | None:
        """Insert `rows` (tuples in `columns` order); None when there are none."""
        if not rows:
            return None
        arrays = zip(*rows, strict=True)
        params = {f"c{i}": list(values) for i, values in enumerate(arrays)}
        return await session.execute(self.statement, params)  # type: ignore[return-value]


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    ping_after_idle_seconds: float = 1.0,
) -> AsyncEngine:
    """An asyncpg engine with a bounded pool.

    `pool_timeout` bounds how long a caller waits for a connection when all `pool_size +
    max_overflow` are in use; the HTTP layer keeps it short and answers 503 when it expires, so an
    exhausted pool sheds load instead of queueing requests until their clients give up.

    A connection idle in the pool for `ping_after_idle_seconds` or more is pinged when checked out
    and replaced if the database dropped it (a restart, an idle timeout). One in steady use is not:
    a ping at every checkout costs a BEGIN, a query and a ROLLBACK, more round trips than a short
    request's own work.
    """
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
    )
    sa.event.listen(engine.sync_engine, "checkin", _checked_in)
    sa.event.listen(
        engine.sync_engine, "checkout", functools.partial(_checked_out, ping_after_idle_seconds)
    )
    return engine


_CHECKED_IN_AT = "arshield_checked_in_at"


def _checked_in(dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_CHECKED_IN_AT] = time.monotonic()


def _ping(dbapi_connection: Any) -> None:
    dbapi_connection.ping()


def _checked_out(idle: float, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that has been idle (a new one has just proved itself by connecting); a
    dead one makes the pool connect afresh and try again."""
    checked_in_at = record.info.get(_CHECKED_IN_AT)
    if checked_in_at is None or time.monotonic() - checked_in_at < idle:
        return
    try:
        _ping(dbapi_connection)
    except Exception as error:
        raise sa_exc.DisconnectionError(f"pooled connection dropped: {error}") from error


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(script_location: Path, url: str) -> None:
    """Bring the service's database to the newest revision (run on start)."""
    await asyncio.to_thread(command.upgrade, alembic_config(script_location, url), "head")
