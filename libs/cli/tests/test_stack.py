"""The native local stack from nothing: up, idempotent up, topics, databases, down/up, reset.

Runs in its own temporary state dir on free ports, so a running default stack is not disturbed.
Kafka jars come from the shared cache (~/.cache/arshield/kafka-<version>/), fetched at most once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition

from arshield_cli.stack import (
    ALL_TOPICS,
    StackSettings,
    aup,
    down,
    postgres_dsn,
    postgres_url,
    reset,
    status,
)
from arshield_cli.stack import kafka as stack_kafka
from arshield_cli.stack._proc import port_open


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def settings() -> Iterator[StackSettings]:
    # /tmp, not pytest's 0700 tmp_path: as root the PostgreSQL server runs as `postgres`
    # and must reach its data dir
    state = Path(tempfile.mkdtemp(prefix="arshield-stack-test-"))
    state.chmod(0o755)
    kafka_port, controller_port, pg_port = _free_ports(3)
    s = StackSettings(
        state_dir=state,
        kafka_port=kafka_port,
        controller_port=controller_port,
        pg_port=pg_port,
        kafka_heap="512m",
        databases=["ledger", "dunning"],
    )
    try:
        yield s
    finally:
        with contextlib.suppress(Exception):
            reset(s)
        shutil.rmtree(state, ignore_errors=True)


async def _select_one(s: StackSettings, db: str) -> int:
    conn = await asyncpg.connect(postgres_dsn(db, s))
    try:
        return int(await conn.fetchval("select 1"))
    finally:
        await conn.close()


pytestmark = pytest.mark.integration


async def test_up_from_nothing(settings: StackSettings) -> None:
    info = await aup(settings)
    assert info.started
    assert sorted(info.created_topics) == sorted(ALL_TOPICS)
    assert sorted(info.created_databases) == ["dunning", "ledger"]
    assert info.kafka_bootstrap == f"127.0.0.1:{settings.kafka_port}"
    assert all(c.running for c in status(settings))
    # the jars are in the shared cache, not in the state dir
    assert stack_kafka.jar_dir(settings).is_relative_to(settings.cache_dir)
    assert not settings.state_dir.joinpath("kafka", "libs").exists()


async def test_second_up_is_a_fast_noop(settings: StackSettings) -> None:
    before = {c.name: c.pid for c in status(settings)}
    began = time.monotonic()
    info = await aup(settings)
    elapsed = time.monotonic() - began
    assert not info.started
    assert info.created_topics == []
    assert info.created_databases == []
    assert {c.name: c.pid for c in status(settings)} == before
    assert elapsed < 5, elapsed


async def test_topics_have_six_partitions_and_keep_everything(settings: StackSettings) -> None:
    partitions = await stack_kafka.describe_partitions(settings, list(ALL_TOPICS))
    assert partitions == dict.fromkeys(ALL_TOPICS, 6)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "arshield.erp")]
        )
    finally:
        await admin.close()
    entries = {e[0]: e[1] for e in described[0].resources[0][4]}
    assert entries["retention.ms"] == "-1"


async def test_topics_are_not_auto_created(settings: StackSettings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=3000)
    await producer.start()
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - aiokafka raises a timeout/unknown-topic
            await producer.send_and_wait("arshield.no-such-topic", b"x")
    finally:
        await producer.stop()


async def test_postgres_answers_on_each_service_database(settings: StackSettings) -> None:
    for db in settings.databases:
        assert await _select_one(settings, db) == 1
        assert postgres_url(db, settings) == (
            f"postgresql+asyncpg://arshield:arshield@127.0.0.1:{settings.pg_port}/{db}"
        )
    conn = await asyncpg.connect(postgres_dsn("ledger", settings))
    try:
        assert await conn.fetchval("show listen_addresses") == "127.0.0.1"
        assert await conn.fetchval("show fsync") == "on"
        assert await conn.fetchval("show synchronous_commit") == "on"
        assert await conn.fetchval("show max_connections") == "200"
        assert await conn.fetchval("show shared_buffers") == "256MB"
    finally:
        await conn.close()


async def test_down_then_up_keeps_data(settings: StackSettings) -> None:
    conn = await asyncpg.connect(postgres_dsn("ledger", settings))
    try:
        await conn.execute("create table kept (v text)")
        await conn.execute("insert into kept values ('still here')")
    finally:
        await conn.close()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait("arshield.erp", b"kept", key=b"t1:b1")
    finally:
        await producer.stop()

    assert sorted(down(settings)) == ["kafka", "postgres"]
    assert not any(c.running for c in status(settings))
    assert not port_open("127.0.0.1", settings.kafka_port)
    assert not port_open("127.0.0.1", settings.pg_port)
    assert down(settings) == []  # idempotent

    info = await aup(settings)
    assert info.started
    assert info.created_topics == []
    assert info.created_databases == []
    conn = await asyncpg.connect(postgres_dsn("ledger", settings))
    try:
        assert await conn.fetchval("select v from kept") == "still here"
    finally:
        await conn.close()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition("arshield.erp", sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        record = await consumer.getone()
        assert (record.key, record.value) == (b"t1:b1", b"kept")
    finally:
        await consumer.stop()


async def test_reset_wipes(settings: StackSettings) -> None:
    reset(settings)
    assert not any(c.running for c in status(settings))
    assert [p.name for p in settings.state_dir.iterdir() if p.name != ".lock"] == []
    info = await aup(settings)
    assert sorted(info.created_topics) == sorted(ALL_TOPICS)
    assert sorted(info.created_databases) == ["dunning", "ledger"]
    conn = await asyncpg.connect(postgres_dsn("ledger", settings))
    try:
        assert await conn.fetchval("select to_regclass('kept')") is None
    finally:
        await conn.close()


@pytest.mark.unit
def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARSHIELD_STACK_PG_PORT", "25432")
    monkeypatch.setenv("ARSHIELD_STACK_KAFKA_PORT", "29092")
    monkeypatch.setenv("ARSHIELD_STACK_DATABASES", "ledger, dunning,credit")
    monkeypatch.setenv("ARSHIELD_STACK_STATE_DIR", os.fspath(Path("/tmp/x")))
    s = StackSettings()
    assert s.databases == ["ledger", "dunning", "credit"]
    assert s.kafka_bootstrap == "127.0.0.1:29092"
    assert (
        postgres_url("credit", s) == "postgresql+asyncpg://arshield:arshield@127.0.0.1:25432/credit"
    )
    assert s.state_dir == Path("/tmp/x")


@pytest.mark.unit
def test_a_new_cluster_id_never_starts_with_a_dash() -> None:
    """The storage tool reads `--cluster-id -A9…` as an option: a leading `-` failed one first
    start in 64. Ids are drawn again until they do not start with one."""
    ids = [stack_kafka.new_cluster_id() for _ in range(5000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids)
    assert {len(i) for i in ids} == {22}
