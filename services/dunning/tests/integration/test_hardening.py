"""Hardening of dunning's webhooks, callbacks and API against the real PostgreSQL and a real
loopback receiver: replayed callbacks, collected totals, secret rotation and sealing, sanitised
attempt errors, pinned connections, platform ports, the redeliver wake-up, bounds and pages."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from arshield_dunning.adapters import tables as t
from arshield_dunning.bootstrap import MIGRATIONS, bootstrap
from arshield_dunning.entrypoints.api import router as api_router
from arshield_dunning.settings import DunningSettings
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.http import create_app
from arshield_runtime.webhooks.dispatcher import WebhookDispatcher
from arshield_runtime.webhooks.secrets import SEALED, SecretBox, seal_plaintext_secrets
from arshield_runtime.webhooks.signing import new_secret

pytestmark = pytest.mark.integration


@dataclass
class Env:
    settings: DunningSettings
    engine: AsyncEngine
    app: FastAPI
    api: httpx.AsyncClient
    tenant: str
    keys: dict[str, str]

    def auth(self, scope: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[scope]}"}


@pytest.fixture
async def env(fresh_database: str) -> AsyncIterator[Env]:
    await migrate(MIGRATIONS, fresh_database)
    settings = DunningSettings(
        database_url=fresh_database,
        environment="test",
        allow_private_webhook_targets=True,
        secrets_key=Fernet.generate_key().decode(),  # type: ignore[arg-type]
        webhook_retry_schedule=[30.0],
        webhook_jitter=0,
        dispatcher_poll_seconds=30.0,
    )
    engine = create_engine(fresh_database, pool_size=4)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    keys = {
        scope: await create_api_key(engine, tenant_id=tenant, name=scope, scopes=[scope])
        for scope in ("read", "write", "admin", "agency")
    }
    app = create_app(settings, engine, routers=[api_router])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dunning") as api:
        yield Env(settings, engine, app, api, tenant, keys)
    await engine.dispose()


def signed(secret: str, body: bytes, msg_id: str | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
        "content-type": "application/json",
    }


async def agency_with_case(env: Env, url: str = "http://127.0.0.1:9/hook") -> tuple[str, str, str]:
    """An agency (registered through the API) and a case of 1000 EUR handed over to it."""
    secret = new_secret()
    created = await env.api.post(
        "/v1/agencies", headers=env.auth("admin"), json={"name": "A", "url": url, "secret": secret}
    )
    assert created.status_code == 201, created.text
    agency_id = created.json()["agency_id"]
    case_id = f"case_{uuid.uuid4().hex[:8]}"
    async with env.engine.begin() as connection:
        await connection.execute(
            t.cases.insert().values(
                case_id=case_id,
                tenant_id=env.tenant,
                buyer_id="B1",
                agency_id=agency_id,
                status="handed_over",
                invoice_ids=["INV-1"],
                amount=Decimal("1000.00"),
                currency="EUR",
                evidence={},
                opened_on=date(2024, 5, 1),
                policy_version="standard.v0",
            )
        )
    return agency_id, secret, case_id


async def callback(
    env: Env,
    agency_id: str,
    secret: str,
    update: dict[str, Any],
    key: str,
    msg_id: str | None = None,
) -> httpx.Response:
    body = json.dumps(update).encode()
    return await env.api.post(
        f"/v1/agencies/{agency_id}/callbacks",
        content=body,
        headers={**env.auth("agency"), **signed(secret, body, msg_id), "idempotency-key": key},
    )


async def case_of(env: Env, case_id: str) -> dict[str, Any]:
    answer = await env.api.get(f"/v1/cases/{case_id}", headers=env.auth("read"))
    assert answer.status_code == 200
    return dict(answer.json())


async def test_a_replayed_callback_with_a_new_idempotency_key_has_no_second_effect(
    env: Env,
) -> None:
    agency_id, secret, case_id = await agency_with_case(env)
    collected = {
        "case_id": case_id,
        "status": "payment_collected",
        "collected": {"amount": "400.00", "currency": "EUR"},
    }
    body = json.dumps(collected).encode()
    headers = {**env.auth("agency"), **signed(secret, body)}
    url = f"/v1/agencies/{agency_id}/callbacks"
    first = await env.api.post(url, content=body, headers={**headers, "idempotency-key": "k1"})
    assert first.status_code == 200, first.text
    # the captured message, replayed within the signature's 5 minutes under a fresh key
    replay = await env.api.post(url, content=body, headers={**headers, "idempotency-key": "k2"})
    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    case = await case_of(env, case_id)
    assert [h["status"] for h in case["history"]] == ["payment_collected"]
    async with env.engine.connect() as connection:
        remembered = await connection.scalar(
            sa.select(sa.func.count())
            .select_from(t.callbacks)
            .where(t.callbacks.c.webhook_id == headers["webhook-id"])
        )
    assert remembered == 1


async def test_collected_never_exceeds_the_case_amount_nor_falls(env: Env) -> None:
    agency_id, secret, case_id = await agency_with_case(env)

    def collected(amount: str) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "status": "payment_collected",
            "collected": {"amount": amount, "currency": "EUR"},
        }

    too_much = await callback(env, agency_id, secret, collected("1000.01"), "c1")
    assert too_much.status_code == 422
    assert too_much.headers["content-type"].startswith("application/problem+json")
    assert too_much.json()["errors"][0]["loc"] == "collected.amount"
    assert (await callback(env, agency_id, secret, collected("600.00"), "c2")).status_code == 200
    lower = await callback(env, agency_id, secret, collected("500.00"), "c3")
    assert lower.status_code == 422
    assert lower.json()["errors"][0]["loc"] == "collected.amount"
    assert (await callback(env, agency_id, secret, collected("1000.00"), "c4")).status_code == 200
    case = await case_of(env, case_id)
    assert Decimal(case["collected"]) == Decimal("1000.00")
    assert len(case["history"]) == 2


async def test_a_rotated_out_secret_verifies_for_the_grace_period_then_no_longer(
    env: Env,
) -> None:
    agency_id, old_secret, case_id = await agency_with_case(env)
    now = datetime.now(UTC)
    env.app.state.clock = lambda: now
    rotated = await env.api.post(
        f"/v1/agencies/{agency_id}/rotate-secret", headers=env.auth("admin")
    )
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    accepted = {"case_id": case_id, "status": "accepted"}
    env.app.state.clock = lambda: now + timedelta(hours=23)
    assert (await callback(env, agency_id, old_secret, accepted, "r1")).status_code == 200
    collecting = {"case_id": case_id, "status": "collecting"}
    env.app.state.clock = lambda: now + timedelta(hours=24, seconds=1)
    late = await callback(env, agency_id, old_secret, collecting, "r2")
    assert late.status_code == 401
    assert (await callback(env, agency_id, new, collecting, "r3")).status_code == 200


async def test_agency_secrets_are_sealed_at_rest_and_plaintext_rows_sealed_on_start(
    env: Env,
) -> None:
    agency_id, secret, case_id = await agency_with_case(env)
    async with env.engine.begin() as connection:
        stored = await connection.scalar(
            sa.select(t.agencies.c.secret).where(t.agencies.c.agency_id == agency_id)
        )
        assert stored.startswith(SEALED)
        assert secret not in stored
        # a row written before sealing existed
        await connection.execute(
            t.agencies.update().where(t.agencies.c.agency_id == agency_id).values(secret=secret)
        )
    accepted = {"case_id": case_id, "status": "accepted"}
    assert (await callback(env, agency_id, secret, accepted, "s1")).status_code == 200
    box = SecretBox(env.settings.secrets_key.get_secret_value())
    assert await seal_plaintext_secrets(env.engine, box, t.webhooks) == 1
    async with env.engine.connect() as connection:
        stored = await connection.scalar(
            sa.select(t.agencies.c.secret).where(t.agencies.c.agency_id == agency_id)
        )
    assert stored.startswith(SEALED)
    assert box.open(stored) == secret
    collecting = {"case_id": case_id, "status": "collecting"}
    assert (await callback(env, agency_id, secret, collecting, "s2")).status_code == 200


async def pending_delivery(env: Env, agency_id: str, status: str = "pending") -> str:
    delivery_id = f"msg_{uuid.uuid4().hex}"
    async with env.engine.begin() as connection:
        await connection.execute(
            t.deliveries.insert().values(
                delivery_id=delivery_id,
                tenant_id=env.tenant,
                agency_id=agency_id,
                event_type="collection_case.opened",
                body='{"type":"collection_case.opened"}',
                status=status,
                next_attempt_at=datetime.now(UTC) if status == "pending" else None,
            )
        )
    return delivery_id


async def test_a_failed_delivery_stores_the_status_not_the_body(
    env: Env, receiver_factory: Any
) -> None:
    secret = new_secret()
    receiver = await receiver_factory(secret)
    receiver.script = [(404, {})]
    receiver.answer_body = b'{"internal":"an answer of the platform\'s own API"}'
    agency_id, _, _ = await agency_with_case(env, receiver.url)
    async with env.engine.begin() as connection:
        await connection.execute(
            t.agencies.update()
            .where(t.agencies.c.agency_id == agency_id)
            .values(secret=SecretBox(env.settings.secrets_key.get_secret_value()).seal(secret))
        )
    delivery_id = await pending_delivery(env, agency_id)
    dispatcher = WebhookDispatcher(env.engine, t.webhooks, env.settings)
    try:
        assert await dispatcher.dispatch_due() == 1
    finally:
        await dispatcher.close()
    assert len(receiver.received) == 1
    assert receiver.received[0].verified
    detail = await env.api.get(f"/v1/deliveries/{delivery_id}", headers=env.auth("admin"))
    assert detail.status_code == 200
    assert detail.json()["last_error"] == "HTTP 404"
    assert [a["error"] for a in detail.json()["attempts"]] == ["HTTP 404"]
    assert "internal" not in detail.text


class LoopbackResolver:
    """Resolves one made-up name to loopback, the first time only (a rebinding name would
    answer something else next); counts the lookups."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        assert host == self.name
        self.calls += 1
        return ["127.0.0.1"] if self.calls == 1 else ["192.0.2.1"]


async def test_deliveries_go_to_the_checked_address_with_the_original_host(
    env: Env, receiver_factory: Any
) -> None:
    secret = new_secret()
    receiver = await receiver_factory(secret)
    name = "agency.invalid"  # never resolves through real DNS: only the pinned address works
    agency_id, _, _ = await agency_with_case(env, receiver.url)
    async with env.engine.begin() as connection:
        await connection.execute(
            t.agencies.update()
            .where(t.agencies.c.agency_id == agency_id)
            .values(
                url=f"http://{name}:{receiver.port}/hooks",
                secret=SecretBox(env.settings.secrets_key.get_secret_value()).seal(secret),
            )
        )
    delivery_id = await pending_delivery(env, agency_id)
    resolver = LoopbackResolver(name)
    dispatcher = WebhookDispatcher(env.engine, t.webhooks, env.settings, resolver=resolver)
    try:
        await dispatcher.dispatch_due()
    finally:
        await dispatcher.close()
    assert resolver.calls == 1
    (received,) = receiver.received
    assert received.headers["host"] == f"{name}:{receiver.port}"
    assert received.verified
    detail = (await env.api.get(f"/v1/deliveries/{delivery_id}", headers=env.auth("admin"))).json()
    assert detail["status"] == "delivered"


async def test_platform_ports_and_metadata_are_refused_as_agency_urls(env: Env) -> None:
    own = env.settings.http_port
    for url in (
        "http://127.0.0.1:8101/v1/cases",
        f"http://localhost:{own}/v1/deliveries",
        "http://169.254.169.254/latest/meta-data",
    ):
        answer = await env.api.post(
            "/v1/agencies", headers=env.auth("admin"), json={"name": "x", "url": url}
        )
        assert answer.status_code == 422, url
        assert answer.json()["errors"][0]["loc"] == "url"
    fine = await env.api.post(
        "/v1/agencies",
        headers=env.auth("admin"),
        json={"name": "x", "url": "http://127.0.0.1:8190/webhooks"},
    )
    assert fine.status_code == 201


async def test_the_redeliver_route_wakes_the_dispatcher(env: Env, receiver_factory: Any) -> None:
    """As the runtime runs it: the service's state is copied onto the app, then the background
    dispatcher starts. It polls every 30 s; the re-sent delivery goes out within a few."""
    secret = new_secret()
    receiver = await receiver_factory(secret)
    agency_id, _, _ = await agency_with_case(env, receiver.url)
    async with env.engine.begin() as connection:
        await connection.execute(
            t.agencies.update()
            .where(t.agencies.c.agency_id == agency_id)
            .values(secret=SecretBox(env.settings.secrets_key.get_secret_value()).seal(secret))
        )
    delivery_id = await pending_delivery(env, agency_id, status="delivered")
    definition = bootstrap(env.settings)
    for name, value in definition.state.items():
        setattr(env.app.state, name, value)
    (background,) = definition.background
    task = asyncio.create_task(background(SimpleNamespace(engine=env.engine)))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.5)  # the dispatcher found nothing due and waits
        assert receiver.received == []
        started = time.monotonic()
        again = await env.api.post(
            f"/v1/deliveries/{delivery_id}/redeliver", headers=env.auth("admin")
        )
        assert again.status_code == 202
        await receiver.wait_for(1, within=5)
        assert time.monotonic() - started < 5 < env.settings.dispatcher_poll_seconds
        assert receiver.received[0].headers["webhook-id"] == delivery_id
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_out_of_range_input_is_a_problem_naming_the_field(env: Env) -> None:
    write = env.auth("write")
    for rules, loc in (
        ({"reminder_days_before_due": [999_999_999]}, "reminder_days_before_due.0"),
        (
            {"receipt_confirmation_days_after_delivery": 7.0},
            "receipt_confirmation_days_after_delivery",
        ),
        ({"controller_threshold": 5000.5}, "controller_threshold"),
    ):
        answer = await env.api.put("/v1/policies/standard", headers=write, json=rules)
        assert answer.status_code == 422, rules
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert loc in [e["loc"] for e in answer.json()["errors"]]
    timeline_ok = await env.api.get("/v1/policies/standard", headers=env.auth("read"))
    assert [v["version"] for v in timeline_ok.json()["items"]] == [0]

    async with env.engine.begin() as connection:
        await connection.execute(
            t.invoice_index.insert().values(tenant_id=env.tenant, invoice_id="INV-9", buyer_id="B9")
        )
    promise = await env.api.post(
        "/v1/promises", headers=write, json={"invoice_ids": ["INV-9"], "promised_on": "9999-12-31"}
    )
    assert promise.status_code == 422
    assert promise.json()["errors"][0]["loc"] == "promised_on"

    for path in ("/v1/cases/a%00b", "/v1/invoices/x%00/timeline", "/v1/letters/%00"):
        answer = await env.api.get(path, headers=env.auth("read"))
        assert answer.status_code in (404, 422), path
        assert answer.headers["content-type"].startswith("application/problem+json")
    nul_filter = await env.api.get("/v1/cases?buyer_id=a%00", headers=env.auth("read"))
    assert nul_filter.status_code == 422
    for cursor in ("e30=", "eyJhZnRlciI6IFsxXX0=", "eyJhZnRlciI6ICJhXHUwMDAwIn0="):
        answer = await env.api.get(f"/v1/cases?cursor={cursor}", headers=env.auth("read"))
        assert answer.status_code == 400, cursor


async def test_letters_agencies_and_policies_come_in_pages(env: Env) -> None:
    async with env.engine.begin() as connection:
        for n in range(5):
            await connection.execute(
                t.letters.insert().values(
                    letter_id=f"L{n}",
                    tenant_id=env.tenant,
                    buyer_id="B1",
                    kind="reminder",
                    language="en",
                    as_of=date(2024, 1, 1 + n % 3),
                    invoice_ids=["INV-1"],
                    content={},
                    body="...",
                )
            )
    for n in range(3):
        created = await env.api.post(
            "/v1/agencies",
            headers=env.auth("admin"),
            json={"name": f"A{n}", "url": f"http://127.0.0.1:{9000 + n}/h"},
        )
        assert created.status_code == 201
    for days in (10, 11, 12):
        written = await env.api.put(
            "/v1/policies/watch",
            headers=env.auth("write"),
            json={"reminder_days_before_due": [days]},
        )
        assert written.status_code == 201

    async def every(path: str, key: str, scope: str) -> list[Any]:
        seen: list[Any] = []
        cursor: str | None = None
        for _ in range(10):
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await env.api.get(path, headers=env.auth(scope), params=params)).json()
            assert len(page["items"]) <= 2
            seen += [item[key] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen
        raise AssertionError("the pages never ended")

    letters = await every("/v1/invoices/INV-1/letters", "letter_id", "read")
    assert letters == ["L0", "L3", "L1", "L4", "L2"]
    assert len(set(await every("/v1/agencies", "agency_id", "admin"))) == 3
    assert await every("/v1/policies/watch", "version", "read") == [3, 2, 1, 0]
    assert await every("/v1/policies", "segment", "read") == ["core", "standard", "watch"]
