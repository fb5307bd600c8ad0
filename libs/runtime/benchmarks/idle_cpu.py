"""Idle CPU: what one real service process costs while nothing happens.

Starts `python -m arshield_ledger serve` against a database created for the run, fresh copies of
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
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from arshield_cli.stack import kafka_bootstrap, postgres_dsn, postgres_url, up

REPOSITORY = Path(__file__).resolve().parents[3]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def baseline_sources(ref: str, into: Path) -> list[Path]:
    """The `src` directories of `ref`'s libraries and services, extracted under `into`."""
    archive = into / "ref.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(REPOSITORY), "archive", ref, "libs", "services"],
            stdout=out,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return sorted([*into.glob("libs/*/src"), *into.glob("services/*/src")])


@dataclass
class Run:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path


def start(label: str, database: str, topics: list[str], sources: list[Path], logs: Path) -> Run:
    port = free_port()
    env = dict(os.environ)
    if sources:
        env["PYTHONPATH"] = os.pathsep.join(str(s) for s in sources)
    env.update(
        {
            "ARSHIELD_LEDGER_DATABASE_URL": database,
            "ARSHIELD_LEDGER_KAFKA_BOOTSTRAP": kafka_bootstrap(),
            "ARSHIELD_LEDGER_HTTP_PORT": str(port),
            "ARSHIELD_LEDGER_TOPICS": json.dumps(topics),
            "ARSHIELD_LEDGER_CONSUMER_GROUP": f"bench-idle-{uuid.uuid4().hex[:8]}",
        }
    )
    log = logs / f"{label}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "arshield_ledger", "serve"],
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


async def main(seconds: float, settle: float, baseline: str) -> None:
    up()
    bootstrap = kafka_bootstrap()
    labels = ["this checkout", *([f"baseline {baseline}"] if baseline else [])]
    suffix = uuid.uuid4().hex[:8]
    topics = {label: [f"bench.idle.{i}.{suffix}.erp", f"bench.idle.{i}.{suffix}.clock"]
              for i, label in enumerate(labels)}
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
                runs.append(start(label, postgres_url(databases[label]), topics[label], sources, work))
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
                    f"({used:.2f} s CPU in {elapsed:.0f} s idle, ledger serve)"
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
    parser.add_argument("--seconds", type=float, default=60.0, help="idle time measured")
    parser.add_argument("--settle", type=float, default=10.0, help="wait after ready")
    parser.add_argument(
        "--baseline", default="main", help="git ref to measure too ('' for none)"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.settle, arguments.baseline))
