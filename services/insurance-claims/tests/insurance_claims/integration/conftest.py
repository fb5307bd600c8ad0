# ruff: noqa: F811 - fixtures imported below are requested by parameters of the same name
"""insurance-claims as a real process over the real Kafka and PostgreSQL (its relay publishing to
this test's insurance topic, which it reads back as in production), and a real HTTP insurer
receiver on loopback that verifies every delivery with the `standardwebhooks` library."""

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

CONSUMED = (topics.ERP, topics.LEDGER, topics.RISK, topics.DUNNING, topics.CLOCK, topics.INSURANCE)


@pytest.fixture
async def stack(kafka_bootstrap: str, fresh_topics: Any) -> AsyncIterator[Topics]:
    topics_ = await open_topics(kafka_bootstrap, fresh_topics, CONSUMED, own=topics.INSURANCE)
    try:
        yield topics_
    finally:
        await topics_.close()


@pytest.fixture
async def service(
    stack: Topics, fresh_database: str, tmp_path: Path
) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(
        "insurance-claims", stack, database_url=fresh_database, log_path=tmp_path / "insurance.log"
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
async def api_keys(service: ServiceProcess, tenant: str) -> dict[str, str]:
    """One key per scope for `tenant`, and an all-scopes key of another tenant."""
    return await service_api_keys(
        service.database_url, tenant, ("read", "write", "admin", "agency")
    )
