"""The shared HTTP side over a real database and broker: keys, scopes, problems, ingestion."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter

from arshield_events import topics
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.http import ProblemError, ReadPrincipal, create_app
from arshield_runtime.ingestion import router as ingestion_router
from arshield_runtime.outbox import new_producer
from arshield_runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parent / "fixture_migrations"

things = APIRouter(prefix="/v1")


@things.get("/things/{thing_id}")
async def get_thing(thing_id: str, principal: ReadPrincipal) -> dict[str, str]:
    if thing_id != f"{principal.tenant_id}-thing":
        raise ProblemError(404, "Not found", f"no thing {thing_id}")
    return {"id": thing_id}


@pytest.fixture
async def client(
    fresh_database: str, kafka_bootstrap: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    await migrate(MIGRATIONS, fresh_database)
    engine = create_engine(fresh_database)
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    settings = ServiceSettings(
        service_name="test", database_url=fresh_database, max_body_bytes=64_000
    )
    app = create_app(settings, engine, routers=[things, ingestion_router], producer=producer)
    keys = {
        "read": await create_api_key(engine, tenant_id="acme", name="dash", scopes=["read"]),
        "write": await create_api_key(engine, tenant_id="acme", name="erp", scopes=["write"]),
        "other": await create_api_key(
            engine, tenant_id="globex", name="dash", scopes=["read", "write"]
        ),
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c, keys
    await producer.stop()
    await engine.dispose()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def invoice(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "erp/sap-eu",
        "type": "arshield.erp.InvoiceIssued.v1",
        "subject": "b-1",
        "time": "2024-03-01T09:00:00Z",
        "tenantid": "acme",
        "data": {
            "invoice_id": "inv-1",
            "invoice_number": "2024-0001",
            "buyer_id": "b-1",
            "issued_on": "2024-03-01",
            "due_on": "2024-03-31",
            "amount": {"amount": "1234.50", "currency": "EUR"},
            "payment_terms_days": 30,
        },
    }
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(leaf)
        else:
            target[leaf] = value
    return document


async def test_keys_scopes_and_tenants(client: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, keys = client
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).json()["ready"] is True
    assert "arshield_events_consumed" in (await http.get("/metrics")).text
    no_key = await http.get("/v1/things/acme-thing")
    assert no_key.status_code == 401
    assert no_key.headers["content-type"] == "application/problem+json"
    assert (await http.get("/v1/things/acme-thing", headers=bearer("ars_nope"))).status_code == 401
    assert (
        await http.get("/v1/things/acme-thing", headers=bearer(keys["write"]))
    ).status_code == 403
    assert (
        await http.get("/v1/things/acme-thing", headers=bearer(keys["read"]))
    ).status_code == 200
    other = await http.get("/v1/things/acme-thing", headers=bearer(keys["other"]))
    assert other.status_code == 404
    assert other.json()["status"] == 404


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        (b"{not json", 400, "JSON"),
        (json.dumps(invoice(type="arshield.erp.InvoiceMislaid.v1")).encode(), 422, "type"),
        (json.dumps(invoice(data__due_on=None)).encode(), 422, "data.due_on"),
        (
            json.dumps(invoice(data__amount={"amount": 1234.5, "currency": "EUR"})).encode(),
            422,
            "data.amount.amount",
        ),
        (
            json.dumps(invoice(data__amount={"amount": "1234.50", "currency": "EURO"})).encode(),
            422,
            "data.amount.currency",
        ),
        (
            json.dumps(invoice(data__amount={"amount": "-5.00", "currency": "EUR"})).encode(),
            422,
            "data.amount",
        ),
        (json.dumps(invoice(data__due_on="2024-02-01")).encode(), 422, "data.due_on"),
        (json.dumps(invoice(tenantid="globex")).encode(), 403, "tenant"),
        (b"[" + b" " * 70_000 + b"]", 413, "bytes"),
    ],
)
async def test_ingestion_refuses_bad_input_with_a_problem_naming_it(
    client: tuple[httpx.AsyncClient, dict[str, str]],
    kafka_bootstrap: str,
    body: bytes,
    status: int,
    named: str,
) -> None:
    http, keys = client
    before = await end_offsets(kafka_bootstrap)
    response = await http.post(
        "/v1/events",
        content=body,
        headers={**bearer(keys["write"]), "content-type": "application/cloudevents+json"},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in json.dumps(response.json())
    assert await end_offsets(kafka_bootstrap) == before, "nothing may be published"


async def test_ingestion_publishes_a_valid_batch_keyed_by_tenant_and_buyer(
    client: tuple[httpx.AsyncClient, dict[str, str]], kafka_bootstrap: str
) -> None:
    http, keys = client
    before = await end_offsets(kafka_bootstrap)
    batch = [invoice(), invoice(data__invoice_id="inv-2")]
    response = await http.post(
        "/v1/events",
        content=json.dumps(batch),
        headers={
            **bearer(keys["write"]),
            "content-type": "application/cloudevents-batch+json",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        },
    )
    assert response.status_code == 202, response.text
    assert response.json()["ids"] == [e["id"] for e in batch]
    after = await end_offsets(kafka_bootstrap)
    grown = {tp: after[tp] - before.get(tp, 0) for tp in after if after[tp] != before.get(tp, 0)}
    assert sum(grown.values()) == 2
    assert len(grown) == 1
    (tp,) = grown
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, before.get(tp, 0))
        records = (await consumer.getmany(tp, timeout_ms=5000))[tp]
    finally:
        await consumer.stop()
    assert [r.key for r in records] == [b"acme:b-1", b"acme:b-1"]
    headers = dict(records[0].headers)
    assert headers["ce_type"] == b"arshield.erp.InvoiceIssued.v1"
    assert headers["traceparent"].startswith(b"00-4bf92f3577b34da6a3ce929d0e0e4736-")


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topics.ERP, p) for p in range(6)]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def test_bursts_beyond_the_limit_get_429(fresh_database: str) -> None:
    await migrate(MIGRATIONS, fresh_database)
    engine = create_engine(fresh_database)
    settings = ServiceSettings(
        service_name="test",
        database_url=fresh_database,
        rate_limit_per_second=1,
        rate_limit_burst=5,
    )
    app = create_app(settings, engine, routers=[things])
    key = await create_api_key(engine, tenant_id="acme", name="dash", scopes=["read"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        codes = [
            (await http.get("/v1/things/acme-thing", headers=bearer(key))).status_code
            for _ in range(8)
        ]
        limited = await http.get("/v1/things/acme-thing", headers=bearer(key))
    await engine.dispose()
    assert codes[:5] == [200] * 5
    assert 429 in codes[5:]
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
