"""PostgreSQL `LISTEN/NOTIFY`: how the outbox relay and the webhook dispatcher learn that another
connection (another request, another instance) committed work for them, without polling.

A writer sends `notify_statement(channel)` in the transaction that wrote the rows; PostgreSQL
delivers the notification only when that transaction commits, so a listener woken by it finds
the rows. The listener keeps one connection of its own (not from the engine's pool: it is held
for the process's lifetime). A notification sent while it is disconnected is lost, so it reports a
wake after every (re)connection, and its owner keeps a slow safety poll besides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "arshield_outbox"
"""Notified by every transaction that writes outbox rows (a database holds one service's rows)."""


def notify_statement(channel: str) -> sa.TextClause:
    """`pg_notify(channel)` as a statement for the writer's own transaction (delivered on commit;
    PostgreSQL folds identical notifications of one transaction into one)."""
    return sa.text("SELECT pg_notify(:channel, '')").bindparams(channel=channel)


def asyncpg_dsn(url: URL | str) -> str:
    """The plain `postgresql://` DSN asyncpg takes, from a SQLAlchemy URL (`postgresql+asyncpg`)."""
    parsed = sa.make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """Keeps a `LISTEN channel` open on its own connection to `engine`'s database, and calls
    `on_wake` for every notification and after every (re)connection.

    A dropped connection (a database restart, a terminated backend) is noticed when its socket
    closes, or at the latest by the liveness check every `check_seconds`, and reopened with
    backoff. `connected` is set while the listener is listening (tests wait on it).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        channel: str,
        on_wake: Callable[[], None],
        *,
        check_seconds: float = 30.0,
        application_name: str = "arshield-listener",
    ) -> None:
        self._engine = engine
        self.channel = channel
        self._on_wake = on_wake
        self._check_seconds = check_seconds
        self._application_name = application_name
        self.connected = asyncio.Event()
        self.connections = 0
        """How many times the listener has connected (tests see a reconnection)."""

    async def run(self) -> None:
        dsn = asyncpg_dsn(self._engine.url)
        backoff = 0.2
        while True:
            try:
                connection: asyncpg.Connection = await asyncpg.connect(
                    dsn,
                    timeout=10,
                    server_settings={"application_name": self._application_name},
                )
            except Exception as error:  # the database is down or starting: wait it out
                log.warning(
                    "cannot listen on %s (%r); retrying in %.1fs", self.channel, error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.2
            try:
                await self._listen(connection)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "listener on %s lost its connection (%r); reconnecting", self.channel, error
                )
            finally:
                self.connected.clear()
                connection.terminate()

    async def _listen(self, connection: asyncpg.Connection) -> None:
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _connection: closed.set())
        await connection.add_listener(self.channel, self._notified)
        self.connections += 1
        self.connected.set()
        self._on_wake()  # whatever was committed while no one listened
        while not closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), timeout=self._check_seconds)
            if not closed.is_set():
                # A connection whose server vanished without closing the socket looks alive.
                await asyncio.wait_for(connection.fetchval("SELECT 1"), timeout=10)
        raise ConnectionError("the listening connection closed")

    def _notified(self, *_: Any) -> None:
        self._on_wake()
