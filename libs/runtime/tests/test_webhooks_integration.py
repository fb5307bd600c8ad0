"""A second, non-agency partner (an insurer) on the runtime's webhooks, against the real PostgreSQL
and a loopback receiver: signed deliveries, retries with the same webhook-id, 410 disabling."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from standardwebhooks.webhooks import Webhook

from arshield_runtime.db import create_engine
from arshield_runtime.webhooks import admin, store
from arshield_runtime.webhooks.dispatcher import WebhookDispatcher
from arshield_runtime.webhooks.secrets import SecretBox
from arshield_runtime.webhooks.settings import WebhookSettings
from arshield_runtime.webhooks.tables import Partner, webhook_tables

pytestmark = pytest.mark.integration

metadata = sa.MetaData()
INSURERS = Partner(
    tables=webhook_tables(
        metadata,
        key="insurer_id",
        endpoints="claims_insurers",
        deliveries="claims_webhook_deliveries",
        attempts="claims_webhook_attempts",
        callbacks="claims_insurer_callbacks",
        prefix="claims",
        delivery_columns=[sa.Column("claim_id", sa.Text)],
    ),
    noun="insurer",
    id_prefix="ins_",
    problem_type="urn:arshield:claims",
)


class Receiver:
    """A loopback HTTP endpoint answering each request with the next scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = {
            k.strip().lower(): v.strip()
            for k, v in (line.split(":", 1) for line in head.split("\r\n")[1:] if ":" in line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


SETTINGS = WebhookSettings(
    service_name="claims",
    allow_private_webhook_targets=True,
    webhook_retry_schedule=[0.05, 0.05],
    webhook_jitter=0,
)


async def _insurer_with_delivery(
    engine: AsyncEngine, url: str, due: datetime | None = None
) -> tuple[str, str, str]:
    box = SecretBox(SETTINGS.secrets_key.get_secret_value())
    async with AsyncSession(engine) as session, session.begin():
        row, secret = await admin.register_endpoint(
            session,
            INSURERS,
            "acme",
            name="Insurer",
            url=url,
            secret=None,
            settings=SETTINGS,
            box=box,
        )
        delivery_id = f"msg_{uuid.uuid4().hex}"
        await store.enqueue(
            session,
            INSURERS.tables,
            [
                {
                    "delivery_id": delivery_id,
                    "tenant_id": "acme",
                    "insurer_id": row.insurer_id,
                    "claim_id": "clm_1",
                    "event_type": "claim.filed",
                    "body": '{"type":"claim.filed"}',
                    "next_attempt_at": due or datetime.now(UTC),
                }
            ],
        )
    return row.insurer_id, secret, delivery_id


async def _attempts(engine: AsyncEngine, delivery_id: str) -> list[Any]:
    async with AsyncSession(engine) as session:
        return await store.delivery_attempts(session, INSURERS.tables, delivery_id)


async def test_an_insurer_gets_signed_deliveries_retried_under_one_webhook_id(
    engine: AsyncEngine,
) -> None:
    receiver = Receiver([503, 200])
    url = await receiver.start()
    _, secret, delivery_id = await _insurer_with_delivery(engine, url)
    dispatcher = WebhookDispatcher(engine, INSURERS.tables, SETTINGS)
    runner = asyncio.create_task(dispatcher.run())
    try:
        for _ in range(100):
            if len(receiver.requests) >= 2:
                break
            await asyncio.sleep(0.05)
        # the receiver has the request before the dispatcher has recorded its answer
        await _wait_for_attempts(engine, delivery_id, 2, within=5)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await dispatcher.close()
        await receiver.stop()
    assert len(receiver.requests) == 2
    for headers, body in receiver.requests:
        assert headers["webhook-id"] == delivery_id
        assert headers["user-agent"] == "arshield-claims/1"
        Webhook(secret).verify(body, headers)
    assert [a["outcome"] for a in await _attempts(engine, delivery_id)] == ["retry", "delivered"]


async def test_410_from_an_insurer_disables_its_endpoint(engine: AsyncEngine) -> None:
    receiver = Receiver([410])
    url = await receiver.start()
    insurer_id, _, delivery_id = await _insurer_with_delivery(engine, url)
    dispatcher = WebhookDispatcher(engine, INSURERS.tables, SETTINGS)
    try:
        assert await dispatcher.dispatch_due() == 1
    finally:
        await dispatcher.close()
        await receiver.stop()
    async with AsyncSession(engine) as session:
        endpoint = await store.endpoint(session, INSURERS.tables, "acme", insurer_id)
    assert endpoint is not None
    assert endpoint.enabled is False
    assert "410 Gone" in endpoint.disabled_reason
    assert [a["outcome"] for a in await _attempts(engine, delivery_id)] == ["disabled"]


# The dispatcher sleeps until its next due attempt or a notification; its safety look is set to
# 30 s here, so a delivery made within 5 s was woken for, not polled for.
SLEEPY = SETTINGS.model_copy(update={"dispatcher_poll_seconds": 30.0})


async def test_a_delivery_due_later_is_sent_at_its_time_and_a_redelivery_at_once(
    engine: AsyncEngine, fresh_database: str
) -> None:
    receiver = Receiver([])
    url = await receiver.start()
    dispatcher = WebhookDispatcher(engine, INSURERS.tables, SLEEPY)
    runner = asyncio.create_task(dispatcher.run())
    # Written through another engine, as another instance would: only the notification wakes.
    other = create_engine(fresh_database)
    try:
        await asyncio.wait_for(dispatcher.listener.connected.wait(), timeout=10)
        due = datetime.now(UTC) + timedelta(seconds=2)
        _, _, delivery_id = await _insurer_with_delivery(other, url, due=due)
        await _wait_for_requests(receiver, 1, within=7)
        await _wait_for_attempts(engine, delivery_id, 1, within=5)
        (attempt,) = await _attempts(engine, delivery_id)
        assert attempt["attempted_at"] >= due
        assert attempt["outcome"] == "delivered"

        async with AsyncSession(other) as session, session.begin():
            await store.redeliver(session, INSURERS.tables, delivery_id, datetime.now(UTC))
        await _wait_for_requests(receiver, 2, within=5)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await dispatcher.close()
        await receiver.stop()
        await other.dispose()
    assert [headers["webhook-id"] for headers, _ in receiver.requests] == [delivery_id] * 2


async def _wait_for_requests(receiver: Receiver, count: int, *, within: float) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while len(receiver.requests) < count:
        assert asyncio.get_running_loop().time() < deadline, f"no request {count} within {within} s"
        await asyncio.sleep(0.05)


async def _wait_for_attempts(
    engine: AsyncEngine, delivery_id: str, count: int, *, within: float
) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while len(await _attempts(engine, delivery_id)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{count} attempts not recorded"
        await asyncio.sleep(0.05)
