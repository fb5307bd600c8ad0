"""Hop latency: from an event's publication to the event its handler emitted arriving on Kafka.

One hop of a replay: the runtime's consumer takes the event, its handler writes an outbox row in
the batch's transaction, the relay publishes it. Events are published one at a time, `--gap`
seconds apart (each finds the pipeline idle, as a business day's last fact does), and the script
prints the median, 99th percentile and maximum produce -> relayed time. The relay keeps the
settings' default safety poll. The same is measured, in the same run, for the code of a baseline
git ref (`--baseline`, default `main`; its `libs/*/src` and `services/*/src` go first on the path).

    uv run python libs/runtime/benchmarks/hop_latency.py --events 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from arshield_cli.stack import kafka_bootstrap, postgres_dsn, postgres_url, up
from arshield_events.envelope import envelope
from arshield_events.erp import BuyerRegistered
from arshield_events.registry import event_headers, serialize_event
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.messaging import EventRouter, HandlerContext, outbox_record
from arshield_runtime.outbox import OutboxRelay, new_producer
from arshield_runtime.settings import ServiceSettings
from arshield_runtime.subscriber import build_broker

REPOSITORY = Path(__file__).resolve().parents[3]
MIGRATIONS = REPOSITORY / "libs" / "runtime" / "tests" / "fixture_migrations"


def echo_router(out_topic: str) -> EventRouter:
    router = EventRouter()

    @router.handles(BuyerRegistered)
    async def echo(ctx: HandlerContext) -> None:
        ctx.emitted.append(outbox_record(ctx.event, topic=out_topic))

    return router


def event(n: int) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    buyer = f"b-{n % 17}"
    published = envelope(
        BuyerRegistered(
            buyer_id=buyer,
            legal_name="Buyer Ltd",
            country="DE",
            segment="standard",
            preferred_language="en",
            registered_on=date(2024, 1, 2),
        ),
        id=str(uuid.uuid4()),
        source="erp/bench",
        subject=buyer,
        tenantid="bench",
        time=datetime(2024, 1, 2, tzinfo=UTC),
    )
    return (
        published.id,
        published.key.encode(),
        serialize_event(published),
        event_headers(published),
    )


async def measure(count: int, gap: float) -> dict[str, float]:
    """One run with the code on this interpreter's path; returns the latencies' figures in ms."""
    bootstrap = kafka_bootstrap()
    suffix = uuid.uuid4().hex[:8]
    source, sink = f"bench.hop.in.{suffix}", f"bench.hop.out.{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(name, 6, 1) for name in (source, f"{source}.dlq", sink)])
    await admin.close()
    database = f"bench_hop_{suffix}"
    postgres = await asyncpg.connect(postgres_dsn("postgres"))
    await postgres.execute(f'CREATE DATABASE "{database}"')
    url = postgres_url(database)
    await migrate(MIGRATIONS, url)
    engine = create_engine(url)
    producer = new_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(
        engine,
        producer,
        service="bench",
        poll_seconds=ServiceSettings(service_name="bench").relay_poll_seconds,
    )
    processor = BatchProcessor(
        engine, echo_router(sink), service="bench", source="arshield/bench", on_committed=relay.wake
    )
    broker = build_broker(
        bootstrap=bootstrap,
        topics=[source],
        group_id=f"bench-hop-{suffix}",
        processor=processor,
        batch_max=500,
        client_id="bench",
    )
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    publisher = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    relaying = asyncio.create_task(relay.run())
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    try:
        await reader.start()
        reader.assign([TopicPartition(sink, p) for p in range(6)])
        await publisher.start()
        await broker.start()

        async def read() -> None:
            while len(arrived) < count + 3:
                for records in (await reader.getmany(timeout_ms=1000)).values():
                    now = time.perf_counter()
                    for record in records:
                        arrived[json.loads(record.value)["id"]] = now

        reading = asyncio.create_task(read())
        await asyncio.sleep(5)  # the consumer has joined its group and is idle
        for n in range(-3, count):  # three to warm up, not counted
            event_id, key, value, headers = event(n)
            sent[event_id] = time.perf_counter()
            await publisher.send_and_wait(source, value=value, key=key, headers=headers)
            await asyncio.sleep(gap)
            if n < 0:
                sent.pop(event_id)
        await asyncio.wait_for(reading, timeout=60)
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await broker.stop()
        await publisher.stop()
        await reader.stop()
        await producer.stop()
        await engine.dispose()
        await postgres.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await postgres.close()
        cleanup = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await cleanup.start()
        await cleanup.delete_topics([source, f"{source}.dlq", sink])
        await cleanup.close()
    latencies = sorted(1000 * (arrived[i] - sent[i]) for i in sent if i in arrived)
    return {
        "events": len(latencies),
        "p50": statistics.median(latencies),
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)],
        "max": latencies[-1],
    }


def run_inner(count: int, gap: float, sources: list[Path]) -> dict[str, float]:
    from arshield_cli.baseline import run_measure  # the outer run only: a baseline may predate it

    # This script, with the measured code first on the path (a baseline ref may predate it).
    args = ["--inner", "--events", str(count), "--gap", str(gap)]
    return run_measure(__file__, args, sources)  # type: ignore[no-any-return]


def main(count: int, gap: float, baseline: str) -> None:
    from arshield_cli.baseline import (
        baseline_sources,  # the outer run only: a baseline may predate it
    )

    up()
    results = {"this checkout": run_inner(count, gap, [])}
    if baseline:
        with tempfile.TemporaryDirectory(prefix="hop-latency-") as scratch:
            sources = baseline_sources(baseline, Path(scratch))
            results[f"baseline {baseline}"] = run_inner(count, gap, sources)
    for label, figures in results.items():
        print(
            f"hop latency, {label:<16}: p50 {figures['p50']:7.1f} ms  p99 {figures['p99']:7.1f} ms"
            f"  max {figures['max']:7.1f} ms  ({figures['events']:.0f} events, {gap:.3f} s apart)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between publications")
    parser.add_argument("--baseline", default="main", help="git ref to measure too ('' for none)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.inner:
        print(json.dumps(asyncio.run(measure(arguments.events, arguments.gap))))
    else:
        main(arguments.events, arguments.gap, arguments.baseline)
