"""Credit-check benchmark: `POST /v1/credit-checks` at a fixed rate (default 200 requests/s for
30 s) against the credit-assessment app started in-process on a loopback ephemeral port.

    uv run python services/credit-assessment/benchmarks/credit_check.py [--rate 200] [--duration 30]

It creates a fresh database on the local stack's PostgreSQL, seeds 100 buyers through the
service's own kernel (registered, adopted the default policy, an open invoice each), creates a
`write` key, then sends requests open-loop (each at its scheduled time, whatever the answers
before it), so a slow answer cannot slow the load down and hide itself. Latency counts from the
scheduled send; a request not answered within 10 s of the last send counts as an error. The app
runs in this process on its own event loop (a thread), so the load generator does not delay it. Every request is answered from the service's own state: nothing calls another
service. Targets (issue 13): p50 <= 5 ms, p99 <= 20 ms, zero errors. The client runs on the same
machine and competes with the app for CPU, so the figures are a ceiling on latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import threading
import time
import uuid
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_cli.stack import postgres_dsn, postgres_url
from arshield_credit_assessment.bootstrap import bootstrap
from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY
from arshield_credit_assessment.entrypoints.api import router
from arshield_credit_assessment.settings import CreditSettings
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.http import create_app
from arshield_runtime.messaging import BatchScope

TENANT = "bench"
BUYERS = 100
DAY = date(2024, 3, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(definition: object, engine: object) -> None:
    kernel = definition.state["kernel"]  # type: ignore[attr-defined]
    async with AsyncSession(engine) as session, session.begin():  # type: ignore[arg-type]
        scope = BatchScope()
        unit = kernel.unit_of_work(session, scope)
        for n in range(BUYERS):
            buyer = f"b-{n}"
            for command in (
                c.StartDay(DAY, DEFAULT_POLICY),
                c.RegisterBuyer(f"Buyer {n}", "DE", DAY),
                c.TrackInvoice(f"i-{n}", "EUR", Decimal(20_000), DAY, None, DAY, None),
            ):
                await unit.execute(TENANT, buyer, command, None)
        await scope.flush(session)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else 0


class Connection:
    """One keep-alive HTTP/1.1 connection: a minimal client, so the load generator (which shares
    the machine and the interpreter with the app) costs as little CPU as it can."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\nauthorization: Bearer {self.key}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answer = await self.reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(answer)


def check_body(n: int) -> dict[str, Any]:
    return {
        "buyer_id": f"b-{n % BUYERS}",
        "order_id": f"o-{n}",
        "amount": {"amount": str(1000 + n % 40_000), "currency": "EUR"},
        "payment_terms_days": 30,
    }


async def load(port: int, key: str, rate: float, seconds: float, connections: int) -> None:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def worker() -> None:
        connection = Connection("127.0.0.1", port, key)
        while (item := await queue.get()) is not None:
            n, scheduled = item
            try:
                status, answer = await connection.post("/v1/credit-checks", check_body(n))
                latencies.append(time.monotonic() - scheduled)
                statuses[str(status)] += 1
                if status == 200:
                    decisions[answer["decision"]] += 1
            except (OSError, ValueError, asyncio.IncompleteReadError) as error:
                errors[type(error).__name__] += 1
                connection = Connection("127.0.0.1", port, key)

    warm = Connection("127.0.0.1", port, key)
    alone = []
    for n in range(50):  # one at a time: connections, prepared statements, key cache
        started = time.monotonic()
        await warm.post("/v1/credit-checks", check_body(n))
        alone.append(time.monotonic() - started)
    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    total = int(rate * seconds)
    start = time.monotonic()
    for n in range(total):
        scheduled = start + n / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((n, scheduled))
    for _ in workers:
        queue.put_nowait(None)
    _done, late = await asyncio.wait(workers, timeout=30)
    for task in late:
        task.cancel()
    elapsed = time.monotonic() - start
    answered = len(latencies)
    failed = sum(v for k, v in statuses.items() if k != "200") + sum(errors.values())
    failed += total - answered - sum(errors.values())
    print(f"one request at a time: p50 {percentile(alone, 50) * 1000:.1f} ms")
    print(
        f"POST /v1/credit-checks: {total} requests at {rate:.0f}/s over {connections} connections,"
        f" all answered in {elapsed:.1f} s"
    )
    if latencies:
        print(
            f"  p50 {percentile(latencies, 50) * 1000:.1f} ms   p99 "
            f"{percentile(latencies, 99) * 1000:.1f} ms   max {max(latencies) * 1000:.1f} ms"
            " (from each request's scheduled send)"
        )
    print(f"  answered 200: {statuses.get('200', 0)}; errors: {failed} {dict(errors)}")
    print(f"  decisions: {dict(decisions)}")


def serve(settings: CreditSettings, definition: Any, ready: threading.Event) -> uvicorn.Server:
    """The app in-process, on its own event loop in a thread (the load generator's work does not
    delay the server's loop; they still share the interpreter and the machine)."""
    config = uvicorn.Config(
        "", host="127.0.0.1", port=settings.http_port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)

    async def run() -> None:
        engine = create_engine(settings.database_url, pool_size=10, max_overflow=5)
        app = create_app(settings, engine, routers=[router])
        for attribute, value in definition.state.items():
            setattr(app.state, attribute, value)
        config.app = app
        watcher = asyncio.create_task(_announce(server, ready))
        try:
            await server.serve()
        finally:
            watcher.cancel()
            await engine.dispose()

    threading.Thread(target=lambda: asyncio.run(run()), daemon=True).start()
    return server


async def _announce(server: uvicorn.Server, ready: threading.Event) -> None:
    while not server.started:
        await asyncio.sleep(0.02)
    ready.set()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    name = f"bench_credit_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_dsn("postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    settings = CreditSettings(
        database_url=postgres_url(name),
        http_port=free_port(),
        environment="test",
        rate_limit_per_second=100_000,
        rate_limit_burst=100_000,
    )
    definition = bootstrap(settings)
    server = None
    try:
        await migrate(definition.migrations, settings.database_url)
        engine = create_engine(settings.database_url, pool_size=2)
        await seed(definition, engine)
        key = await create_api_key(engine, tenant_id=TENANT, name="bench", scopes=["write"])
        await engine.dispose()
        ready = threading.Event()
        server = serve(settings, definition, ready)
        await asyncio.to_thread(ready.wait, 30)
        await load(settings.http_port, key, args.rate, args.duration, args.connections)
    finally:
        if server is not None:
            server.should_exit = True
            await asyncio.sleep(0.5)
        with contextlib.suppress(Exception):
            admin = await asyncpg.connect(postgres_dsn("postgres"))
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
