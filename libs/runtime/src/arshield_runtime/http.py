"""The HTTP side shared by every service: app factory, RFC 9457 problems, auth, pagination.

Over 400 lines for a reason: the guards a request meets before any route (body size and time,
rate limits per key and per address, key checks, problem documents for every framework error) are
one chain whose order matters, kept in one place so none is skipped.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arshield_events.fields import ID_PATTERN
from arshield_runtime.auth import BoundedTtlMap, KeyCache, Principal, hash_key
from arshield_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
MAX_PAGE = 500


class ProblemError(Exception):
    """Raise from a route to answer an RFC 9457 problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type_ = status, title, detail, type_
        self.errors, self.headers = errors, headers


def invalid_request(error: ValidationError | RequestValidationError) -> ProblemError:
    """The 422 problem for a request that failed validation, naming each field (`loc`)."""
    errors = [{"loc": _location(e["loc"]), "msg": e["msg"]} for e in error.errors()]
    detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
    return ProblemError(422, "Invalid request", detail, errors=errors)


class ProblemItem(BaseModel):
    loc: str
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document, the body of every error answer."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemItem] | None = None


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body",))


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, the framework's own included, with a problem document."""

    @app.exception_handler(ProblemError)
    async def on_problem(request: Request, error: ProblemError) -> JSONResponse:
        return problem_response(
            error.status,
            error.title,
            error.detail,
            type_=error.type_,
            instance=request.url.path,
            errors=error.errors,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problem = invalid_request(error)
        return problem_response(
            problem.status,
            problem.title,
            problem.detail,
            instance=request.url.path,
            errors=problem.errors,
        )

    # Starlette's class, which FastAPI's subclasses: the router's own 404 and 405 raise it.
    @app.exception_handler(HTTPException)
    async def on_http(request: Request, error: HTTPException) -> JSONResponse:
        return problem_response(
            error.status_code,
            _TITLES.get(error.status_code, "Error"),
            str(error.detail) if error.detail else None,
            instance=request.url.path,
            headers=dict(error.headers or {}),
        )

    # Decoding JSON nested thousands deep exhausts the stack wherever a route parses its body.
    @app.exception_handler(RecursionError)
    async def on_too_deep(request: Request, error: RecursionError) -> JSONResponse:
        return problem_response(
            400, "Bad request", "the body nests too deeply", instance=request.url.path
        )

    @app.exception_handler(sa.exc.TimeoutError)
    async def on_pool_exhausted(request: Request, error: sa.exc.TimeoutError) -> JSONResponse:
        log.warning("database pool exhausted on %s", request.url.path)
        return problem_response(
            503,
            "Service unavailable",
            "the service is busy: retry shortly",
            instance=request.url.path,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def on_crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(500, "Internal error", instance=request.url.path)


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Payload too large",
    422: "Invalid request",
    429: "Too many requests",
    503: "Service unavailable",
}


# --- request bodies ----------------------------------------------------------------------------


class BodyRefused(HTTPException):
    """The body was too large or too slow; the connection is closed after the answer."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(status_code, detail, headers={"Connection": "close"})


class BodyGuard:
    """Pure ASGI middleware bounding a request body in size and in time, as it streams in.

    A declared `Content-Length` over `max_bytes` is refused before anything is read; a chunked body
    is counted as it arrives and refused (413) once it passes the limit. The whole body must arrive
    within `timeout` seconds of the request, else 408: a client trickling its body cannot hold a
    connection and a worker. Both answers close the connection, since the rest of the body is
    never read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            refused = BodyRefused(413, f"the body exceeds {self.max_bytes} bytes")
            await self._refuse(refused, scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        received, complete, started = 0, False, False

        async def guarded_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyRefused(
                    408, f"the body did not arrive within {self.timeout:g} s"
                ) from None
            if message["type"] != "http.request":
                complete = True
                return message
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyRefused(413, f"the body exceeds {self.max_bytes} bytes")
            complete = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracked_send)
        except BodyRefused as refused:  # raised where no handler answered it
            if started:
                raise
            await self._refuse(refused, scope, receive, send)

    @staticmethod
    async def _refuse(refused: BodyRefused, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            refused.status_code,
            _TITLES[refused.status_code],
            refused.detail,
            instance=scope.get("path"),
            headers=dict(refused.headers or {}),
        )
        await response(scope, receive, send)


# --- rate limits ---------------------------------------------------------------------------------


class RateLimiter:
    """Token buckets by caller name: `burst` requests at once, refilled at `per_second`.

    The buckets live in this process (each replica limits on its own, so the effective limit is
    the sum over replicas). At most `size` buckets are held: an idle bucket is dropped once it
    would have refilled (so dropping it loses nothing), and beyond `size` the least recently used
    go first.
    """

    def __init__(
        self,
        per_second: float,
        burst: int,
        *,
        size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second, self.burst, self.clock = per_second, burst, clock
        self.buckets: BoundedTtlMap[str, tuple[float, float]] = BoundedTtlMap(size, clock)
        self.refill_seconds = burst / per_second

    def _tokens(self, caller: str) -> float:
        bucket = self.buckets.get(caller)
        if bucket is None:
            return float(self.burst)
        tokens, last = bucket
        return min(float(self.burst), tokens + (self.clock() - last) * self.per_second)

    def wait(self, caller: str) -> float:
        """Seconds until `caller` may make a request (0 when it may now); takes nothing."""
        tokens = self._tokens(caller)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.per_second

    def take(self, caller: str) -> float:
        """Spend a token: 0 when granted, else the seconds to wait (and nothing is spent)."""
        tokens = self._tokens(caller)
        if tokens < 1.0:
            return (1.0 - tokens) / self.per_second
        self.buckets.put(caller, (tokens - 1.0, self.clock()), self.refill_seconds)
        return 0.0


def _too_many(wait: float) -> ProblemError:
    return ProblemError(
        429,
        "Too many requests",
        f"slow down: retry in {wait:.2f} s",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


# --- authentication -------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer <key>`")


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's principal, checked before any route dependency takes a connection.

    A lookup holds a pooled connection for one query and only when the key is not cached, so a
    request never holds one connection while waiting for another. Authenticated requests are
    rate-limited per key; requests that fail authentication per client address, and an address
    out of tokens is refused (429) before its next unknown key costs a lookup.
    """
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    failures: RateLimiter = state.auth_failure_limiter
    principal: Principal | None = None
    if credentials is not None:
        cache: KeyCache = state.key_cache
        digest = hash_key(credentials.credentials.strip())
        hit, principal = cache.cached(digest)
        if not hit:
            if wait := failures.wait(address):
                raise _too_many(wait)
            principal = await cache.lookup(state.engine, digest)
    if principal is None:
        if wait := failures.take(address):
            raise _too_many(wait)
        if credentials is None:
            raise _unauthorized("an API key is required as `Authorization: Bearer <key>`")
        raise _unauthorized("unknown, expired or revoked API key")
    limiter: RateLimiter = state.rate_limiter
    if wait := limiter.take(principal.key_id):
        raise _too_many(wait)
    return principal


Authenticated = Annotated[Principal, Depends(authenticated)]
"""Any valid key; a route's connection dependency depends on it so the key is checked first."""


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting API keys that carry `scope` (401 without a key, 403 without scope)."""

    async def dependency(principal: Authenticated) -> Principal:
        if scope not in principal.scopes:
            raise ProblemError(403, "Forbidden", f"this key lacks the `{scope}` scope")
        return principal

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require_scope("read"))]
WritePrincipal = Annotated[Principal, Depends(require_scope("write"))]
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]
AgencyPrincipal = Annotated[Principal, Depends(require_scope("agency"))]


# --- ids in paths and filters ------------------------------------------------------------------

PathId = Annotated[str, Path(min_length=1, max_length=200, pattern=ID_PATTERN)]
"""An id in a path: printable, no whitespace or control characters (a NUL is a 422, not a 500)."""
Filter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=ID_PATTERN)]
"""A list filter (an id or a status): like a path id."""


# --- pagination -------------------------------------------------------------------------------

T = TypeVar("T")
C = TypeVar("C", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    """A page of a cursor-paginated list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None = None


_cursor_key = secrets.token_bytes(32)


def configure_cursor_key(secret: str | None) -> None:
    """Sign cursors with `secret` (shared by a service's replicas, so cursors survive restarts);
    without one, a key made at start signs them and a restart invalidates open cursors (400)."""
    global _cursor_key
    _cursor_key = hashlib.sha256(secret.encode()).digest() if secret else secrets.token_bytes(32)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes) -> bytes:
    return hmac.new(_cursor_key, payload, hashlib.sha256).digest()[:16]


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque, signed cursor: `decode_cursor` gives back only positions this API encoded."""
    payload = json.dumps(position, default=str, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def _bad_cursor() -> ProblemError:
    return ProblemError(
        400,
        "Bad request",
        "the cursor is not one this API issued",
        errors=[{"loc": "query.cursor", "msg": "invalid cursor"}],
    )


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position in `cursor`, or None without one; any other input answers 400.

    Cursors are signed, so a caller can trust the shape of what it encoded: a tampered, truncated
    or made-up cursor never reaches it.
    """
    if not cursor:
        return None
    payload_text, dot, mac_text = cursor.partition(".")
    try:
        if not dot or len(cursor) > 4096:
            raise ValueError("not a cursor")
        payload = _unb64(payload_text)
        if not hmac.compare_digest(_unb64(mac_text), _mac(payload)):
            raise ValueError("bad signature")
        value = json.loads(payload)
    except (ValueError, binascii.Error, RecursionError) as error:  # UnicodeError is a ValueError
        raise _bad_cursor() from error
    if not isinstance(value, dict):
        raise _bad_cursor()
    return value


def decode_cursor_as(cursor: str | None, model: type[C]) -> C | None:
    """`decode_cursor` validated into `model`: a typed position, or 400 naming the cursor."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return model.model_validate(position)
    except ValidationError as error:
        raise _bad_cursor() from error


class PageParams(BaseModel):
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = None


# --- the app factory ----------------------------------------------------------------------------

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

_PROBLEM_REF = {"schema": {"$ref": "#/components/schemas/Problem"}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {PROBLEM_JSON: _PROBLEM_REF}}
    for status, description in {
        401: "No, unknown, expired or revoked API key",
        403: "The key lacks the scope, or the resource is another tenant's",
        404: "No such resource (or route)",
        413: "The body exceeds the size limit",
        422: "The request is invalid; `errors` names each field",
        429: "Too many requests; see Retry-After",
        503: "Busy or a dependency is down; see Retry-After",
    }.items()
}


def create_app(
    settings: ServiceSettings,
    engine: AsyncEngine,
    *,
    routers: Sequence[APIRouter] = (),
    title: str | None = None,
    producer: AIOKafkaProducer | None = None,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """A service's FastAPI app with health, readiness, metrics and problem documents."""

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        if lifespan is None:
            yield
        else:
            async with lifespan(app):
                yield

    app = FastAPI(
        title=title or f"arshield {settings.service_name}",
        version="1",
        lifespan=app_lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.producer = producer
    app.state.key_cache = KeyCache(
        positive_seconds=settings.key_cache_seconds,
        negative_seconds=settings.key_cache_negative_seconds,
    )
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.state.auth_failure_limiter = RateLimiter(
        settings.auth_failure_per_second, settings.auth_failure_burst
    )
    configure_cursor_key(
        settings.cursor_secret.get_secret_value() if settings.cursor_secret else None
    )
    app.add_middleware(
        BodyGuard, max_bytes=settings.max_body_bytes, timeout=settings.http_body_timeout
    )
    install_problem_handlers(app)

    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate_openapi()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in schemas:
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs", {}))
            schemas["Problem"] = problem
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # readiness reports, it does not crash
            checks["database"] = f"unavailable: {type(error).__name__}"
        if producer is not None:
            try:
                await producer.client.fetch_all_metadata()
                checks["kafka"] = "ok"
            except Exception as error:
                checks["kafka"] = f"unavailable: {type(error).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app
