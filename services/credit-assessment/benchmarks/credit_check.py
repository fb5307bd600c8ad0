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
import httpx
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


async def load(url: str, key: str, rate: float, seconds: float) -> None:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=5) as http:

        async def one(n: int, scheduled: float) -> None:
            body = {
                "buyer_id": f"b-{n % BUYERS}",
                "order_id": f"o-{n}",
                "amount": {"amount": str(1000 + n % 40_000), "currency": "EUR"},
                "payment_terms_days": 30,
            }
            try:
                answer = await http.post("/v1/credit-checks", json=body, headers=headers)
                latencies.append(time.monotonic() - scheduled)
                statuses[f"{answer.status_code}"] += 1
                if answer.status_code == 200:
                    decisions[answer.json()["decision"]] += 1
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1

        for n in range(50):  # one at a time: connections, prepared statements, key cache
            await one(n, time.monotonic())
        alone = sorted(latencies)
        latencies.clear()
        statuses.clear()
        decisions.clear()
        total = int(rate * seconds)
        start = time.monotonic()
        tasks = []
        for n in range(total):
            scheduled = start + n / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, scheduled)))
        _done, late = await asyncio.wait(tasks, timeout=10)
        for task in late:
            task.cancel()
        elapsed = time.monotonic() - start
    failed = sum(v for k, v in statuses.items() if k != "200") + sum(errors.values()) + len(late)
    print(f"one request at a time: p50 {percentile(alone, 50) * 1000:.1f} ms")
    print(
        f"POST /v1/credit-checks: {total} requests at {rate:.0f}/s, all answered in {elapsed:.1f} s"
    )
    if latencies:
        print(
            f"  p50 {percentile(latencies, 50) * 1000:.1f} ms   p99 "
            f"{percentile(latencies, 99) * 1000:.1f} ms   max {max(latencies) * 1000:.1f} ms"
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
        await load(f"http://127.0.0.1:{settings.http_port}", key, args.rate, args.duration)
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
