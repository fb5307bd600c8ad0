"""Ledger benchmarks over the real local stack (`uv run arshield stack up` first).

    uv run python services/ledger/benchmarks/run.py ingest  [--events 100000]
    uv run python services/ledger/benchmarks/run.py rebuild [--events 1000000]
    uv run python services/ledger/benchmarks/run.py latency [--rate 1000 --seconds 20]
    uv run python services/ledger/benchmarks/run.py ageing  [--buyers 100000 --invoices 1000000]

Each prints its figures and the ratio to its baseline. They are not tests: they create throwaway
databases and topics, and take minutes at the default sizes on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from arshield_cli.clock import tick
from arshield_cli.stack import kafka_bootstrap, postgres_dsn, postgres_url
from arshield_events import topics
from arshield_events.envelope import CloudEvent, envelope
from arshield_events.erp import InvoiceIssued, PaymentReceived
from arshield_events.money import Money
from arshield_events.registry import event_headers, serialize_event
from arshield_ledger.bootstrap import MIGRATIONS, bootstrap
from arshield_ledger.entrypoints.api import router as api_router
from arshield_ledger.settings import LedgerSettings
from arshield_runtime.auth import create_api_key
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.http import create_app
from arshield_runtime.service import rebuild

TENANT = "bench"
DAY0 = date(2025, 1, 1)


# -- fixtures ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_dsn("postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield postgres_url(name)
    finally:
        admin = await asyncpg.connect(postgres_dsn("postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def fresh_topics(*bases: str, partitions: int = 3) -> list[str]:
    suffix = uuid.uuid4().hex[:8]
    names = [f"{base}.bench.{suffix}" for base in bases]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap())
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, partitions, 1) for name in names for n in (name, f"{name}.dlq")]
        )
    finally:
        await admin.close()
    return names


def money(amount: int) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def history(events: int, buyers: int, erp: str, clock: str) -> list[tuple[str, CloudEvent[Any]]]:
    """Invoices and payments spread over `buyers`, a business-day tick every 1,000 events."""
    rng = random.Random(7)
    out: list[tuple[str, CloudEvent[Any]]] = []
    open_invoices: dict[str, list[tuple[str, int]]] = {}
    day = DAY0
    n = 0
    while len(out) < events:
        n += 1
        buyer = f"B{rng.randrange(buyers):06d}"
        when = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        pending = open_invoices.setdefault(buyer, [])
        data: Any
        if pending and rng.random() < 0.45:
            invoice_id, amount = pending.pop(0)
            data = PaymentReceived(
                payment_id=f"P{n}",
                buyer_id=buyer,
                amount=money(amount),
                received_on=day,
                allocations=({"invoice_id": invoice_id, "amount": money(amount)},),  # type: ignore[arg-type,unused-ignore]
            )
        else:
            amount = rng.randrange(100, 10_000)
            invoice_id = f"I{n}"
            pending.append((invoice_id, amount))
            data = InvoiceIssued(
                invoice_id=invoice_id,
                invoice_number=invoice_id,
                buyer_id=buyer,
                issued_on=day,
                due_on=day + timedelta(days=30),
                amount=money(amount),
                payment_terms_days=30,
            )
        out.append(
            (
                erp,
                envelope(
                    data,
                    id=str(uuid.uuid4()),
                    source="erp/bench",
                    subject=buyer,
                    tenantid=TENANT,
                    time=when,
                ),
            )
        )
        if len(out) % 1000 == 0:
            out.append((clock, tick(TENANT, day)))
            day += timedelta(days=1)
    return out[:events]


async def produce(
    records: list[tuple[str, CloudEvent[Any]]],
    rate: float | None = None,
    on_sent: Callable[[int, CloudEvent[Any]], None] | None = None,
) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap(), linger_ms=5, max_batch_size=512 * 1024
    )
    await producer.start()
    started = time.perf_counter()
    base_ms = int(time.time() * 1000) - 3_600_000
    try:
        for i, (topic, ev) in enumerate(records):
            if rate is not None:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await producer.send(
                topic,
                serialize_event(ev),
                key=ev.key.encode(),
                headers=event_headers(ev),
                timestamp_ms=base_ms + i,
            )
            if on_sent is not None:
                on_sent(i, ev)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def drain(
    topic_list: list[str], handle: Callable[[list[Any]], Any] | None, total: int
) -> float:
    consumer = AIOKafkaConsumer(
        *topic_list,
        bootstrap_servers=kafka_bootstrap(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    seen = 0
    started = time.perf_counter()
    try:
        while seen < total:
            fetched = await consumer.getmany(timeout_ms=200, max_records=500)
            batch = [r for records in fetched.values() for r in records]
            if handle is not None and batch:
                await handle(batch)
            seen += len(batch)
    finally:
        await consumer.stop()
    return time.perf_counter() - started


# -- benchmarks -----------------------------------------------------------------------------------


async def bench_ingest(events: int, buyers: int) -> None:
    erp, clock = await fresh_topics(topics.ERP, topics.CLOCK)
    records = history(events, buyers, erp, clock)
    await produce(records)
    raw = await drain([erp, clock], None, len(records))
    async with throwaway_database() as url:
        await migrate(MIGRATIONS, url)
        engine = create_engine(url)
        processor = BatchProcessor(
            engine, bootstrap().router, service="ledger", source="arshield/ledger"
        )
        ledger = await drain([erp, clock], processor.process, len(records))
        await engine.dispose()
    n = len(records)
    print(
        f"ingest: {n} events; raw aiokafka getmany {n / raw:,.0f} ev/s; "
        f"ledger projection {n / ledger:,.0f} ev/s; ratio {ledger / raw:.1f}x the raw time"
    )


async def bench_rebuild(events: int, buyers: int) -> None:
    erp, clock = await fresh_topics(topics.ERP, topics.CLOCK)
    records = history(events, buyers, erp, clock)
    await produce(records)
    sizes = [len(serialize_event(ev)) for _, ev in records[:1000]]
    row_size = int(statistics.mean(sizes))
    async with throwaway_database() as url:
        settings = LedgerSettings(
            database_url=url, kafka_bootstrap=kafka_bootstrap(), topics=[erp, clock], batch_max=2000
        )
        started = time.perf_counter()
        replayed = await rebuild(bootstrap(settings))
        took = time.perf_counter() - started
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        await connection.execute("CREATE TABLE copy_baseline (id bigint, body bytea)")
        payload = b"x" * row_size
        started = time.perf_counter()
        await connection.copy_records_to_table(
            "copy_baseline",
            records=((i, payload) for i in range(len(records))),
            columns=["id", "body"],
        )
        copy_took = time.perf_counter() - started
        await connection.close()
    print(
        f"rebuild: {replayed} events in {took:.1f}s ({replayed / took:,.0f} ev/s); "
        f"COPY of {len(records)} rows of {row_size} bytes in {copy_took:.1f}s; "
        f"ratio {took / copy_took:.1f}x"
    )


async def bench_latency(rate: float, seconds: int) -> None:
    """The service runs as its own process; this one produces at `rate` and probes the API."""
    erp, clock = await fresh_topics(topics.ERP, topics.CLOCK)
    total = int(rate * seconds)
    records = [r for r in history(total * 2, 5000, erp, clock) if r[0] == erp][:total]
    async with throwaway_database() as url:
        port = random.randint(20000, 40000)
        await migrate(MIGRATIONS, url)
        env = {
            **os.environ,
            "ARSHIELD_LEDGER_DATABASE_URL": url,
            "ARSHIELD_LEDGER_KAFKA_BOOTSTRAP": kafka_bootstrap(),
            "ARSHIELD_LEDGER_TOPICS": json.dumps([erp, clock]),
            "ARSHIELD_LEDGER_HTTP_PORT": str(port),
            "ARSHIELD_LEDGER_CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:6]}",
        }
        service = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "arshield_ledger",
            "serve",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        engine = create_engine(url)
        key = await create_api_key(engine, tenant_id=TENANT, name="bench", scopes=["read"])
        latencies: list[float] = []
        probes: list[asyncio.Task[None]] = []
        client = httpx.AsyncClient(
            timeout=60,
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
        )
        try:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # the consumer joins its group

            async def probe(invoice_id: str, sent: float) -> None:
                # Polling is the measurement: visibility through the API, as a client sees it.
                while (await client.get(f"/v1/invoices/{invoice_id}")).status_code != 200:
                    await asyncio.sleep(0.005)
                latencies.append(time.perf_counter() - sent)

            def on_sent(i: int, ev: CloudEvent[Any]) -> None:
                if i % 100 == 0 and isinstance(ev.data, InvoiceIssued):
                    probes.append(
                        asyncio.create_task(probe(ev.data.invoice_id, time.perf_counter()))
                    )

            took = await produce(records, rate=rate, on_sent=on_sent)
            await asyncio.gather(*probes)
        finally:
            await client.aclose()
            service.terminate()
            await service.wait()
            await engine.dispose()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    print(
        f"latency: {len(records)} events at {len(records) / took:.0f} ev/s, {len(latencies)} "
        f"probes; produce -> API visible p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )


async def bench_ageing(buyers: int, invoices_n: int, requests: int) -> None:
    async with throwaway_database() as url:
        await migrate(MIGRATIONS, url)
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        started = time.perf_counter()
        # Invoice n belongs to buyer n % buyers, issued over two years, half of them paid.
        await connection.execute(
            """
            INSERT INTO instalments (tenant_id, invoice_id, seq, buyer_id, due_on, amount,
                                     outstanding, alerted, next_alert_on)
            SELECT $1, 'I' || n, 0, 'B' || (n % $2), DATE '2024-01-01' + (n % 700) + 30, 1000,
                   CASE WHEN n % 2 = 0 THEN 0 ELSE 1000 END, 0, NULL
            FROM generate_series(1, $3) AS n
            """,
            TENANT,
            buyers,
            invoices_n,
        )
        await connection.execute(
            """
            INSERT INTO ledger_entries (tenant_id, buyer_id, entry_no, invoice_id, seq, currency,
                                        effective_on, kind, amount, ref, detail)
            SELECT $1, 'B' || (n % $2), 2 * (n / $2) + 1, 'I' || n, 0, 'EUR',
                   DATE '2024-01-01' + (n % 700), 'issued', 1000, 'I' || n, ''
            FROM generate_series(1, $3) AS n
            UNION ALL
            SELECT $1, 'B' || (n % $2), 2 * (n / $2) + 2, 'I' || n, 0, 'EUR',
                   DATE '2024-01-01' + (n % 700) + 20, 'payment', -1000, 'P' || n, ''
            FROM generate_series(2, $3, 2) AS n
            """,
            TENANT,
            buyers,
            invoices_n,
        )
        await connection.execute("ANALYZE")
        await connection.close()
        print(
            f"ageing: loaded {buyers} buyers / {invoices_n} invoices in "
            f"{time.perf_counter() - started:.0f}s"
        )
        settings = LedgerSettings(database_url=url)
        engine = create_engine(url)
        app = create_app(settings, engine, routers=[api_router])
        key = await create_api_key(engine, tenant_id=TENANT, name="bench", scopes=["read"])
        rng = random.Random(3)
        timings = []
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://b",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            for i in range(requests):
                buyer = f"B{rng.randrange(buyers)}"
                as_of = date(2024, 1, 1) + timedelta(days=rng.randrange(760))
                t0 = time.perf_counter()
                response = await client.get(
                    f"/v1/buyers/{buyer}/ageing", params={"as_of": str(as_of)}
                )
                elapsed = time.perf_counter() - t0
                assert response.status_code == 200, response.text
                if i >= 50:  # warm-up
                    timings.append(elapsed)
        await engine.dispose()
    timings.sort()
    p50, p99 = timings[len(timings) // 2] * 1000, timings[int(len(timings) * 0.99) - 1] * 1000
    print(
        f"ageing: {len(timings)} requests (in-process ASGI, incl. API-key check): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (goal p99 <= 10 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="bench", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("--events", type=int, default=100_000)
    ingest.add_argument("--buyers", type=int, default=10_000)
    rebuild_p = sub.add_parser("rebuild")
    rebuild_p.add_argument("--events", type=int, default=1_000_000)
    rebuild_p.add_argument("--buyers", type=int, default=100_000)
    latency = sub.add_parser("latency")
    latency.add_argument("--rate", type=float, default=1000)
    latency.add_argument("--seconds", type=int, default=20)
    ageing_p = sub.add_parser("ageing")
    ageing_p.add_argument("--buyers", type=int, default=100_000)
    ageing_p.add_argument("--invoices", type=int, default=1_000_000)
    ageing_p.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if args.bench == "ingest":
        asyncio.run(bench_ingest(args.events, args.buyers))
    elif args.bench == "rebuild":
        asyncio.run(bench_rebuild(args.events, args.buyers))
    elif args.bench == "latency":
        asyncio.run(bench_latency(args.rate, args.seconds))
    else:
        asyncio.run(bench_ageing(args.buyers, args.invoices, args.requests))


if __name__ == "__main__":
    main()
