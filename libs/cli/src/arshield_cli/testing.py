"""Pytest fixtures over the real stack: a throwaway database and fresh topics per test, and a
partner's webhook endpoint on loopback (`receiver_factory`) that verifies what a service sends.

Enable with `pytest_plugins = ["arshield_cli.testing"]` in a conftest. The native stack (or the
one named by ARSHIELD_STACK_* variables) is started once per session if it is not running.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import uvicorn
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arshield_cli.stack import kafka_bootstrap as stack_kafka_bootstrap
from arshield_cli.stack import postgres_dsn, postgres_url, up


@pytest.fixture(scope="session")
def stack_started() -> None:
    up()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack_started: None) -> str:
    return stack_kafka_bootstrap()


@pytest.fixture(scope="session")
def postgres_admin_dsn(stack_started: None) -> str:
    return postgres_dsn("postgres")


DatabaseFactory = Callable[[], Awaitable[str]]


@pytest.fixture
async def new_database(postgres_admin_dsn: str) -> AsyncIterator[DatabaseFactory]:
    """Makes new, empty databases (one per call, returning its SQLAlchemy asyncpg URL) and drops
    every one of them afterwards: a test that rebuilds into a second database asks for two."""
    names: list[str] = []

    async def create() -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        connection = await asyncpg.connect(postgres_admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        names.append(name)
        return postgres_url(name)

    yield create
    connection = await asyncpg.connect(postgres_admin_dsn)
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def fresh_database(new_database: DatabaseFactory) -> str:
    """A new, empty database (its SQLAlchemy asyncpg URL), dropped afterwards."""
    return await new_database()


TopicFactory = Callable[..., Awaitable[list[str]]]


@pytest.fixture
def fresh_topics(kafka_bootstrap: str) -> TopicFactory:
    """`await fresh_topics("arshield.erp", partitions=6)` creates uniquely suffixed copies of the
    named topics and their `.dlq` twins, and returns the new names (without the dlq ones)."""

    async def create(*bases: str, partitions: int = 6) -> list[str]:
        suffix = uuid.uuid4().hex[:8]
        names = [f"{base}.{suffix}" for base in bases]
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=partitions,
                        replication_factor=1,
                        topic_configs={"retention.ms": "-1"},
                    )
                    for base in names
                    for name in (base, f"{base}.dlq")
                ]
            )
        finally:
            await admin.close()
        return names

    return create


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int


class Receiver:
    """A partner's webhook endpoint (an agency, an insurer): answers each request with the next
    scripted status (then 200), and verifies every request with `standardwebhooks.Webhook`."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.script: list[tuple[int, dict[str, str]]] = []
        self.answer_body = b""  # sent with every answer
        self.received: list[Received] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        status, extra = self.script.pop(0) if self.script else (200, {})
        if not verified:
            status = 400
        self.received.append(Received(time.monotonic(), headers, body, verified, status))
        return Response(self.answer_body, status_code=status, headers=extra)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        )
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def wait_for(self, count: int, within: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.received)} of {count} webhook requests arrived")
            await asyncio.sleep(0.05)
        return self.received


@pytest.fixture
async def receiver_factory() -> AsyncIterator[Any]:
    started: list[Receiver] = []

    async def make(secret: str) -> Receiver:
        receiver = Receiver(secret)
        await receiver.start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        await receiver.stop()
