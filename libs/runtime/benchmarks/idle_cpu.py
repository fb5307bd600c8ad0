"""Idle CPU: what one real service process costs while nothing happens.

Starts `python -m arshield_<service> serve` (`--service`, default ledger) against a database created for the run, fresh copies of
its topics on the stack's Kafka and a free loopback port, waits until it answers `/readyz` and has
settled, then reads its CPU time (user + system, from /proc) over `--seconds` of silence and prints
it as a percentage of one core. The same is done, in the same run and at the same time, for the
code of a baseline git ref (`--baseline`, default `main`; its `libs/*/src` and `services/*/src`,
taken with `git archive`, go first on the path; the dependencies are this checkout's).

    uv run python libs/runtime/benchmarks/idle_cpu.py --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from arshield_cli.baseline import baseline_sources
from arshield_cli.stack import kafka_bootstrap, postgres_dsn, postgres_url, up
from arshield_runtime.settings import ServiceSettings

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def default_topics(service: str) -> list[str]:
    """The topics the service consumes unless configured otherwise."""
    module = importlib.import_module(f"arshield_{service}.settings")
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, ServiceSettings)
            and value.__module__ == module.__name__
        ):
            factory = value.model_fields["topics"].default_factory
            return list(factory())  # type: ignore[call-arg,misc]
    raise LookupError(f"no settings class in arshield_{service}.settings")


@dataclass
class Run:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path


def start(
    service: str, label: str, database: str, topics: list[str], sources: list[Path], logs: Path
) -> Run:
    port = free_port()
    env = dict(os.environ)
    if sources:
        env["PYTHONPATH"] = os.pathsep.join(str(s) for s in sources)
    prefix = f"ARSHIELD_{service.upper()}_"
    env.update(
        {
            f"{prefix}DATABASE_URL": database,
            f"{prefix}KAFKA_BOOTSTRAP": kafka_bootstrap(),
            f"{prefix}HTTP_PORT": str(port),
            f"{prefix}TOPICS": json.dumps(topics),
            f"{prefix}CONSUMER_GROUP": f"bench-idle-{uuid.uuid4().hex[:8]}",
        }
    )
    log = logs / f"{label.replace(' ', '-')}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", f"arshield_{service}", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=logs,
        )
    return Run(label, process, port, log)


async def ready(run: Run, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if run.process.poll() is not None:
                raise RuntimeError(f"{run.label} exited: {run.log.read_text()[-2000:]}")
            try:
                response = await client.get(f"http://127.0.0.1:{run.port}/readyz", timeout=2)
                if response.status_code == 200 and "running" in run.log.read_text():
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{run.label} not ready after {timeout}s: {run.log.read_text()[-2000:]}")


async def main(service: str, seconds: float, settle: float, baseline: str) -> None:
    up()
    bootstrap = kafka_bootstrap()
    labels = ["this checkout", *([f"baseline {baseline}"] if baseline else [])]
    suffix = uuid.uuid4().hex[:8]
    # Fresh copies of what the service consumes and publishes (each copy is empty and private).
    topics = {
        label: [f"{topic}.idle{i}.{suffix}" for topic in default_topics(service)]
        for i, label in enumerate(labels)
    }
    every_topic = [t for names in topics.values() for name in names for t in (name, f"{name}.dlq")]
    databases = {label: f"bench_idle_{i}_{suffix}" for i, label in enumerate(labels)}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(name, 6, 1) for name in every_topic])
    await admin.close()
    postgres = await asyncpg.connect(postgres_dsn("postgres"))
    for name in databases.values():
        await postgres.execute(f'CREATE DATABASE "{name}"')
    runs: list[Run] = []
    try:
        with tempfile.TemporaryDirectory(prefix="idle-cpu-") as scratch:
            work = Path(scratch)
            for label in labels:
                sources = baseline_sources(baseline, work / "ref") if label != labels[0] else []
                database = postgres_url(databases[label])
                runs.append(start(service, label, database, topics[label], sources, work))
            await asyncio.gather(*(ready(run) for run in runs))
            await asyncio.sleep(settle)  # group joined, first fetches and metadata done
            before = {run.label: cpu_seconds(run.process.pid) for run in runs}
            started = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - started
            after = {run.label: cpu_seconds(run.process.pid) for run in runs}
            for run in runs:
                used = after[run.label] - before[run.label]
                print(
                    f"idle CPU, {run.label:<20}: {100 * used / elapsed:6.2f} % of a core "
                    f"({used:.2f} s CPU in {elapsed:.0f} s idle, {service} serve)"
                )
            if len(runs) == 2:
                ours, theirs = (after[r.label] - before[r.label] for r in runs)
                print(f"ratio this/baseline         : {ours / theirs if theirs else 0:6.3f}")
    finally:
        for run in runs:
            run.process.terminate()
        for run in runs:
            try:
                run.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                run.process.kill()
        for name in databases.values():
            await postgres.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await postgres.close()
        cleanup = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await cleanup.start()
        await cleanup.delete_topics(every_topic)
        await cleanup.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", default="ledger", help="ledger, dunning, ...")
    parser.add_argument("--seconds", type=float, default=60.0, help="idle time measured")
    parser.add_argument("--settle", type=float, default=10.0, help="wait after ready")
    parser.add_argument("--baseline", default="main", help="git ref to measure too ('' for none)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.service, arguments.seconds, arguments.settle, arguments.baseline))
