# ruff: noqa: F811 - fixtures imported below are requested by parameters of the same name
"""The dunning service as a real process over the real Kafka and PostgreSQL, and a real HTTP
receiver that verifies every delivery with the `standardwebhooks` library."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

# The shared real-stack fixtures (pytest_plugins is only allowed in the rootdir's conftest).
from arshield_cli.testing import (  # noqa: F401
    free_port,
    fresh_database,
    fresh_topics,
    kafka_bootstrap,
    postgres_admin_dsn,
    stack_started,
)
from arshield_cli.testing_services import ServiceProcess, Topics, open_topics
from arshield_cli.testing_services import api_keys as service_api_keys
from arshield_events import topics

CONSUMED = (topics.ERP, topics.LEDGER, topics.CLOCK, topics.DUNNING)
"""What dunning reads: its own topic too (its configuration and promises come back from it)."""


@pytest.fixture
async def stack(kafka_bootstrap: str, fresh_topics: Any) -> AsyncIterator[Topics]:
    topics_ = await open_topics(kafka_bootstrap, fresh_topics, CONSUMED, own=topics.DUNNING)
    try:
        yield topics_
    finally:
        await topics_.close()


@pytest.fixture
async def dunning(
    stack: Topics, fresh_database: str, tmp_path: Path
) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(
        "dunning", stack, database_url=fresh_database, log_path=tmp_path / "dunning.log"
    )
    await process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def api_keys(dunning: ServiceProcess, tenant: str) -> dict[str, str]:
    """One key per scope for `tenant`, and an all-scopes key of another tenant."""
    return await service_api_keys(
        dunning.database_url, tenant, ("read", "write", "admin", "agency")
    )
