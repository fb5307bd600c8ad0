"""Pytest fixtures over the real stack: a throwaway database and fresh topics per test.

Enable with `pytest_plugins = ["arshield_cli.testing"]` in a conftest. The native stack (or the
one named by ARSHIELD_STACK_* variables) is started once per session if it is not running.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from arshield_cli.stack import kafka_bootstrap as stack_kafka_bootstrap
from arshield_cli.stack import postgres_dsn, postgres_url, up


@pytest.fixture(scope="session")
def stack_started() -> None:
    up()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack_started: None) -> str:
    return stack_kafka_bootstrap()


@pytest.fixture(scope="session")
def postgres_admin_dsn(stack_started: None) -> str:
    return postgres_dsn("postgres")


@pytest.fixture
async def fresh_database(postgres_admin_dsn: str) -> AsyncIterator[str]:
    """A new, empty database; yields its SQLAlchemy asyncpg URL and drops it afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(postgres_admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    yield postgres_url(name)
    connection = await asyncpg.connect(postgres_admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


TopicFactory = Callable[..., Awaitable[list[str]]]


@pytest.fixture
def fresh_topics(kafka_bootstrap: str) -> TopicFactory:
    """`await fresh_topics("arshield.erp", partitions=6)` creates uniquely suffixed copies of the
    named topics and their `.dlq` twins, and returns the new names (without the dlq ones)."""

    async def create(*bases: str, partitions: int = 6) -> list[str]:
        suffix = uuid.uuid4().hex[:8]
        names = [f"{base}.{suffix}" for base in bases]
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=partitions,
                        replication_factor=1,
                        topic_configs={"retention.ms": "-1"},
                    )
                    for base in names
                    for name in (base, f"{base}.dlq")
                ]
            )
        finally:
            await admin.close()
        return names

    return create
