"""Trace continuity over the real Kafka, PostgreSQL and HTTP: the decisions a later tick takes
about an invoice, and the agency webhook of the case covering it, continue the trace of the
InvoiceIssued that started it, not the trace of the tick that took them."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from arshield_cli.clock import tick
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import ContractTerms, InvoiceIssued
from arshield_events.money import Money
from arshield_runtime.webhooks.signing import new_secret

pytestmark = pytest.mark.integration


def erp(tenant: str, data: Payload, buyer: str, on: date) -> CloudEvent[Any]:
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source="erp/test",
        subject=buyer,
        tenantid=tenant,
        time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


def invoice(number: str, buyer: str, issued: date, due: date, amount: str) -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=number,
        invoice_number=number,
        buyer_id=buyer,
        issued_on=issued,
        delivered_on=issued,
        due_on=due,
        amount=Money.of(amount, "EUR"),
        payment_terms_days=(due - issued).days,
        contract_terms=ContractTerms(
            jurisdiction="DE", late_interest="statutory", retention_of_title=False
        ),
    )


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id(traceparent: str) -> str:
    version, trace, span, _flags = traceparent.split("-")
    assert (version, len(trace), len(span)) == ("00", 32, 16), traceparent
    return trace


async def test_decisions_and_the_agency_webhook_continue_the_invoice_trace(
    stack: Any,
    dunning: Any,
    api_keys: dict[str, str],
    tenant: str,
    receiver_factory: Any,
) -> None:
    secret = new_secret()
    receiver = await receiver_factory(secret)
    receiver.script = [(500, {})]  # the retry must carry the trace too
    since = await stack.offsets()
    admin = {"authorization": f"Bearer {api_keys['admin']}"}
    async with httpx.AsyncClient(base_url=dunning.url) as api:
        created = await api.post(
            "/v1/agencies",
            headers=admin,
            json={"name": "Trace & Co", "url": receiver.url, "secret": secret},
        )
        assert created.status_code == 201, created.text

        # Two invoices, each ingested in its own trace, both more than 60 days overdue on `day`:
        # formally noticed by that day's tick and handed over together, in one case, by the next
        # day's (the ticks in traces of their own). The older invoice sorts last by id, so
        # "oldest" cannot pass for "first".
        day = date(2024, 6, 3)
        older, newer = new_traceparent(), new_traceparent()
        ticked, next_ticked = new_traceparent(), new_traceparent()
        await stack.publish(
            [
                erp(
                    tenant,
                    invoice("Z-OLD", "B1", date(2024, 1, 15), date(2024, 2, 14), "700.00"),
                    "B1",
                    day,
                )
            ],
            traceparent=older,
        )
        await stack.publish(
            [
                erp(
                    tenant,
                    invoice("A-NEW", "B1", date(2024, 2, 1), date(2024, 3, 2), "300.00"),
                    "B1",
                    day,
                )
            ],
            traceparent=newer,
        )
        await stack.wait_consumed(dunning.group)
        await stack.publish([tick(tenant, day)], traceparent=ticked)
        await stack.wait_consumed(dunning.group)
        await stack.publish([tick(tenant, day + timedelta(days=1))], traceparent=next_ticked)
        await stack.wait_consumed(dunning.group)

        # The webhook: every attempt carries the oldest invoice's trace, each in its own span.
        received = await receiver.wait_for(2, within=30)
        assert [r.status for r in received] == [500, 200]
        assert all(r.verified for r in received)
        sent = [r.headers["traceparent"] for r in received]
        assert [trace_id(tp) for tp in sent] == [trace_id(older)] * 2
        assert len({tp.split("-")[2] for tp in sent}) == 2
        body = json.loads(received[0].body)
        assert sorted(i["invoice_id"] for i in body["data"]["invoices"]) == ["A-NEW", "Z-OLD"]

        (delivery,) = (await api.get("/v1/deliveries", headers=admin)).json()["items"]
        assert trace_id(delivery["traceparent"]) == trace_id(older)

    # The tick's public decisions: each invoice's in its own trace, the case's in the oldest's.
    deadline = time.monotonic() + 15
    while True:
        records = [(r.event, r.headers) for r in await stack.records(tenant, since)]
        kinds = [event.type.split(".")[2] for event, _ in records]
        if "CaseHandedToAgency" in kinds or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    traces: dict[tuple[str, str], str] = {}
    for event, headers in records:
        subject = getattr(event.data, "invoice_id", None) or getattr(event.data, "case_id", "")
        traces[(event.type.split(".")[2], subject)] = trace_id(headers["traceparent"])
    case_id = body["data"]["case_id"]
    assert traces == {
        ("ReceiptConfirmationRequested", "Z-OLD"): trace_id(older),
        ("ReceiptConfirmationRequested", "A-NEW"): trace_id(newer),
        ("DunningLevelReached", "Z-OLD"): trace_id(older),
        ("DunningLevelReached", "A-NEW"): trace_id(newer),
        ("CollectionCaseOpened", case_id): trace_id(older),
        ("CaseHandedToAgency", case_id): trace_id(older),
    }
    assert trace_id(ticked) not in traces.values()
    assert trace_id(next_ticked) not in traces.values()
