"""The platform's services as processes on this machine: which exist, how to start and stop them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from arshield_cli.stack import StackSettings, postgres_url
from arshield_cli.stack._proc import (
    StackError,
    pid_alive,
    port_open,
    read_pid,
    tail,
    terminate_group,
)
from arshield_cli.stack.settings import HOST
from arshield_events import topics


@dataclass(frozen=True)
class ServiceSpec:
    """One service as deployed locally (the native twin of its docker-compose entry)."""

    name: str
    module: str
    port: int
    topics: tuple[str, ...]
    publishes: str
    """The topic it writes its events and day markers to."""

    @property
    def source(self) -> str:
        """The CloudEvents `source` of what it emits."""
        return f"arshield/{self.name}"

    @property
    def env_prefix(self) -> str:
        return f"ARSHIELD_{self.name.upper().replace('-', '_')}_"

    @property
    def group_id(self) -> str:
        return f"arshield-{self.name}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def environment(self, stack: StackSettings) -> dict[str, str]:
        return {
            f"{self.env_prefix}DATABASE_URL": postgres_url(self.name, stack),
            f"{self.env_prefix}KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
            f"{self.env_prefix}HTTP_HOST": HOST,
            f"{self.env_prefix}HTTP_PORT": str(self.port),
            f"{self.env_prefix}TOPICS": json.dumps(list(self.topics)),
            f"{self.env_prefix}DAY_TOPICS": json.dumps(self.day_topics),
        }

    @property
    def day_topics(self) -> list[str]:
        """Whose day markers bring it its business days: what it reads from upstream."""
        return [topic for topic in self.topics if topic not in (topics.CLOCK, self.publishes)]


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ledger", "arshield_ledger", 8101, (topics.ERP, topics.CLOCK), topics.LEDGER),
    ServiceSpec(
        "dunning",
        "arshield_dunning",
        8102,
        (topics.ERP, topics.LEDGER, topics.CLOCK, topics.RISK, topics.DUNNING),
        topics.DUNNING,
    ),
    ServiceSpec(
        "risk-monitor",
        "arshield_risk_monitor",
        8103,
        (topics.ERP, topics.LEDGER, topics.EXTERNAL, topics.CLOCK, topics.RISK),
        topics.RISK,
    ),
    ServiceSpec(
        "credit-assessment",
        "arshield_credit_assessment",
        8104,
        (
            topics.ERP,
            topics.LEDGER,
            topics.RISK,
            topics.INSURANCE,
            topics.EXTERNAL,
            topics.CLOCK,
            topics.CREDIT,
        ),
        topics.CREDIT,
    ),
    ServiceSpec(
        "insurance-claims",
        "arshield_insurance_claims",
        8105,
        (topics.ERP, topics.LEDGER, topics.RISK, topics.DUNNING, topics.CLOCK, topics.INSURANCE),
        topics.INSURANCE,
    ),
)


def service(name: str) -> ServiceSpec:
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise KeyError(name)


def _run_dir(stack: StackSettings) -> Path:
    path = stack.state_dir / "services"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_of(spec: ServiceSpec, stack: StackSettings) -> int | None:
    pid = read_pid(_run_dir(stack) / f"{spec.name}.pid")
    return pid if pid_alive(pid) else None


def log_file(spec: ServiceSpec, stack: StackSettings) -> Path:
    return _run_dir(stack) / f"{spec.name}.log"


def start(spec: ServiceSpec, stack: StackSettings, extra_env: dict[str, str] | None = None) -> int:
    """Start the service detached (own session, pid file, log file) unless it runs already."""
    pid = pid_of(spec, stack)
    if pid:
        return pid
    deadline = time.monotonic() + 15  # a process just stopped may still hold it for a moment
    while port_open(HOST, spec.port):
        if time.monotonic() > deadline:
            raise StackError(f"{spec.name}: port {HOST}:{spec.port} is taken by another process")
        time.sleep(0.2)
    env = {**os.environ, **spec.environment(stack), **(extra_env or {})}
    with log_file(spec, stack).open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", spec.module, "serve"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (_run_dir(stack) / f"{spec.name}.pid").write_text(f"{process.pid}\n")
    return process.pid


def wait_ready(spec: ServiceSpec, stack: StackSettings, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_of(spec, stack):
            raise StackError(f"{spec.name} exited:\n{tail(log_file(spec, stack))}")
        try:
            if httpx.get(f"{spec.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise StackError(f"{spec.name} not ready after {timeout:.0f}s:\n{tail(log_file(spec, stack))}")


def stop(spec: ServiceSpec, stack: StackSettings, *, kill: bool = False) -> bool:
    pid = pid_of(spec, stack)
    if not pid:
        return False
    terminate_group(pid, timeout=0.0 if kill else 30.0)
    return True


def create_key(spec: ServiceSpec, stack: StackSettings, tenant: str, scopes: str, name: str) -> str:
    """Create an API key through the service's own admin command."""
    result = subprocess.run(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            spec.module,
            "keys",
            "create",
            "--tenant",
            tenant,
            "--scopes",
            scopes,
            "--name",
            name,
        ],
        env={**os.environ, **spec.environment(stack)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"could not create a {spec.name} key:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def kill(spec: ServiceSpec, stack: StackSettings, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to the service's process group and wait for it to die (crash tests)."""
    pid = pid_of(spec, stack)
    if not pid:
        return
    os.killpg(pid, sig)
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
