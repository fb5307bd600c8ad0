"""Dunning end to end over real Kafka, PostgreSQL and HTTP: timeline, letters, promises,
policies, agency hand-over as Standard Webhooks with retries, and agency callbacks."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from arshield_cli.clock import tick
from arshield_dunning.entrypoints.api import router as api_router
from arshield_dunning.settings import DunningSettings
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import BuyerRegistered, ContractTerms, InvoiceIssued
from arshield_events.money import Money
from arshield_runtime.db import create_engine
from arshield_runtime.http import create_app
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
            jurisdiction="DE", late_interest="statutory", retention_of_title=True
        ),
    )


async def run_days(
    stack: Any,
    dunning: Any,
    tenant: str,
    first: date,
    last: date,
    facts: dict[date, list[CloudEvent[Any]]] | None = None,
) -> None:
    """Tick each day, then publish its facts, each step consumed before the next."""
    day = first
    while day <= last:
        await stack.publish([tick(tenant, day)])
        todays = (facts or {}).get(day)
        if todays:
            await stack.wait_consumed(dunning.group)
            await stack.publish(todays)
        day += timedelta(days=1)
    await stack.wait_consumed(dunning.group)


def signed(secret: str, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
    msg_id = f"msg_{uuid.uuid4().hex}"
    when = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body.decode()),
        "content-type": "application/json",
    }


async def test_dunning_timeline_letters_promises_case_and_callbacks(
    stack: Any,
    dunning: Any,
    api_keys: dict[str, str],
    tenant: str,
    receiver_factory: Any,
) -> None:
    secret = new_secret()
    receiver = await receiver_factory(secret)
    receiver.script = [(500, {}), (500, {}), (503, {})]
    since = await stack.offsets()
    async with httpx.AsyncClient(base_url=dunning.url) as api:

        def auth(scope: str) -> dict[str, str]:
            return {"authorization": f"Bearer {api_keys[scope]}"}

        created = await api.post(
            "/v1/agencies",
            headers=auth("admin"),
            json={"name": "Collect & Co", "url": receiver.url, "secret": secret},
        )
        assert created.status_code == 201, created.text
        agency_id = created.json()["agency_id"]

        start = date(2024, 1, 30)
        due = date(2024, 3, 1)
        facts = {
            start: [
                erp(
                    tenant,
                    BuyerRegistered(
                        buyer_id="B1",
                        legal_name="上海示例贸易有限公司",
                        country="CN",
                        segment="standard",
                        preferred_language="zh",
                        registered_on=start,
                    ),
                    "B1",
                    start,
                ),
                erp(tenant, invoice("INV-A", "B1", start, due, "1000.00"), "B1", start),
                erp(tenant, invoice("INV-B", "B1", start, due, "500.00"), "B1", start),
            ]
        }
        await run_days(stack, dunning, tenant, start, date(2024, 2, 20), facts)

        promise = await api.post(
            "/v1/promises",
            headers=auth("write"),
            json={
                "invoice_ids": ["INV-B"],
                "promised_on": "2024-03-10",
                "recorded_by": "controller",
            },
        )
        assert promise.status_code == 201, promise.text
        assert promise.json()["grace_until"] == "2024-03-13"
        refused = await api.post(
            "/v1/promises",
            headers=auth("write"),
            json={"invoice_ids": ["INV-B"], "promised_on": "2024-03-12"},
        )
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")

        await run_days(stack, dunning, tenant, date(2024, 2, 21), date(2024, 4, 30))

        # The timeline: what was done, with the policy version and the facts behind it.
        timeline = (await api.get("/v1/invoices/INV-A/timeline", headers=auth("read"))).json()
        done = [(e["action"], e["on"]) for e in timeline["entries"] if e["status"] == "done"]
        assert done == [
            ("receipt_confirmation", "2024-02-06"),
            ("reminder", "2024-02-15"),
            ("first_overdue_notice", "2024-03-02"),
            ("formal_notice", "2024-03-31"),
            ("agency_handover", "2024-04-30"),
        ]
        formal = timeline["entries"][3]
        assert formal["policy_version"] == "standard.v0"
        assert formal["facts"]["days_overdue"] == "30"
        assert formal["facts"]["outstanding"] == "1000.00"

        b_timeline = (await api.get("/v1/invoices/INV-B/timeline", headers=auth("read"))).json()
        b_done = [(e["action"], e["on"]) for e in b_timeline["entries"] if e["status"] == "done"]
        # paused by the promise from 20 Feb; broken after 10 Mar + 3 days' grace: escalated at once
        assert ("first_overdue_notice", "2024-03-14") in b_done
        promises = (await api.get("/v1/promises", headers=auth("read"))).json()["items"]
        assert [p["status"] for p in promises] == ["broken"]

        # The legal letter, in the buyer's language, with the ledger's interest and compensation.
        letter = (await api.get(f"/v1/letters/{formal['letter_id']}", headers=auth("read"))).json()
        assert letter["language"] == "zh"
        line = letter["content"]["lines"][0]
        assert Decimal(line["interest"]) > 0
        assert Decimal(line["compensation"]) == Decimal(40)
        text = (
            await api.get(
                f"/v1/letters/{formal['letter_id']}",
                headers={**auth("read"), "accept": "text/plain"},
            )
        ).text
        assert "正式催款函" in text
        assert "INV-A" in text
        assert "€40.00" in text

        # Another tenant sees nothing.
        other = await api.get("/v1/invoices/INV-A/timeline", headers=auth("other"))
        assert other.status_code == 404
        standing = (await api.get("/v1/buyers/B1/dunning", headers=auth("read"))).json()
        assert standing["open_invoices"] == ["INV-A", "INV-B"]
        assert standing["language"] == "zh"
        assert (await api.get("/v1/buyers/B1/dunning", headers=auth("other"))).status_code == 404

        # The hand-over went out as a Standard Webhook: 3 failures, then success, one webhook-id.
        received = await receiver.wait_for(4, within=30)
        assert [r.status for r in received] == [500, 500, 503, 200]
        assert all(r.verified for r in received)
        assert len({r.headers["webhook-id"] for r in received}) == 1
        gaps = [b.at - a.at for a, b in itertools.pairwise(received)]
        for gap, expected in zip(gaps, [1.0, 2.0, 3.0], strict=True):
            assert expected - 0.1 <= gap <= expected + 1.0, gaps
        body = json.loads(received[-1].body)
        assert body["type"] == "collection_case.opened"
        case_id = body["data"]["case_id"]
        assert sorted(i["invoice_id"] for i in body["data"]["invoices"]) == ["INV-A", "INV-B"]
        assert any(e["kind"] == "legal_letter" for e in body["data"]["evidence"])

        # the 200 reached the receiver; the dispatcher records it right after
        deadline = time.monotonic() + 10
        while True:
            deliveries = (await api.get("/v1/deliveries", headers=auth("admin"))).json()["items"]
            if deliveries[0]["status"] == "delivered" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert [d["status"] for d in deliveries] == ["delivered"]
        detail = (
            await api.get(f"/v1/deliveries/{deliveries[0]['delivery_id']}", headers=auth("admin"))
        ).json()
        assert [a["status_code"] for a in detail["attempts"]] == [500, 500, 503, 200]
        assert detail["delivery_id"] == received[0].headers["webhook-id"]

        # Re-delivery sends the same webhook-id again.
        again = await api.post(
            f"/v1/deliveries/{detail['delivery_id']}/redeliver", headers=auth("admin")
        )
        assert again.status_code == 202
        received = await receiver.wait_for(5, within=10)
        assert received[-1].headers["webhook-id"] == detail["delivery_id"]

        # Agency callbacks: signed, idempotent.
        url = f"/v1/agencies/{agency_id}/callbacks"
        update = json.dumps(
            {"case_id": case_id, "status": "accepted", "agency_reference": "AG-77"}
        ).encode()
        headers = {**auth("agency"), **signed(secret, update), "idempotency-key": "cb-1"}
        first = await api.post(url, content=update, headers=headers)
        assert first.status_code == 200, first.text
        replay = await api.post(url, content=update, headers=headers)
        assert replay.status_code == 200
        assert replay.json() == first.json()
        assert replay.headers.get("idempotent-replayed") == "true"

        collected = json.dumps(
            {
                "case_id": case_id,
                "status": "payment_collected",
                "collected": {"amount": "500.00", "currency": "EUR"},
            }
        ).encode()
        ok = await api.post(
            url,
            content=collected,
            headers={**auth("agency"), **signed(secret, collected), "idempotency-key": "cb-2"},
        )
        assert ok.status_code == 200, ok.text

        # Refused, each with a problem document, and nothing changed.
        bad_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        closing = json.dumps({"case_id": case_id, "status": "closed"}).encode()
        attempts = {
            "unsigned": {
                **auth("agency"),
                "idempotency-key": "x1",
                "content-type": "application/json",
            },
            "wrong secret": {
                **auth("agency"),
                **signed(bad_secret, closing),
                "idempotency-key": "x2",
            },
            "stale": {
                **auth("agency"),
                **signed(secret, closing, at=datetime.now(UTC) - timedelta(minutes=10)),
                "idempotency-key": "x3",
            },
        }
        for name, refused_headers in attempts.items():
            answer = await api.post(url, content=closing, headers=refused_headers)
            assert answer.status_code == 401, name
            assert answer.headers["content-type"].startswith("application/problem+json")
        second_secret = new_secret()
        other_agency = (
            await api.post(
                "/v1/agencies",
                headers=auth("admin"),
                json={"name": "Other", "url": receiver.url, "secret": second_secret},
            )
        ).json()
        foreign = await api.post(
            f"/v1/agencies/{other_agency['agency_id']}/callbacks",
            content=closing,
            headers={**auth("agency"), **signed(second_secret, closing), "idempotency-key": "x4"},
        )
        assert foreign.status_code == 404
        assert foreign.headers["content-type"].startswith("application/problem+json")

        case = (await api.get(f"/v1/cases/{case_id}", headers=auth("read"))).json()
        assert case["status"] == "payment_collected"
        assert Decimal(case["collected"]) == Decimal("500.00")
        assert [h["status"] for h in case["history"]] == ["accepted", "payment_collected"]

        # Policies: versioned, written through the API, bad offsets refused.
        overlapping = await api.put(
            "/v1/policies/standard",
            headers=auth("write"),
            json={
                "escalation": [
                    {"action": "first_overdue_notice", "days_after_due": 10},
                    {"action": "formal_notice", "days_after_due": 10},
                ]
            },
        )
        negative = await api.put(
            "/v1/policies/standard", headers=auth("write"), json={"reminder_days_before_due": [-2]}
        )
        for answer in (overlapping, negative):
            assert answer.status_code == 422
            assert answer.headers["content-type"].startswith("application/problem+json")
        versions = (await api.get("/v1/policies/standard", headers=auth("read"))).json()
        assert [v["version"] for v in versions["items"]] == [0]
        written = await api.put(
            "/v1/policies/watch", headers=auth("write"), json={"reminder_days_before_due": [10, 5]}
        )
        assert written.status_code == 201
        assert written.json()["policy_version"] == "watch.v1"

    # The public events, once each.
    deadline = time.monotonic() + 10
    while True:
        events = await stack.events(tenant, since)
        kinds = [e.type.split(".")[2] for e in events]
        if kinds.count("AgencyCaseUpdated") >= 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert len({e.id for e in events}) == len(events)
    assert kinds.count("DunningLevelReached") == 6
    assert kinds.count("PaymentReminderSent") == 2
    assert kinds.count("PromiseToPayRecorded") == 1
    assert kinds.count("PromiseToPayBroken") == 1
    assert kinds.count("CollectionCaseOpened") == 1
    assert kinds.count("CaseHandedToAgency") == 1
    assert kinds.count("AgencyCaseUpdated") == 2


async def test_410_gone_disables_the_endpoint(
    stack: Any,
    dunning: Any,
    api_keys: dict[str, str],
    tenant: str,
    receiver_factory: Any,
) -> None:
    secret = new_secret()
    receiver = await receiver_factory(secret)
    receiver.script = [(410, {})]
    async with httpx.AsyncClient(base_url=dunning.url) as api:
        admin = {"authorization": f"Bearer {api_keys['admin']}"}
        agency = (
            await api.post(
                "/v1/agencies",
                headers=admin,
                json={"name": "Gone Inc", "url": receiver.url, "secret": secret},
            )
        ).json()
        day = date(2024, 6, 1)
        # an invoice that arrives 70 days overdue gets its formal notice at once and is handed
        # over the next business day
        await stack.publish(
            [
                erp(
                    tenant,
                    invoice("OLD-1", "B9", date(2024, 2, 1), date(2024, 3, 23), "250.00"),
                    "B9",
                    day,
                )
            ]
        )
        await stack.wait_consumed(dunning.group)
        await run_days(stack, dunning, tenant, day, day + timedelta(days=1))
        await receiver.wait_for(1, within=20)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = (await api.get(f"/v1/agencies/{agency['agency_id']}", headers=admin)).json()
            if not state["enabled"]:
                break
        assert state["enabled"] is False
        assert "410" in state["disabled_reason"]
        (delivery,) = (await api.get("/v1/deliveries", headers=admin)).json()["items"]
        assert delivery["status"] == "failed"
        assert delivery["attempts"] == 1
        await asyncio.sleep(1.5)  # past the first retry interval: nothing more is sent
        assert len(receiver.received) == 1


async def test_private_endpoints_are_refused_unless_allowed(fresh_database: str) -> None:
    """A deployment that does not allow private targets refuses loopback and 10/8 endpoints."""
    from arshield_dunning.bootstrap import MIGRATIONS
    from arshield_runtime.auth import create_api_key
    from arshield_runtime.db import migrate

    await migrate(MIGRATIONS, fresh_database)
    settings = DunningSettings(database_url=fresh_database, allow_private_webhook_targets=False)
    engine = create_engine(fresh_database, pool_size=2)
    try:
        key = await create_api_key(engine, tenant_id="t", name="admin", scopes=["admin"])
        app = create_app(settings, engine, routers=[api_router])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dunning") as api:
            headers = {"authorization": f"Bearer {key}"}
            for url in (
                "http://127.0.0.1:8080/hook",
                "https://10.20.30.40/hook",
                "http://localhost/hook",
                "http://169.254.169.254/latest",
            ):
                answer = await api.post(
                    "/v1/agencies", headers=headers, json={"name": "x", "url": url}
                )
                assert answer.status_code == 422, url
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert "private" in answer.json()["detail"]
            bad_secret = await api.post(
                "/v1/agencies",
                headers=headers,
                json={"name": "x", "url": "https://example.com/hook", "secret": "plain"},
            )
            assert bad_secret.status_code == 422
            assert (await api.get("/v1/agencies", headers=headers)).json()["items"] == []
    finally:
        await engine.dispose()


async def test_a_rebuild_from_the_log_reproduces_the_read_models(
    stack: Any,
    dunning: Any,
    tenant: str,
    api_keys: dict[str, str],
) -> None:
    """Including after a policy change mid-history: the new version travels on the log, so the
    rebuild decides each day under the version in force that day, as live did."""
    import asyncpg

    from arshield_events.erp import DisputeRaised, DisputeResolved, Instalment, PaymentReceived
    from arshield_events.ledger import PaymentUnapplied

    start = date(2024, 1, 2)
    due = date(2024, 2, 1)
    facts = {
        start: [
            erp(
                tenant,
                BuyerRegistered(
                    buyer_id="C1",
                    legal_name="Kern AG",
                    country="DE",
                    segment="core",
                    preferred_language="de",
                    registered_on=start,
                ),
                "C1",
                start,
            ),
            erp(tenant, invoice("R-1", "C1", start, due, "12000.00"), "C1", start),
            erp(tenant, invoice("R-2", "C1", start, due, "300.00"), "C1", start),
            erp(
                tenant,
                invoice("R-3", "C1", start, date(2024, 3, 1), "1000.00").model_copy(
                    update={
                        "instalments": (
                            Instalment(
                                seq=1, due_on=date(2024, 1, 20), amount=Money.of("400.00", "EUR")
                            ),
                            Instalment(
                                seq=2, due_on=date(2024, 3, 1), amount=Money.of("600.00", "EUR")
                            ),
                        )
                    }
                ),
                "C1",
                start,
            ),
        ],
        date(2024, 2, 5): [
            erp(
                tenant,
                DisputeRaised(
                    dispute_id="D2",
                    invoice_id="R-1",
                    buyer_id="C1",
                    disputed_amount=Money.of("1000.00", "EUR"),
                    reason="short delivery",
                    raised_on=date(2024, 2, 5),
                ),
                "C1",
                date(2024, 2, 5),
            ),
            erp(
                tenant,
                DisputeRaised(
                    dispute_id="D1",
                    invoice_id="R-2",
                    buyer_id="C1",
                    disputed_amount=Money.of("300.00", "EUR"),
                    reason="damaged",
                    raised_on=date(2024, 2, 5),
                ),
                "C1",
                date(2024, 2, 5),
            ),
        ],
        date(2024, 2, 20): [
            erp(
                tenant,
                PaymentReceived(
                    payment_id="P1",
                    buyer_id="C1",
                    amount=Money.of("2000.00", "EUR"),
                    received_on=date(2024, 2, 20),
                    allocations=[{"invoice_id": "R-1", "amount": Money.of("2000.00", "EUR")}],  # type: ignore[list-item]
                ),
                "C1",
                date(2024, 2, 20),
            ),
            erp(
                tenant,
                PaymentReceived(
                    payment_id="P9",
                    buyer_id="C1",
                    amount=Money.of("150.00", "EUR"),
                    received_on=date(2024, 2, 20),
                ),
                "C1",
                date(2024, 2, 20),
            ),
            erp(
                tenant,
                PaymentUnapplied(
                    payment_id="P9",
                    buyer_id="C1",
                    unapplied=Money.of("150.00", "EUR"),
                    received_on=date(2024, 2, 20),
                ),
                "C1",
                date(2024, 2, 20),
            ),
            erp(
                tenant,
                DisputeResolved(
                    dispute_id="D1",
                    invoice_id="R-2",
                    buyer_id="C1",
                    outcome="rejected",
                    resolved_on=date(2024, 2, 20),
                ),
                "C1",
                date(2024, 2, 20),
            ),
        ],
    }
    await run_days(stack, dunning, tenant, start, date(2024, 2, 10), facts)
    # From 12 Feb the core timeline escalates to the formal notice at due + 20 (not + 30).
    before = await stack.offsets()
    async with httpx.AsyncClient(base_url=dunning.url) as api:
        written = await api.put(
            "/v1/policies/core",
            headers={"authorization": f"Bearer {api_keys['write']}"},
            json={
                "statement_day_of_month": 1,
                "escalation": [
                    {"action": "first_overdue_notice", "days_after_due": 1},
                    {"action": "formal_notice", "days_after_due": 20},
                    {"action": "agency_handover", "days_after_due": 60},
                ],
            },
        )
    assert written.status_code == 201, written.text
    deadline = time.monotonic() + 20
    while await stack.offsets() == before:  # the relay published it to dunning's topic
        assert time.monotonic() < deadline, "the policy never reached dunning's topic"
        await asyncio.sleep(0.1)
    await stack.wait_consumed(dunning.group)
    await run_days(stack, dunning, tenant, date(2024, 2, 11), date(2024, 4, 10), facts)

    queries = {
        "buyers": "SELECT buyer_id, state, wake_on FROM buyer_states ORDER BY 1",
        "actions": "SELECT action_id, invoice_id, action, level, taken_on, planned_on, "
        "policy_version, facts, letter_id, cause_event_id FROM dunning_actions "
        "ORDER BY 1",
        "letters": "SELECT letter_id, kind, language, as_of, invoice_ids, content, body "
        "FROM dunning_letters ORDER BY 1",
        "pauses": "SELECT * FROM dunning_pauses ORDER BY invoice_id, reference_id",
        "clock": "SELECT * FROM business_dates",
    }

    async def snapshot() -> dict[str, list[Any]]:
        conn = await asyncpg.connect(dunning.database_url.replace("+asyncpg", ""))
        try:
            return {name: [tuple(r) for r in await conn.fetch(q)] for name, q in queries.items()}
        finally:
            await conn.close()

    live = await snapshot()
    formal = [row for row in live["actions"] if row[2] == "formal_notice"]
    # R-2's dispute was rejected on 20 Feb: it resumes and catches up the same day as R-1, whose
    # dispute of 1,000 of its 12,000 leaves the rest on its timeline; R-3's first instalment
    # (due 20 January) drives its timeline
    assert sorted((row[1], row[4], row[6]) for row in formal if row[1] != "R-3") == [
        ("R-1", date(2024, 2, 21), "core.v1"),
        ("R-2", date(2024, 2, 21), "core.v1"),
    ]
    (r3,) = [row for row in formal if row[1] == "R-3"]
    assert json.loads(r3[7])["due_on"] == "2024-01-20"
    # the 150 EUR on account is netted in the letters after it arrived
    assert any('"on_account":"150.00"' in str(row[5]).replace(" ", "") for row in live["letters"])
    kinds = {row[2] for row in live["actions"]}
    assert {
        "reminder",
        "first_overdue_notice",
        "formal_notice",
        "statement",
        "controller_assignment",
    } <= kinds
    assert live["pauses"]

    dunning.rebuild()
    assert await snapshot() == live
