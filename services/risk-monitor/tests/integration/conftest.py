# ruff: noqa: F811 - fixtures imported below are requested by parameters of the same name
"""risk-monitor as a real process over the real Kafka and PostgreSQL, on fresh topics, scoring
with the hand-made test scorecards (tests/fixtures/scorecards, through its scorecards_dir)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

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

CONSUMED = (topics.ERP, topics.LEDGER, topics.EXTERNAL, topics.CLOCK, topics.RISK)
SCORECARDS = Path(__file__).resolve().parents[1] / "fixtures" / "scorecards"


@pytest.fixture
async def stack(kafka_bootstrap: str, fresh_topics: Any) -> AsyncIterator[Topics]:
    topics_ = await open_topics(kafka_bootstrap, fresh_topics, CONSUMED, own=topics.RISK)
    try:
        yield topics_
    finally:
        await topics_.close()


@pytest.fixture
async def risk(stack: Topics, fresh_database: str, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    assert SCORECARDS.joinpath("test-1.json").exists()
    process = ServiceProcess(
        "risk-monitor",
        stack,
        database_url=fresh_database,
        log_path=tmp_path / "risk-monitor.log",
        extra_env={
            "ARSHIELD_RISK_MONITOR_SCORECARDS_DIR": str(SCORECARDS),
            "ARSHIELD_RISK_MONITOR_DEFAULT_SCORECARD": "test-1",
        },
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
async def api_keys(risk: ServiceProcess, tenant: str) -> dict[str, str]:
    return await service_api_keys(risk.database_url, tenant, ("read", "admin"))
