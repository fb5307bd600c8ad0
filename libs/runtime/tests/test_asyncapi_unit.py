"""The AsyncAPI document a service serves: per topic, the typed CloudEvents it handles and emits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import jsonschema
import pytest
import referencing
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.specification.asyncapi import AsyncAPI
from faststream.specification.asyncapi.v3_0_0.schema import ApplicationSchema

from arshield_events import clock, erp, ledger
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import BuyerRegistered, InvoiceIssued
from arshield_events.money import Money
from arshield_events.registry import event_document
from arshield_events.topics import CLOCK, ERP, LEDGER
from arshield_runtime.messaging import EventRouter, HandlerContext
from arshield_runtime.service import asyncapi_router
from arshield_runtime.settings import ServiceSettings
from arshield_runtime.subscriber import HandlesAllPolled, build_broker, envelope_schemas

pytestmark = pytest.mark.unit


class NoProcessor(HandlesAllPolled):
    async def process(self, records: Any, caught_up: Any = None) -> None:
        raise AssertionError("the document is generated without consuming")


def router_of(*payload_types: type[Payload]) -> EventRouter:
    router = EventRouter()

    @router.handles(*payload_types)
    async def handle(ctx: HandlerContext) -> None:
        return None

    return router


def broker_for(
    router: EventRouter, topics: list[str], publishes: tuple[type[Payload], ...] = ()
) -> KafkaBroker:
    return build_broker(
        bootstrap="127.0.0.1:1",
        topics=topics,
        group_id="arshield-test",
        processor=NoProcessor(),
        batch_max=100,
        client_id="test",
        handles=router.payload_types,
        publishes=publishes,
    )


def document(broker: KafkaBroker) -> dict[str, Any]:
    jsonable = AsyncAPI(broker, title="t", version="1").to_specification().to_jsonable()
    return json.loads(json.dumps(jsonable))  # type: ignore[no-any-return]


def resolve(doc: dict[str, Any], pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = doc
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def consumed_message(doc: dict[str, Any], topic: str) -> dict[str, Any]:
    (channel,) = [
        c for key, c in doc["channels"].items() if c["address"] == topic and "Outbox" not in key
    ]
    (message,) = channel["messages"].values()
    return resolve(doc, message["$ref"])  # type: ignore[no-any-return]


def payload_names(doc: dict[str, Any], message: dict[str, Any]) -> set[str]:
    payload = message["payload"]
    alternatives = payload.get("oneOf", [payload])
    return {resolve(doc, alternative["$ref"])["title"] for alternative in alternatives}


def invoice_issued() -> CloudEvent[Any]:
    euros = Money(amount=Decimal("1000.00"), currency="EUR")
    return envelope(
        InvoiceIssued(
            invoice_id="INV-1",
            invoice_number="2024-1",
            buyer_id="B-1",
            order_id="SO-1",
            issued_on=date(2024, 1, 2),
            delivered_on=date(2024, 1, 2),
            due_on=date(2024, 3, 2),
            amount=euros,
            payment_terms_days=60,
        ),
        id="e-1",
        source="erp/test",
        subject="B-1",
        tenantid="acme",
        time=datetime(2024, 1, 2, 9, tzinfo=UTC),
    )


def test_each_consumed_topic_shows_the_cloudevents_the_router_handles() -> None:
    broker = broker_for(
        router_of(InvoiceIssued, BuyerRegistered, clock.BusinessDayStarted), [ERP, CLOCK]
    )

    doc = document(broker)

    assert payload_names(doc, consumed_message(doc, ERP)) == {
        "arshield.erp.InvoiceIssued.v1",
        "arshield.erp.BuyerRegistered.v1",
    }
    assert payload_names(doc, consumed_message(doc, CLOCK)) == {clock.BusinessDayStarted.event_name}
    schemas = doc["components"]["schemas"]
    invoice = schemas["arshield.erp.InvoiceIssued.v1"]
    assert invoice["properties"]["type"]["const"] == "arshield.erp.InvoiceIssued.v1"
    assert set(invoice["required"]) >= {"id", "source", "type", "subject", "time", "data"}
    assert resolve(doc, invoice["properties"]["data"]["$ref"])["title"] == "InvoiceIssued"


def test_the_document_is_valid_asyncapi_with_every_reference_resolved() -> None:
    broker = broker_for(
        router_of(*erp.EVENTS, clock.BusinessDayStarted), [ERP, CLOCK], publishes=ledger.EVENTS
    )

    doc = document(broker)

    ApplicationSchema.model_validate(doc)  # FastStream's own model of AsyncAPI 3.0
    assert doc["asyncapi"] == "3.0.0"
    for pointer in refs(doc):
        resolve(doc, pointer)
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    # Operations: one receive per consumed topic, one send per outbox and dead-letter topic.
    actions = sorted(
        (op["action"], resolve(doc, op["channel"]["$ref"])["address"])
        for op in doc["operations"].values()
    )
    assert actions == sorted(
        [
            ("receive", ERP),
            ("receive", CLOCK),
            ("send", LEDGER),
            ("send", f"{ERP}.dlq"),
            ("send", f"{CLOCK}.dlq"),
        ]
    )


def test_a_serialized_event_validates_against_its_documented_schema() -> None:
    broker = broker_for(router_of(InvoiceIssued), [ERP])
    doc = document(broker)
    resource = referencing.Resource.from_contents(doc, referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource("urn:asyncapi", resource)
    schema = {"$ref": "urn:asyncapi#/components/schemas/arshield.erp.InvoiceIssued.v1"}
    validator = jsonschema.Draft202012Validator(schema, registry=registry)

    good = event_document(invoice_issued())
    validator.validate(good)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**good, "type": "arshield.erp.BuyerRegistered.v1"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**good, "data": {**good["data"], "unknown": 1}})


def test_published_topics_show_the_events_the_service_emits() -> None:
    broker = broker_for(router_of(InvoiceIssued), [ERP], publishes=ledger.EVENTS)

    doc = document(broker)

    (outbox,) = [c for key, c in doc["channels"].items() if key == f"{LEDGER}:Outbox"]
    (message,) = outbox["messages"].values()
    assert payload_names(doc, resolve(doc, message["$ref"])) == {
        t.event_name for t in ledger.EVENTS
    }


def test_a_topic_with_no_handled_type_is_documented_as_any_cloudevent() -> None:
    broker = broker_for(router_of(InvoiceIssued), [ERP, CLOCK])

    doc = document(broker)

    message = consumed_message(doc, CLOCK)
    assert resolve(doc, message["payload"]["$ref"])["title"] == f"{CLOCK}:CloudEvent"


def test_schemas_are_titled_by_event_name_and_pin_the_type() -> None:
    schemas = envelope_schemas([InvoiceIssued, *ledger.EVENTS])

    for payload_type, schema in schemas.items():
        assert schema["title"] == payload_type.event_name
        assert schema["properties"]["type"]["const"] == payload_type.event_name


def test_the_document_can_be_generated_twice() -> None:
    broker = broker_for(router_of(*erp.EVENTS), [ERP], publishes=ledger.EVENTS)

    assert document(broker) == document(broker)


async def test_the_service_serves_it_at_asyncapi_json() -> None:
    settings = ServiceSettings(service_name="test", topics=[ERP])
    broker = broker_for(router_of(InvoiceIssued), [ERP], publishes=ledger.EVENTS)
    app = FastAPI()
    app.include_router(asyncapi_router(broker, settings))

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        response = await client.get("/asyncapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert doc["info"]["title"] == "arshield test"
    assert "arshield.erp.InvoiceIssued.v1" in doc["components"]["schemas"]
