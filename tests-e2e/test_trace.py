"""One trace id follows an invoice from the ERP's HTTP ingestion through the ledger and the
dunning decisions to the collection agency's webhook."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI, Request, Response
from harness import new_tenant
from standardwebhooks import Webhook

from arshield_cli import platform
from arshield_cli.replay import advance_clock
from arshield_cli.stack import StackSettings
from arshield_events import topics

pytestmark = pytest.mark.e2e


class Receiver:
    """A collection agency's endpoint that verifies every delivery with `standardwebhooks`."""

    def __init__(self) -> None:
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.deliveries: list[dict[str, Any]] = []
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            body = await request.body()
            Webhook(self.secret).verify(body, dict(request.headers))
            self.deliveries.append({"headers": dict(request.headers), "body": json.loads(body)})
            return Response(status_code=204)

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def records_of(
    bootstrap: str, topic: str, tenant: str
) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found = []
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                for record in batch:
                    document = json.loads(record.value)
                    if document.get("tenantid") == tenant:
                        found.append((document, dict(record.headers)))
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


def test_one_trace_links_ingestion_ledger_dunning_and_the_webhook(services: StackSettings) -> None:
    tenant = new_tenant(services, "trace")
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    issued = date(2024, 1, 10)
    buyer, invoice = "TR-BUYER", "TR-INV-1"
    base = {
        "specversion": "1.0",
        "source": "erp/trace-test",
        "subject": buyer,
        "tenantid": tenant.name,
        "time": "2024-01-10T09:00:00Z",
    }
    events = [
        {
            **base,
            "id": str(uuid.uuid4()),
            "type": "arshield.erp.BuyerRegistered.v1",
            "data": {
                "buyer_id": buyer,
                "legal_name": "Trace Buyer GmbH",
                "country": "DE",
                "segment": "standard",
                "preferred_language": "de",
                "registered_on": issued.isoformat(),
            },
        },
        {
            **base,
            "id": str(uuid.uuid4()),
            "type": "arshield.erp.InvoiceIssued.v1",
            "data": {
                "invoice_id": invoice,
                "invoice_number": invoice,
                "buyer_id": buyer,
                "issued_on": issued.isoformat(),
                "delivered_on": issued.isoformat(),
                "due_on": (issued + timedelta(days=30)).isoformat(),
                "amount": {"amount": "12000.00", "currency": "EUR"},
                "payment_terms_days": 30,
                "contract_terms": {
                    "jurisdiction": "DE",
                    "late_interest": "statutory",
                    "retention_of_title": True,
                },
            },
        },
    ]
    with Receiver() as receiver:
        with tenant.client("dunning", "admin") as dunning:
            registered = dunning.post(
                "/v1/agencies",
                json={"name": "Trace Collections", "url": receiver.url, "secret": receiver.secret},
            )
            assert registered.status_code == 201, registered.text
        asyncio.run(
            advance_clock(services, platform.SERVICES, tenant=tenant.name, to=issued, start=issued)
        )
        with tenant.client("ledger", "write") as ledger:
            accepted = ledger.post(
                "/v1/events",
                content=json.dumps(events),
                headers={
                    "content-type": "application/cloudevents-batch+json",
                    "traceparent": traceparent,
                },
            )
            assert accepted.status_code == 202, accepted.text
        asyncio.run(
            advance_clock(
                services, platform.SERVICES, tenant=tenant.name, to=issued + timedelta(days=30 + 62)
            )
        )
        deadline = time.monotonic() + 60
        while not receiver.deliveries and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receiver.deliveries, "the agency received no hand-over"
        assert receiver.deliveries[0]["headers"]["traceparent"].split("-")[1] == trace_id

    def traced(topic: str) -> dict[str, set[str]]:
        found = asyncio.run(records_of(services.kafka_bootstrap, topic, tenant.name))
        kinds: dict[str, set[str]] = {}
        for document, headers in found:
            trace = headers.get("traceparent", b"").decode().split("-")
            kinds.setdefault(document["type"].split(".")[2], set()).add(
                trace[1] if len(trace) > 1 else ""
            )
        return kinds

    ledger_events = traced(topics.LEDGER)
    assert trace_id in ledger_events["InvoiceBalanceChanged"], "the ledger handled it in the trace"
    dunning_events = traced(topics.DUNNING)
    for kind in ("DunningLevelReached", "CollectionCaseOpened", "CaseHandedToAgency"):
        assert dunning_events.get(kind) == {trace_id}, f"{kind}: {dunning_events.get(kind)}"
