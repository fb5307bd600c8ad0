"""Crafted input to the ledger's API answers a problem document naming the field, never a 500:
dates outside the business range on ageing, DSO and interest, and control characters in ids."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from arshield_ledger.bootstrap import bootstrap
from arshield_ledger.entrypoints.api import router
from arshield_ledger.settings import LedgerSettings
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.http import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(fresh_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = LedgerSettings(database_url=fresh_database, environment="test")
    definition = bootstrap(settings)
    await migrate(definition.migrations, fresh_database)
    engine = create_engine(fresh_database)
    app = create_app(settings, engine, routers=[router])
    app.state.reference_rates = definition.state["reference_rates"]
    secret = await create_api_key(engine, tenant_id="acme", name="test", scopes=["read"])
    headers = {"Authorization": f"Bearer {secret}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c
    await engine.dispose()


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/buyers/b-1/ageing?as_of=0001-01-01", "as_of"),
        ("/v1/buyers/b-1/ageing?as_of=9999-12-31", "as_of"),
        ("/v1/metrics/dso?from=0001-01-01&to=0001-01-01", "from"),
        ("/v1/metrics/dso?from=2024-01-01&to=9999-12-31", "to"),
        ("/v1/invoices/i-1/interest?as_of=0001-01-01", "as_of"),
        ("/v1/invoices/i-1/interest?as_of=9999-12-31", "as_of"),
        ("/v1/invoices/i%00x", "invoice_id"),
        ("/v1/invoices?buyer_id=b%00", "buyer_id"),
    ],
)
async def test_crafted_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, path: str, field: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in error["loc"] for error in response.json()["errors"])
