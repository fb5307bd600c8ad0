"""Revision 0004 moves buyer states and business dates into the kernel's tables, keeping each
invoice's first trace, so an existing database needs no rebuild."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import asyncpg
import pytest
from alembic import command

from arshield_dunning.bootstrap import MIGRATIONS
from arshield_dunning.domain.state import BuyerDunning
from arshield_runtime.db import alembic_config, migrate

pytestmark = pytest.mark.integration


async def test_states_and_dates_are_copied_into_the_kernels_tables(fresh_database: str) -> None:
    config = alembic_config(MIGRATIONS, fresh_database)
    await asyncio.to_thread(command.upgrade, config, "0003")
    state = {
        "tenant_id": "t",
        "buyer_id": "B1",
        "invoices": {"I1": {"invoice_id": "I1", "due_on": "2024-02-01"}},
    }
    trace = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    conn = await asyncpg.connect(fresh_database.replace("+asyncpg", ""))
    try:
        await conn.execute(
            "INSERT INTO dunning_buyers (tenant_id, buyer_id, state, wake_on)"
            " VALUES ('t', 'B1', $1::jsonb, '2024-01-17')",
            json.dumps(state),
        )
        await conn.execute("INSERT INTO dunning_invoice_index VALUES ('t', 'I1', 'B1', $1)", trace)
        await conn.execute("INSERT INTO dunning_tenant_clock VALUES ('t', '2024-01-05')")
    finally:
        await conn.close()

    await migrate(MIGRATIONS, fresh_database)

    conn = await asyncpg.connect(fresh_database.replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow("SELECT state::text AS state, wake_on FROM buyer_states")
        assert await conn.fetchval("SELECT business_date FROM business_dates") == date(2024, 1, 5)
        gone = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_name IN ('dunning_buyers', 'dunning_tenant_clock')"
        )
    finally:
        await conn.close()
    assert row["wake_on"] == date(2024, 1, 17)
    copied = BuyerDunning.model_validate_json(row["state"])
    assert copied.invoices["I1"].traceparent == trace
    assert gone == 0
