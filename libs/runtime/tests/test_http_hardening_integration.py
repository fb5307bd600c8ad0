"""The HTTP layer under abuse, over the real database and a real uvicorn server: small pools,
floods of bogus keys, chunked and trickled bodies, deep JSON, tampered cursors, expiring keys."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from typer.testing import CliRunner

from arshield_runtime.auth import create_api_key, list_api_keys, revoke_api_key
from arshield_runtime.cli import service_cli
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.http import (
    Authenticated,
    ReadPrincipal,
    WritePrincipal,
    create_app,
    decode_cursor,
    encode_cursor,
)
from arshield_runtime.ingestion import router as ingestion_router
from arshield_runtime.messaging import EventRouter
from arshield_runtime.migrations import upgrade_runtime_tables
from arshield_runtime.server import head_deadline
from arshield_runtime.service import ServiceDefinition
from arshield_runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parent / "fixture_migrations"


async def _connection(request: Request, _: Authenticated) -> AsyncIterator[AsyncConnection]:
    """The services' pattern: the route's connection waits for the key check."""
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as connection:
        yield connection


Connection = Annotated[AsyncConnection, Depends(_connection)]
routes = APIRouter(prefix="/v1")


@routes.get("/work")
async def work(connection: Connection, principal: ReadPrincipal) -> dict[str, str]:
    await connection.execute(sa.text("SELECT pg_sleep(0.02)"))
    return {"tenant": principal.tenant_id}


@routes.get("/hold")
async def hold(connection: Connection, principal: ReadPrincipal) -> dict[str, str]:
    await connection.execute(sa.text("SELECT pg_sleep(2)"))
    return {"held": "yes"}


class Note(BaseModel):
    text: str


@routes.post("/notes")
async def add_note(note: Note, principal: WritePrincipal) -> dict[str, str]:
    return {"text": note.text}


@routes.get("/paged")
async def paged(principal: ReadPrincipal, cursor: str | None = None) -> dict[str, Any]:
    position = decode_cursor(cursor)
    after = int(position["after"]) if position else 0
    return {"items": [after + 1], "next_cursor": encode_cursor({"after": after + 1})}


@pytest.fixture
async def build(fresh_database: str) -> AsyncIterator[Any]:
    """`await build(**settings)`: an app over a migrated database, with read and write keys."""
    await migrate(MIGRATIONS, fresh_database)
    engines: list[AsyncEngine] = []

    async def make(
        pool_size: int = 5, pool_timeout: float = 3.0, **changes: Any
    ) -> tuple[FastAPI, AsyncEngine, dict[str, str]]:
        engine = create_engine(
            fresh_database, pool_size=pool_size, max_overflow=0, pool_timeout=pool_timeout
        )
        engines.append(engine)
        settings = ServiceSettings(
            service_name="test", database_url=fresh_database, max_body_bytes=64_000, **changes
        )
        app = create_app(settings, engine, routers=[routes, ingestion_router])
        keys = {
            "read": await create_api_key(engine, tenant_id="acme", name="dash", scopes=["read"]),
            "write": await create_api_key(engine, tenant_id="acme", name="erp", scopes=["write"]),
        }
        return app, engine, keys

    yield make
    for engine in engines:
        await engine.dispose()


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def serving(app: FastAPI, **config: Any) -> AsyncIterator[int]:
    """Run `app` under uvicorn on a free loopback port for the block; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, **config)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(100):
            if server.started:
                break
            await asyncio.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


# --- 2: one connection per request, key first, 503 when the pool is exhausted ---------------------


async def test_fifty_concurrent_requests_on_a_two_connection_pool_all_answer_quickly(
    build: Any,
) -> None:
    app, _, keys = await build(pool_size=2, pool_timeout=2.0, auth_failure_burst=100)
    async with client(app) as http:
        started = time.monotonic()
        responses = await asyncio.gather(
            *[
                http.get(
                    "/v1/work",
                    headers=bearer(keys["read"] if n % 2 else f"ars_bogus_{n}"),
                )
                for n in range(50)
            ]
        )
        elapsed = time.monotonic() - started
    codes = [r.status_code for r in responses]
    assert codes == [200 if n % 2 else 401 for n in range(50)], codes
    assert elapsed < 5, f"took {elapsed:.1f} s"


async def test_an_exhausted_pool_answers_503_with_retry_after(build: Any) -> None:
    app, _, keys = await build(pool_size=1, pool_timeout=0.3)
    async with client(app) as http:
        await http.get("/v1/work", headers=bearer(keys["read"]))  # the key is now cached
        holding = asyncio.create_task(http.get("/v1/hold", headers=bearer(keys["read"])))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        busy = await http.get("/v1/work", headers=bearer(keys["read"]))
        elapsed = time.monotonic() - started
        assert (await holding).status_code == 200
    assert busy.status_code == 503, busy.text
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"] == "1"
    assert elapsed < 2


# --- 7: rate limits per key id and per address ----------------------------------------------------


async def test_respelling_the_authorization_header_does_not_reset_the_key_bucket(
    build: Any,
) -> None:
    app, _, keys = await build(rate_limit_per_second=0.5, rate_limit_burst=4)
    key = keys["read"]
    spellings = [f"Bearer {key}", f"bearer {key}", f"BEARER {key}", f"Bearer  {key} "]
    async with client(app) as http:
        codes = [
            (await http.get("/v1/work", headers={"Authorization": spelling})).status_code
            for spelling in spellings * 2
        ]
        limited = await http.get("/v1/work", headers=bearer(key))
    assert codes[:4] == [200] * 4
    assert codes[4:] == [429] * 4
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1


async def test_a_flood_of_bogus_keys_from_one_address_gets_429(build: Any) -> None:
    app, engine, _ = await build(auth_failure_per_second=0.5, auth_failure_burst=5)
    async with client(app) as http:
        codes = [
            (await http.get("/v1/work", headers=bearer(f"ars_bogus_{n}"))).status_code
            for n in range(12)
        ]
        no_key = await http.get("/v1/work")
        limited = await http.get("/v1/work", headers=bearer("ars_bogus_last"))
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429] * 7
    assert no_key.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    assert engine.pool.checkedout() == 0


# --- 8, 9: bodies bounded in size and in time, as they stream -----------------------------------


class RawClient(asyncio.Protocol):
    """A client that writes what it is told and records every byte of the answer, even when the
    server closes (and resets) the connection while the client is still sending."""

    def __init__(self) -> None:
        self.answer = bytearray()
        self.closed = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.answer += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


async def send_slowly(
    port: int, head: str, pieces: list[bytes], gap: float
) -> tuple[bytes, float, int]:
    """Send `head`, then `pieces` `gap` seconds apart until the server closes the connection;
    returns the answer, the seconds from the head to the close, and the pieces sent."""
    loop = asyncio.get_running_loop()
    transport, raw = await loop.create_connection(RawClient, "127.0.0.1", port)
    transport.write(head.encode())
    started, sent = time.monotonic(), 0
    try:
        for piece in pieces:
            if raw.closed.is_set() or transport.is_closing():
                break
            transport.write(piece)
            sent += 1
            await asyncio.sleep(gap)
        await asyncio.wait_for(raw.closed.wait(), timeout=5)
    finally:
        transport.close()
    return bytes(raw.answer), time.monotonic() - started, sent


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


async def test_a_chunked_body_past_the_limit_is_refused_while_streaming(build: Any) -> None:
    app, _, keys = await build()
    chunk = b"2800\r\n" + b" " * 10_240 + b"\r\n"  # 10 KiB chunks, 200 of them: 2 MB
    async with serving(app) as port:
        answer, _, sent = await send_slowly(
            port,
            f"POST /v1/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {keys['write']}\r\n"
            "Content-Type: application/cloudevents+json\r\nTransfer-Encoding: chunked\r\n\r\n",
            [b"1\r\n[\r\n", *[chunk] * 200, b"1\r\n]\r\n0\r\n\r\n"],
            gap=0.005,
        )
    status, headers, body = parse(answer)
    assert status == 413, answer
    assert headers["content-type"] == "application/problem+json"
    assert "64000 bytes" in json.loads(body)["detail"]
    assert sent < 50, f"the server read {sent} chunks of a body it had refused"


async def test_a_trickled_body_answers_408_and_frees_the_connection(build: Any) -> None:
    app, _, keys = await build(http_body_timeout=1.0)
    async with serving(app) as port:
        answer, elapsed, _ = await send_slowly(
            port,
            f"POST /v1/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {keys['write']}\r\n"
            "Content-Type: application/cloudevents+json\r\nContent-Length: 1000\r\n\r\n",
            [b" "] * 100,
            gap=0.1,
        )
    status, headers, body = parse(answer)
    assert status == 408, answer
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert json.loads(body)["status"] == 408
    assert elapsed < 3, f"the connection stayed open {elapsed:.1f} s"


async def test_a_trickled_request_head_is_cut_off_at_its_deadline(build: Any) -> None:
    app, _, _ = await build()
    async with serving(app, http=head_deadline(1.0)) as port:
        answer, elapsed, sent = await send_slowly(
            port, "GET /v1/ping HTTP/1.1\r\n", [b"X-Slow: a\r\n"] * 100, gap=0.1
        )
        assert answer == b"", answer
        assert sent < 30, f"the server read {sent} header lines past the deadline"
        assert elapsed < 3, f"the connection stayed open {elapsed:.1f} s"
        # A client that sends its heads in time keeps its keep-alive connection across requests.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(3):
                assert (await client.get("/healthz")).status_code == 200
                await asyncio.sleep(0.6)


# --- 10, 18: problems for deep JSON, tampered cursors, unknown paths and wrong methods -------------


async def test_json_nested_five_thousand_deep_is_a_4xx_problem(build: Any) -> None:
    app, _, keys = await build()
    deep = b"[" * 5000 + b"]" * 5000
    async with client(app) as http:
        ingested = await http.post(
            "/v1/events",
            content=deep,
            headers={**bearer(keys["write"]), "content-type": "application/cloudevents+json"},
        )
        noted = await http.post(
            "/v1/notes",
            content=b'{"text": ' + deep + b"}",
            headers={**bearer(keys["write"]), "content-type": "application/json"},
        )
    for response in (ingested, noted):
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_tampered_cursor_is_a_400_problem(build: Any) -> None:
    app, _, keys = await build()
    async with client(app) as http:
        first = (await http.get("/v1/paged", headers=bearer(keys["read"]))).json()
        following = await http.get(
            "/v1/paged", params={"cursor": first["next_cursor"]}, headers=bearer(keys["read"])
        )
        assert following.json()["items"] == [2]
        payload, _, mac = first["next_cursor"].partition(".")
        for cursor in ["!!", "eyJhZnRlciI6ICJ4In0", f"eyJhZnRlciI6ICJ4In0.{mac}", payload]:
            tampered = await http.get(
                "/v1/paged", params={"cursor": cursor}, headers=bearer(keys["read"])
            )
            assert tampered.status_code == 400, (cursor, tampered.text)
            assert tampered.headers["content-type"] == "application/problem+json"
            assert tampered.json()["errors"][0]["loc"] == "query.cursor"


async def test_unknown_paths_and_wrong_methods_answer_problems(build: Any) -> None:
    app, _, _ = await build()
    async with client(app) as http:
        missing = await http.get("/v1/nowhere")
        wrong = await http.delete("/healthz")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/v1/nowhere",
    }
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["allow"] == "GET"


# --- 19: OpenAPI names the bearer scheme and the problem answers ---------------------------------


async def test_openapi_declares_bearer_auth_and_problem_responses(build: Any) -> None:
    app, _, _ = await build()
    async with client(app) as http:
        document = (await http.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "Problem" in document["components"]["schemas"]
    operation = document["paths"]["/v1/work"]["get"]
    assert operation["security"] == [{"HTTPBearer": []}]
    for status in ("401", "403", "404", "413", "422", "429", "503"):
        content = operation["responses"][status]["content"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }


# --- 22: keys expire and can be revoked -----------------------------------------------------------


async def test_expired_and_revoked_keys_are_refused(build: Any) -> None:
    app, engine, keys = await build(key_cache_seconds=0.5)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await create_api_key(
        engine, tenant_id="acme", name="temp", scopes=["read"], expires_at=soon
    )
    expired = await create_api_key(
        engine,
        tenant_id="acme",
        name="old",
        scopes=["read"],
        expires_at=datetime.now(UTC) - timedelta(days=1),
    )
    async with client(app) as http:
        assert (await http.get("/v1/work", headers=bearer(expiring))).status_code == 200
        assert (await http.get("/v1/work", headers=bearer(expired))).status_code == 401
        assert (await http.get("/v1/work", headers=bearer(keys["read"]))).status_code == 200
        listed = {k.name: k for k in await list_api_keys(engine, tenant_id="acme")}
        assert await revoke_api_key(engine, listed["dash"].key_id)
        assert not await revoke_api_key(engine, listed["dash"].key_id)
        await asyncio.sleep(1.1)  # past the cache time and past the expiry
        revoked = await http.get("/v1/work", headers=bearer(keys["read"]))
        lapsed = await http.get("/v1/work", headers=bearer(expiring))
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "unknown, expired or revoked API key"
    assert lapsed.status_code == 401
    after = {k.name: k for k in await list_api_keys(engine, tenant_id="acme")}
    assert after["dash"].revoked_at is not None
    assert after["temp"].expires_at == soon
    assert after["erp"].revoked_at is None
    assert after["erp"].expires_at is None


async def test_the_expiry_column_is_added_to_a_database_that_lacks_it(
    fresh_database: str,
) -> None:
    await migrate(MIGRATIONS, fresh_database)
    engine = create_engine(fresh_database, pool_size=1)

    def columns(connection: sa.Connection) -> set[str]:
        return {c["name"] for c in sa.inspect(connection).get_columns("api_keys")}

    def add(connection: sa.Connection) -> None:
        upgrade_runtime_tables(Operations(MigrationContext.configure(connection)))

    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("ALTER TABLE api_keys DROP COLUMN expires_at"))
            assert "expires_at" not in await connection.run_sync(columns)
            await connection.run_sync(add)
            await connection.run_sync(add)  # idempotent
            assert "expires_at" in await connection.run_sync(columns)
    finally:
        await engine.dispose()


async def test_the_keys_cli_creates_lists_and_revokes(fresh_database: str) -> None:
    def bootstrap() -> ServiceDefinition:
        return ServiceDefinition(
            settings=ServiceSettings(service_name="test", database_url=fresh_database),
            router=EventRouter(),
            migrations=MIGRATIONS,
        )

    cli = service_cli(bootstrap)
    runner = CliRunner()

    async def run(*args: str) -> Any:
        return await asyncio.to_thread(runner.invoke, cli, ["keys", *args])

    created = await run("create", "--tenant", "acme", "--scopes", "read", "--expires-in-days", "7")
    assert created.exit_code == 0, created.output
    secret = created.output.strip()
    listed = await run("list", "--tenant", "acme")
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.strip().splitlines()
    key_id, tenant, _, scopes, _, expires, revoked = line.split("\t")
    assert (tenant, scopes, revoked) == ("acme", "read", "-")
    assert secret.startswith(f"ars_{key_id}_")
    assert datetime.fromisoformat(expires) - datetime.now(UTC) > timedelta(days=6)
    assert (await run("revoke", key_id)).exit_code == 0
    again = await run("revoke", key_id)
    assert again.exit_code == 1
    assert (await run("list")).output.strip().split("\t")[-1] != "-"
