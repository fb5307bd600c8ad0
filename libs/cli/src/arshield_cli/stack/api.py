"""`up`, `down`, `status`, `reset`: the python API behind `arshield stack`, for fixtures too."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import shutil
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from arshield_cli.stack import kafka, postgres
from arshield_cli.stack._proc import StackError, port_open, state_lock
from arshield_cli.stack.settings import HOST, StackSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    pid: int | None
    port: int
    address: str
    data_dir: Path
    log_file: Path


@dataclass(frozen=True)
class StackInfo:
    """What `up` left running."""

    kafka_pid: int
    postgres_pid: int
    kafka_bootstrap: str
    postgres_urls: dict[str, str]
    started: bool  # False when everything was already running
    created_topics: list[str]
    created_databases: list[str]
    seconds: float


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, also when called inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def aup(settings: StackSettings | None = None) -> StackInfo:
    """Start Kafka and PostgreSQL if needed and wait until both serve; create topics and databases.

    Idempotent: when both already run this checks they answer and returns (well under a second).
    """
    s = settings or StackSettings()
    began = time.monotonic()
    with state_lock(s.state_dir):
        kafka_was, pg_was = kafka.running_pid(s), postgres.running_pid(s)
        try:
            kafka_pid = kafka.start(s)  # detached; the JVM boots while PostgreSQL starts
            pg_pid = postgres.start(s)
            await asyncio.gather(kafka.wait_ready(s, kafka_pid), postgres.wait_ready(s))
            topics, dbs = await asyncio.gather(
                kafka.ensure_topics(s.kafka_bootstrap),
                postgres.ensure_databases(s.postgres_url("postgres", "postgresql"), s.databases),
            )
        except BaseException:
            # leave nothing half-started by this call behind
            if not kafka_was:
                kafka.stop(s)
            if not pg_was:
                postgres.stop(s)
            raise
    info = StackInfo(
        kafka_pid=kafka_pid,
        postgres_pid=pg_pid,
        kafka_bootstrap=s.kafka_bootstrap,
        postgres_urls={db: s.postgres_url(db) for db in s.databases},
        started=not (kafka_was and pg_was),
        created_topics=topics,
        created_databases=dbs,
        seconds=time.monotonic() - began,
    )
    log.info("stack ready in %.1fs", info.seconds)
    return info


async def init_external(
    kafka_bootstrap: str, postgres_admin_dsn: str, databases: list[str]
) -> None:
    """Create topics and databases on a stack run by someone else (docker compose, a cluster)."""
    deadline = time.monotonic() + 180
    while True:
        try:
            await kafka.ensure_topics(kafka_bootstrap)
            await postgres.ensure_databases(postgres_admin_dsn, databases)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for Kafka and PostgreSQL at %s", kafka_bootstrap)
            await asyncio.sleep(2)


def up(settings: StackSettings | None = None) -> StackInfo:
    """Sync wrapper of `aup`."""
    return _run(aup(settings))


def down(settings: StackSettings | None = None) -> list[str]:
    """Stop both, keeping their data. Returns the names of the components that were stopped."""
    s = settings or StackSettings()
    stopped: list[str] = []
    with state_lock(s.state_dir):
        # Kafka first: its clients (services) may still flush; PostgreSQL holds only derived state
        if kafka.stop(s):
            stopped.append("kafka")
        if postgres.stop(s):
            stopped.append("postgres")
    return stopped


def reset(settings: StackSettings | None = None) -> None:
    """Stop both and wipe all their data (the shared jar cache is kept)."""
    s = settings or StackSettings()
    down(s)
    with state_lock(s.state_dir):
        postgres.wipe(s)
        shutil.rmtree(kafka.paths(s).home, ignore_errors=True)
        for entry in s.state_dir.iterdir() if s.state_dir.exists() else []:
            if entry.name == ".lock":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def status(settings: StackSettings | None = None) -> list[ComponentStatus]:
    s = settings or StackSettings()
    kp, pp = kafka.paths(s), postgres.paths(s)
    k_pid, p_pid = kafka.running_pid(s), postgres.running_pid(s)
    return [
        ComponentStatus(
            name=f"kafka {s.kafka_version}",
            running=k_pid is not None and port_open(HOST, s.kafka_port),
            pid=k_pid,
            port=s.kafka_port,
            address=s.kafka_bootstrap,
            data_dir=kp.data,
            log_file=kp.log_file,
        ),
        ComponentStatus(
            name="postgres",
            running=p_pid is not None and port_open(HOST, s.pg_port),
            pid=p_pid,
            port=s.pg_port,
            address=f"{HOST}:{s.pg_port}",
            data_dir=pp.data,
            log_file=pp.log_file,
        ),
    ]


def is_running(settings: StackSettings | None = None) -> bool:
    return all(c.running for c in status(settings))


__all__ = [
    "ComponentStatus",
    "StackError",
    "StackInfo",
    "aup",
    "down",
    "init_external",
    "is_running",
    "reset",
    "status",
    "up",
]
