"""Running a service: migrations, consumer, outbox relay, background work and HTTP, one process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from fastapi import APIRouter
from faststream.specification.asyncapi import AsyncAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.days import DayAligner
from arshield_runtime.db import create_engine, day_marks, days_marked, migrate
from arshield_runtime.http import create_app
from arshield_runtime.kafka import topic_partitions
from arshield_runtime.messaging import EventRouter
from arshield_runtime.outbox import OutboxRelay, new_producer
from arshield_runtime.retry import until_it_works
from arshield_runtime.server import head_deadline
from arshield_runtime.settings import ServiceSettings
from arshield_runtime.subscriber import build_broker
from arshield_runtime.telemetry import configure_tracing

log = logging.getLogger(__name__)

BackgroundTask = Callable[["RunningService"], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceDefinition:
    """What a service's composition root hands the runtime."""

    settings: ServiceSettings
    router: EventRouter
    migrations: Path
    http_routers: Sequence[APIRouter] = ()
    background: Sequence[BackgroundTask] = ()
    projection_tables: Sequence[str] = ()
    """Tables a rebuild empties before replaying the log."""
    state: dict[str, Any] = field(default_factory=dict)
    """Service-specific objects (clients, policies) placed on `app.state` for routes."""
    publishes: Sequence[type[Payload]] = ()
    """The payload types the service emits (from handlers, requests or background work): they
    only describe its outbox topics in `/asyncapi.json`, nothing is checked against them."""


@dataclass
class RunningService:
    definition: ServiceDefinition
    engine: AsyncEngine
    producer: AIOKafkaProducer
    relay: OutboxRelay


async def start_producer(bootstrap: str) -> AIOKafkaProducer:
    async def attempt() -> AIOKafkaProducer:
        producer = new_producer(bootstrap)
        try:
            await producer.start()
        except Exception:
            await producer.stop()
            raise
        return producer

    return await until_it_works(attempt, on=Exception)


YOUNG_COLLECTION_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (the interpreter's default is
700). A batch or a business day decides for thousands of buyers and allocates a few hundred objects
per buyer: at 700 the collector runs every couple of buyers and keeps walking the states already
decided (a third of a busy tick's time, measured in insurance-claims); reference counting frees
everything else as before, and the older generations keep their defaults."""


def tune_collector() -> None:
    """Collect the youngest generation less often (`YOUNG_COLLECTION_THRESHOLD`), and take what is
    alive now out of the collector's sight (`gc.freeze`): the modules, schemas and app a service
    builds once live as long as it does, yet every full collection walked them all (some 175,000
    objects: up to a few hundred milliseconds each, the slowest credit checks' time under load).
    Called again once the service is put together."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)
    gc.freeze()


async def run_service(definition: ServiceDefinition) -> None:
    settings = definition.settings
    tune_collector()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    configure_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    await migrate(definition.migrations, settings.database_url)
    # HTTP requests share a bounded pool; a request waits at most `db_pool_timeout` for a
    # connection, then answers 503 (see the problem handlers) rather than queueing without end.
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )
    # The consumer and the relay hold one connection each, from a pool of their own: a burst of
    # HTTP requests (or a slow query) never makes them wait for a connection.
    pipeline_engine = create_engine(settings.database_url, pool_size=2, max_overflow=2)
    producer = await start_producer(settings.kafka_bootstrap)
    relay = OutboxRelay(
        pipeline_engine,
        producer,
        service=settings.service_name,
        poll_seconds=settings.relay_poll_seconds,
        topic_names=settings.topic_names,
    )
    running = RunningService(definition, engine, producer, relay)
    processor = BatchProcessor(
        pipeline_engine,
        definition.router,
        service=settings.service_name,
        source=settings.source,
        handler_attempts=settings.handler_attempts,
        on_committed=relay.wake,
        aligner=await day_aligner(definition),
    )
    broker = build_broker(
        bootstrap=settings.kafka_bootstrap,
        topics=settings.topics,
        group_id=settings.group_id,
        processor=processor,
        batch_max=settings.batch_max,
        client_id=f"arshield-{settings.service_name}",
        handles=definition.router.payload_types,
        publishes=definition.publishes,
    )
    app = create_app(
        settings,
        engine,
        routers=[*definition.http_routers, asyncapi_router(broker, settings)],
        producer=producer,
    )
    app.state.running = running
    for name, value in definition.state.items():
        setattr(app.state, name, value)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            # Slow or greedy clients: idle keep-alive connections close, request heads are
            # bounded, and past `limit_concurrency` connections plus requests uvicorn answers 503.
            # A request head must arrive within its deadline; a body's arrival is bounded by the
            # app's BodyGuard middleware.
            http=head_deadline(settings.http_head_timeout),
            timeout_keep_alive=settings.http_timeout_keep_alive,
            limit_concurrency=settings.http_limit_concurrency,
            h11_max_incomplete_event_size=settings.http_max_incomplete_event_bytes,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    tune_collector()  # what was built to run the service lives as long as it does
    tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
    tasks += [
        asyncio.create_task(work(running), name="background") for work in definition.background
    ]
    serve = asyncio.create_task(server.serve(), name="http")
    await broker.start()
    log.info(
        "%s running: http://%s:%d, consuming %s as %s",
        settings.service_name,
        settings.http_host,
        settings.http_port,
        ",".join(settings.topics),
        settings.group_id,
    )
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        await broker.stop()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        await serve
        await producer.stop()
        await pipeline_engine.dispose()
        await engine.dispose()


async def day_aligner(definition: ServiceDefinition) -> DayAligner | None:
    """The service's business days from the day markers of its `day_topics`, or None when it
    takes the clock's ticks as they come."""
    settings = definition.settings
    upstream = settings.day_topics
    if not upstream:
        return None
    partitions = await until_it_works(
        lambda: topic_partitions(settings.kafka_bootstrap, upstream), on=LookupError
    )
    counts = {topic: sum(1 for tp in partitions if tp.topic == topic) for topic in upstream}
    if len(set(counts.values())) != 1:
        raise ValueError(f"the day topics must be co-partitioned (one partition count): {counts}")
    names = settings.topic_names
    publishes = {payload.topic for payload in definition.publishes} - {topics.CLOCK}
    return DayAligner(
        gated=frozenset(upstream),
        partitions=next(iter(counts.values())),
        source=settings.source,
        clock_topic=names.get(topics.CLOCK, topics.CLOCK),
        marks_to=tuple(sorted(publishes)),
    )


def asyncapi_router(broker: Any, settings: ServiceSettings) -> APIRouter:
    """`/asyncapi.json`: the service's topics, generated from its FastStream broker.

    Per consumed topic the CloudEvents its router handles, per published topic those it emits
    (see `subscriber.document`), and the dead-letter topics."""
    router = APIRouter(tags=["ops"])
    document = (
        AsyncAPI(
            broker,
            title=f"arshield {settings.service_name}",
            version="1",
            description=f"Topics the {settings.service_name} service consumes, as group "
            f"{settings.group_id}, and those it publishes through its outbox. Every message is a "
            "CloudEvent in structured mode (application/cloudevents+json), its `type` naming the "
            "payload's schema.",
        )
        .to_specification()
        .to_jsonable()
    )

    @router.get("/asyncapi.json")
    async def asyncapi() -> dict[str, Any]:
        return document  # type: ignore[no-any-return]

    return router


async def rebuild(definition: ServiceDefinition) -> int:
    """Replay the whole log into empty projections; returns how many records were replayed.

    Records are merged across partitions by their timestamp (each partition kept in its own
    order), as a task merges them live, and the day markers in the log bring the business days at
    the same places they did live (`arshield_runtime.days`). Emitted events are dropped: they were
    published when the events were first handled.
    """
    settings = definition.settings
    tune_collector()
    await migrate(definition.migrations, settings.database_url)
    engine = create_engine(settings.database_url)
    tables = [*definition.projection_tables, "inbox", day_marks.name, days_marked.name]
    async with engine.begin() as connection:
        await connection.execute(sa.text(f"TRUNCATE {', '.join(tables)}"))
    processor = BatchProcessor(
        engine,
        definition.router,
        service=settings.service_name,
        source=settings.source,
        handler_attempts=settings.handler_attempts,
        replaying=True,
        aligner=await day_aligner(definition),
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    replayed = 0
    try:
        partitions = await topic_partitions(settings.kafka_bootstrap, settings.topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async for batch in merged_by_time(consumer, ends, settings.batch_max):
            await processor.process(batch)
            replayed += len(batch)
    finally:
        await consumer.stop()
        await engine.dispose()
    return replayed


async def merged_by_time(
    consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int], batch_size: int
) -> Any:
    """Yield batches of records up to `ends`, merged across partitions by timestamp."""
    buffers: dict[TopicPartition, deque[ConsumerRecord[bytes, bytes]]] = {
        tp: deque() for tp in ends
    }
    done = {tp for tp, end in ends.items() if end == 0}
    positions = dict.fromkeys(ends, 0)

    async def refill() -> None:
        fetched = await consumer.getmany(timeout_ms=500, max_records=10_000)
        for tp, records in fetched.items():
            for record in records:
                if record.offset < ends[tp]:
                    buffers[tp].append(record)
                positions[tp] = record.offset + 1
            if positions[tp] >= ends[tp]:
                done.add(tp)
                consumer.pause(tp)

    batch: list[ConsumerRecord[bytes, bytes]] = []
    while True:
        # Merge only while every unfinished partition has a buffered head to compare.
        waiting = [tp for tp in ends if tp not in done and not buffers[tp]]
        if waiting:
            await refill()
            if any(tp not in done and not buffers[tp] for tp in ends):
                continue
        heads = [(buffers[tp][0].timestamp, tp.topic, tp.partition) for tp in ends if buffers[tp]]
        if not heads:
            break
        _, topic, partition = min(heads)
        tp = TopicPartition(topic, partition)
        batch.append(buffers[tp].popleft())
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
