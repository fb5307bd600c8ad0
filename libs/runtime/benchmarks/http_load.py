"""HTTP load benchmark: many concurrent clients against ledger reads, dunning reads and ingestion.

    uv run python libs/runtime/benchmarks/http_load.py [--duration 30] [--clients 200]

By default it starts its own ledger and dunning (`python -m arshield_<svc> serve`) on loopback
ports 18101/18102, over fresh databases on the local stack's PostgreSQL and fresh, empty input
topics on its Kafka (so they replay nothing), creates keys for a fresh tenant with the services'
`keys create` command, runs the load, and stops and drops everything it started. With
`--ledger-url`, `--dunning-url`, `--ledger-key` and `--dunning-key` it targets running services.

The mixed phase spreads the clients over three workloads (ledger reads, dunning reads,
`POST /v1/events` on the ledger, which publishes to the ERP topic under the fresh tenant); a
baseline phase then sends `/healthz` with the same concurrency, so the figures can be read against
what the server, the event loop and the client itself cost. Rate limits are raised for the run:
this measures capacity, not the limiter. The client runs on the same machine and competes with
the services for CPU, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

READS = {
    "ledger": [
        "/v1/invoices?limit=20",
        "/v1/portfolio/ageing",
        "/v1/buyers/b-1/balance",
        "/v1/anomalies?limit=20",
    ],
    "dunning": ["/v1/cases?limit=20", "/v1/policies", "/v1/promises?limit=20"],
}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def record(self, workload: str, status: int, latency: float) -> None:
        self.latencies[workload].append(latency)
        self.statuses[workload][f"{status // 100}xx"] += 1


@dataclass
class Target:
    ledger: str
    dunning: str
    ledger_key: str
    dunning_key: str
    tenant: str


def invoice(tenant: str) -> dict[str, Any]:
    n = uuid.uuid4().hex[:12]
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "erp/bench",
        "type": "arshield.erp.InvoiceIssued.v1",
        "subject": "b-1",
        "time": "2024-03-01T09:00:00Z",
        "tenantid": tenant,
        "data": {
            "invoice_id": f"inv-{n}",
            "invoice_number": f"B-{n}",
            "buyer_id": "b-1",
            "issued_on": "2024-03-01",
            "due_on": "2024-03-31",
            "amount": {"amount": "100.00", "currency": "EUR"},
            "payment_terms_days": 30,
        },
    }


async def client_loop(
    http: httpx.AsyncClient,
    workload: str,
    request: Callable[[int], Any],
    deadline: float,
    results: Results,
) -> None:
    n = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            response = await request(n)
            results.record(workload, response.status_code, time.monotonic() - started)
        except httpx.HTTPError as error:
            results.errors[f"{workload}: {type(error).__name__}"] += 1
        n += 1


async def run_phase(target: Target, clients: int, seconds: float, workloads: list[str]) -> Results:
    results = Results()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        ledger_auth = {"Authorization": f"Bearer {target.ledger_key}"}
        dunning_auth = {"Authorization": f"Bearer {target.dunning_key}"}
        ingest_headers = {**ledger_auth, "content-type": "application/cloudevents+json"}

        def requester(workload: str, index: int) -> Callable[[int], Any]:
            if workload == "ledger reads":
                paths = READS["ledger"]
                return lambda n: http.get(
                    target.ledger + paths[(index + n) % len(paths)], headers=ledger_auth
                )
            if workload == "dunning reads":
                paths = READS["dunning"]
                return lambda n: http.get(
                    target.dunning + paths[(index + n) % len(paths)], headers=dunning_auth
                )
            if workload == "ingestion":
                return lambda n: http.post(
                    target.ledger + "/v1/events",
                    json=invoice(target.tenant),
                    headers=ingest_headers,
                )
            base = target.ledger if index % 2 else target.dunning
            return lambda n: http.get(base + "/healthz")

        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *[
                client_loop(
                    http,
                    workloads[i % len(workloads)],
                    requester(workloads[i % len(workloads)], i),
                    deadline,
                    results,
                )
                for i in range(clients)
            ]
        )
        results.seconds = time.monotonic() - started
    return results


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(name: str, results: Results) -> dict[str, float]:
    total = sum(sum(c.values()) for c in results.statuses.values())
    print(
        f"\n== {name}: {total} requests in {results.seconds:.1f} s "
        f"({total / results.seconds:.0f} req/s)"
    )
    print(f"{'workload':<16}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    summary: dict[str, float] = {"throughput": total / results.seconds}
    for workload, latencies in sorted(results.latencies.items()):
        statuses = results.statuses[workload]
        p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
        summary[f"{workload} p50"], summary[f"{workload} p99"] = p50, p99
        print(
            f"{workload:<16}{len(latencies):>9}{len(latencies) / results.seconds:>8.0f}"
            f"{p50:>9.1f}{p99:>9.1f}  {dict(sorted(statuses.items()))}"
        )
    fives = sum(c["5xx"] for c in results.statuses.values())
    print(
        f"5xx: {fives} ({'OK, none' if fives == 0 else 'FAILED'}); "
        f"transport errors: {dict(results.errors) or 'none'}"
    )
    summary["5xx"] = fives + sum(results.errors.values())
    return summary


# --- services started for the run ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def started_services(args: argparse.Namespace) -> AsyncIterator[Target]:
    """Fresh databases and topics, ledger and dunning on loopback; all removed afterwards."""
    import asyncpg
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from arshield_cli.stack import kafka_bootstrap, postgres_dsn, postgres_url
    from arshield_events import topics

    run = uuid.uuid4().hex[:8]
    tenant = f"bench-{run}"
    bootstrap = kafka_bootstrap()
    databases = {svc: f"bench_{svc}_{run}" for svc in ("ledger", "dunning")}
    inputs = {
        "ledger": [topics.ERP, topics.CLOCK],
        "dunning": [topics.ERP, topics.LEDGER, topics.CLOCK, topics.RISK, topics.DUNNING],
    }
    names = sorted({f"{t}.bench-{run}" for ts in inputs.values() for t in ts})
    names += [f"{t}.dlq" for t in names]
    processes: list[subprocess.Popen[bytes]] = []
    logs = Path(tempfile.mkdtemp(prefix="http-load-"))
    admin_dsn = postgres_dsn("postgres")
    connection = await asyncpg.connect(admin_dsn)
    try:
        for name in databases.values():
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 1, 1) for n in names])
        ports = {"ledger": args.ledger_port, "dunning": args.dunning_port}
        for svc in ("ledger", "dunning"):
            prefix = f"ARSHIELD_{svc.upper()}_"
            env = {
                **os.environ,
                f"{prefix}DATABASE_URL": postgres_url(databases[svc]),
                f"{prefix}KAFKA_BOOTSTRAP": bootstrap,
                f"{prefix}HTTP_HOST": "127.0.0.1",
                f"{prefix}HTTP_PORT": str(ports[svc]),
                f"{prefix}CONSUMER_GROUP": f"bench-{svc}-{run}",
                f"{prefix}TOPICS": "[" + ",".join(f'"{t}.bench-{run}"' for t in inputs[svc]) + "]",
                f"{prefix}RATE_LIMIT_PER_SECOND": "1000000",
                f"{prefix}RATE_LIMIT_BURST": "1000000",
            }
            log = (logs / f"{svc}.log").open("wb")
            processes.append(spawn(svc, env, log))

        urls = {svc: f"http://127.0.0.1:{port}" for svc, port in ports.items()}
        await wait_ready(urls, processes, logs)
        keys = {}
        for svc in ("ledger", "dunning"):
            env = {
                **os.environ,
                f"ARSHIELD_{svc.upper()}_DATABASE_URL": postgres_url(databases[svc]),
            }
            keys[svc] = await asyncio.to_thread(create_key, svc, env, tenant)
        yield Target(urls["ledger"], urls["dunning"], keys["ledger"], keys["dunning"], tenant)
    finally:
        for process in processes:
            stop(process)
        with contextlib.suppress(Exception):
            await admin.delete_topics(names)
        await admin.close()
        connection = await asyncpg.connect(admin_dsn)
        try:
            for name in databases.values():
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
        print(f"\nservice logs: {logs}")


async def wait_ready(
    urls: dict[str, str], processes: list[subprocess.Popen[bytes]], logs: Path
) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=2) as http:
        for url in urls.values():
            while True:
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError(f"a service exited early; see {logs}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"services not ready after 120 s; see {logs}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url + "/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.5)


def spawn(svc: str, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", f"arshield_{svc}", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as one
    )


def create_key(svc: str, env: dict[str, str], tenant: str) -> str:
    command = [sys.executable, "-m", f"arshield_{svc}", "keys", "create", "--tenant", tenant]
    command += ["--scopes", "read,write", "--name", "bench", "--expires-in-days", "1"]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the service's process group, then SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --- main ------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    if args.ledger_url:
        target = Target(
            args.ledger_url.rstrip("/"),
            args.dunning_url.rstrip("/"),
            args.ledger_key,
            args.dunning_key,
            args.tenant,
        )
        return await benchmark(target, args)
    async with started_services(args) as target:
        return await benchmark(target, args)


async def benchmark(target: Target, args: argparse.Namespace) -> int:
    print(
        f"{args.clients} clients, {args.duration:g} s mixed load, "
        f"{args.baseline:g} s baseline; ledger {target.ledger}, dunning {target.dunning}"
    )
    # A short warm-up: the first requests fill the key caches and the connection pools.
    await run_phase(target, min(args.clients, 20), 2, ["ledger reads", "dunning reads"])
    mixed = report(
        "mixed load",
        await run_phase(
            target, args.clients, args.duration, ["ledger reads", "dunning reads", "ingestion"]
        ),
    )
    baseline = report(
        "baseline: /healthz", await run_phase(target, args.clients, args.baseline, ["healthz"])
    )
    print("\n== against the baseline")
    print(
        f"throughput: {mixed['throughput']:.0f} vs {baseline['throughput']:.0f} req/s "
        f"({mixed['throughput'] / baseline['throughput']:.2f}x)"
    )
    for workload in ("ledger reads", "dunning reads", "ingestion"):
        ratio = mixed[f"{workload} p50"] / baseline["healthz p50"]
        print(
            f"{workload} p50: {mixed[f'{workload} p50']:.1f} ms "
            f"= {ratio:.1f}x the /healthz p50 ({baseline['healthz p50']:.1f} ms)"
        )
    failed = mixed["5xx"] + baseline["5xx"]
    print(f"\nzero-5xx check: {'PASSED' if failed == 0 else f'FAILED ({failed:.0f})'}")
    return 0 if failed == 0 else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0, help="mixed phase seconds")
    parser.add_argument("--baseline", type=float, default=None, help="default: duration / 3")
    parser.add_argument("--ledger-port", type=int, default=18101)
    parser.add_argument("--dunning-port", type=int, default=18102)
    parser.add_argument("--ledger-url")
    parser.add_argument("--dunning-url")
    parser.add_argument("--ledger-key", help="read+write key, with --ledger-url")
    parser.add_argument("--dunning-key", help="read key, with --dunning-url")
    parser.add_argument("--tenant", help="the keys' tenant, with --ledger-url")
    args = parser.parse_args()
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 300:
        parser.error("use 1..1000 clients and at most 300 s")
    targets = [args.ledger_url, args.dunning_url, args.ledger_key, args.dunning_key, args.tenant]
    if any(targets) and not all(targets):
        parser.error("--ledger-url needs --dunning-url, both keys and --tenant")
    args.baseline = args.baseline or max(args.duration / 3, 5.0)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
