"""`POST /v1/events` over the real app and Kafka: what ingestion accepts is what consumers accept,
and anything else is a problem document naming the field, with nothing published."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from arshield_events import topics
from arshield_events.registry import parse_event
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.http import create_app
from arshield_runtime.ingestion import router as ingestion_router
from arshield_runtime.outbox import new_producer
from arshield_runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parent / "fixture_migrations"
SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


@pytest.fixture
async def http(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the ingestion app holding a `write` key of tenant acme."""
    await migrate(MIGRATIONS, fresh_database)
    engine = create_engine(fresh_database)
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    settings = ServiceSettings(
        service_name="test", database_url=fresh_database, max_body_bytes=256_000
    )
    app = create_app(settings, engine, routers=[ingestion_router], producer=producer)
    key = await create_api_key(engine, tenant_id="acme", name="erp", scopes=["write"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client
    await producer.stop()
    await engine.dispose()


def invoice(**data: Any) -> dict[str, Any]:
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
    document["data"].update(data)
    return document


def buyer(legal_name: str) -> dict[str, Any]:
    return {
        **invoice(),
        "type": "arshield.erp.BuyerRegistered.v1",
        "data": {
            "buyer_id": "b-1",
            "legal_name": legal_name,
            "country": "DE",
            "segment": "standard",
            "registered_on": "2024-03-01",
        },
    }


class Topic:
    """Records of arshield.erp published during a test, found by the test's own event ids (other
    engineers' tests may publish to the same topic meanwhile)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.partitions = [TopicPartition(topics.ERP, p) for p in range(6)]
        self.before: dict[TopicPartition, int] = {}

    async def mark(self) -> None:
        self.before = await self._end_offsets()

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        await consumer.start()
        try:
            return dict(await consumer.end_offsets(self.partitions))
        finally:
            await consumer.stop()

    async def published(self, *documents: dict[str, Any]) -> list[ConsumerRecord[Any, Any]]:
        ids = {document["id"].encode() for document in documents}
        after = await self._end_offsets()
        grown = [tp for tp in self.partitions if after[tp] > self.before.get(tp, 0)]
        if not grown:
            return []
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        found = []
        try:
            consumer.assign(grown)
            for tp in grown:
                consumer.seek(tp, self.before.get(tp, 0))
            pending = {tp: after[tp] for tp in grown}
            while pending:
                batches = await consumer.getmany(*pending, timeout_ms=5000)
                assert batches, "records below the end offset did not arrive"
                for tp, records in batches.items():
                    found += [r for r in records if dict(r.headers).get("ce_id") in ids]
                    if records[-1].offset + 1 >= after[tp]:
                        pending.pop(tp, None)
        finally:
            await consumer.stop()
        return found


@pytest.fixture
async def erp_topic(kafka_bootstrap: str) -> Topic:
    topic = Topic(kafka_bootstrap)
    await topic.mark()
    return topic


async def post(
    http: httpx.AsyncClient, body: bytes | str | Any, content_type: str | None = SINGLE
) -> httpx.Response:
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {"content-type": content_type} if content_type else {}
    return await http.post("/v1/events", content=content, headers=headers)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def locs(body: dict[str, Any]) -> list[str]:
    return [error["loc"] for error in body.get("errors", [])]


# --- 10, 11: what consumers cannot store is refused at the door ----------------------------


@pytest.mark.parametrize(
    ("document", "loc", "said"),
    [
        (invoice(issued_on="9999-01-01", due_on="9999-01-31"), "data.issued_on", "2199-12-31"),
        (buyer("ACME\x00 GmbH"), "data.legal_name", "U+0000"),
        ({**invoice(), "id": "evt\x00-1"}, "id", "U+0000"),
        ({**invoice(), "subject": "b-1\x07"}, "subject", "U+0007"),
        (invoice(invoice_number="2024\n0001"), "data.invoice_number", "U+000A"),
        ({**invoice(), "time": "9999-12-31T23:59:59Z"}, "time", "2199-12-31"),
        (invoice(amount={"amount": "100.50", "currency": "JPY"}), "data.amount", "JPY"),
        (invoice(amount={"amount": "1.0005", "currency": "KWD"}), "data.amount", "KWD"),
    ],
)
async def test_what_a_consumer_would_dead_letter_is_refused_naming_the_field(
    http: httpx.AsyncClient, erp_topic: Topic, document: dict[str, Any], loc: str, said: str
) -> None:
    body = problem(await post(http, document), 422)
    assert loc in locs(body)
    assert said in json.dumps(body, ensure_ascii=False)
    assert await erp_topic.published(document) == []


async def test_json_nested_5000_levels_is_a_400_not_a_500(
    http: httpx.AsyncClient, erp_topic: Topic
) -> None:
    document = invoice()
    raw = json.dumps(document)[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}"
    body = problem(await post(http, raw), 400)
    assert "nested deeper than 64" in body["detail"]
    assert await erp_topic.published(document) == []


async def test_a_lone_surrogate_is_a_422_not_a_500(http: httpx.AsyncClient) -> None:
    raw = json.dumps(invoice(invoice_number="X")).replace('"X"', '"\\udc00"')
    body = problem(await post(http, raw), 422)
    assert "data.invoice_number" in locs(body)


# --- 13: the Kafka path's decoder ------------------------------------------------------------


async def test_a_repeated_key_is_refused_as_on_the_kafka_path(
    http: httpx.AsyncClient, erp_topic: Topic
) -> None:
    document = invoice()
    raw = json.dumps(document).replace(
        '"amount": "1234.50"', '"amount": "1.00", "amount": "1000.00"'
    )
    assert raw.count('"amount": "') == 2
    body = problem(await post(http, raw), 400)
    assert "duplicate key 'amount'" in body["detail"]
    with pytest.raises(ValueError, match="duplicate key"):
        parse_event(raw)  # the consumers' gate says the same
    assert await erp_topic.published(document) == []


async def test_a_float_in_a_batch_item_is_named_by_position(http: httpx.AsyncClient) -> None:
    raw = json.dumps([invoice(), invoice()]).replace('"1234.50"', "1234.5")
    body = problem(await post(http, raw, BATCH), 422)
    assert {"[0].data.amount.amount", "[1].data.amount.amount"} <= set(locs(body))


# --- 12: duplicates inside a batch ----------------------------------------------------------


async def test_two_different_events_with_one_id_refuse_the_batch_naming_both(
    http: httpx.AsyncClient, erp_topic: Topic
) -> None:
    first = invoice()
    second = {**invoice(invoice_id="inv-2"), "id": first["id"]}
    body = problem(await post(http, [first, second], BATCH), 422)
    assert "[1].id" in locs(body)
    assert "[0]" in body["detail"]
    assert "[1]" in body["detail"]
    assert await erp_topic.published(first) == []


async def test_an_exact_repeat_in_a_batch_is_published_once(
    http: httpx.AsyncClient, erp_topic: Topic
) -> None:
    first, other = invoice(), invoice(invoice_id="inv-2")
    response = await post(http, [first, other, first], BATCH)
    assert response.status_code == 202, response.text
    assert response.json() == {
        "accepted": 2,
        "ids": [first["id"], other["id"]],
        "duplicates": [2],
    }
    records = await erp_topic.published(first, other)
    assert sorted(dict(r.headers)["ce_id"] for r in records) == sorted(
        [first["id"].encode(), other["id"].encode()]
    )


# --- 14: an ERP key publishes the ERP's own sources only -----------------------------------


@pytest.mark.parametrize("source", ["arshield/ledger", "Arshield/credit", "arshield"])
async def test_a_platform_source_is_forbidden(
    http: httpx.AsyncClient, erp_topic: Topic, source: str
) -> None:
    claimed = {**invoice(), "source": source}
    body = problem(await post(http, [invoice(), claimed], BATCH), 403)
    assert locs(body) == ["[1].source"]
    assert await erp_topic.published(claimed) == []


async def test_a_source_merely_starting_with_the_name_is_the_erps(
    http: httpx.AsyncClient,
) -> None:
    response = await post(http, {**invoice(), "source": "arshield-erp/sap"})
    assert response.status_code == 202, response.text


# --- 17: content types and shapes -----------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        None,
        "application/cloudevents+json; charset=latin-1",
    ],
)
async def test_other_content_types_get_415(
    http: httpx.AsyncClient, erp_topic: Topic, content_type: str | None
) -> None:
    document = invoice()
    body = problem(await post(http, document, content_type), 415)
    assert "application/cloudevents-batch+json" in body["detail"] or "UTF-8" in body["detail"]
    assert await erp_topic.published(document) == []


@pytest.mark.parametrize(
    ("body", "content_type", "loc"),
    [
        ([invoice()], SINGLE, ""),
        (invoice(), BATCH, ""),
        ([json.dumps(invoice())], BATCH, "[0]"),
        ([invoice(), 42], "application/json", "[1]"),
        ([], BATCH, ""),
    ],
)
async def test_a_body_of_the_wrong_shape_is_422(
    http: httpx.AsyncClient, body: Any, content_type: str, loc: str
) -> None:
    assert loc in locs(problem(await post(http, body, content_type), 422))


@pytest.mark.parametrize(
    ("content_type", "shape"),
    [
        ("application/json", "one"),
        ("application/json", "batch"),
        ("application/cloudevents+json; charset=utf-8", "one"),
        ("Application/CloudEvents-Batch+JSON", "batch"),
    ],
)
async def test_accepted_content_types(
    http: httpx.AsyncClient, erp_topic: Topic, content_type: str, shape: str
) -> None:
    document = invoice()
    response = await post(http, document if shape == "one" else [document], content_type)
    assert response.status_code == 202, response.text
    assert response.json()["ids"] == [document["id"]]
    assert len(await erp_topic.published(document)) == 1


# --- OpenAPI --------------------------------------------------------------------------------


async def test_openapi_documents_the_body_and_the_problems(http: httpx.AsyncClient) -> None:
    operation = (await http.get("/openapi.json")).json()["paths"]["/v1/events"]["post"]
    content = operation["requestBody"]["content"]
    assert {SINGLE, BATCH, "application/json"} <= content.keys()
    assert content[BATCH]["schema"]["type"] == "array"
    assert "data" in content[SINGLE]["schema"]["required"]
    assert {"400", "403", "413", "415", "422"} <= operation["responses"].keys()
    assert "application/problem+json" in operation["responses"]["415"]["content"]
