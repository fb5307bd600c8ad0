"""The HTTP side shared by every service: app factory, RFC 9457 problems, auth, pagination."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from arshield_runtime.auth import Principal, authenticate
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
        errors = [{"loc": _location(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        return problem_response(
            422,
            "Invalid request",
            "; ".join(f"{e['loc']}: {e['msg']}" for e in errors),
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, error: HTTPException) -> JSONResponse:
        return problem_response(
            error.status_code,
            _TITLES.get(error.status_code, "Error"),
            str(error.detail) if error.detail else None,
            instance=request.url.path,
            headers=dict(error.headers or {}),
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
    409: "Conflict",
    413: "Payload too large",
    422: "Invalid request",
    429: "Too many requests",
}


class BodySizeLimit(BaseHTTPMiddleware):
    """Refuse oversized bodies with 413 before reading them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return problem_response(
                413, "Payload too large", f"the body exceeds {self.max_bytes} bytes"
            )
        return await call_next(request)


class RateLimit(BaseHTTPMiddleware):
    """A token bucket per caller (API key, else client address): bursts beyond it get 429."""

    def __init__(self, app: Any, per_second: float, burst: int) -> None:
        super().__init__(app)
        self.per_second, self.burst = per_second, burst
        self.buckets: dict[str, tuple[float, float]] = {}

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        caller = request.headers.get("authorization") or (
            request.client.host if request.client else "unknown"
        )
        now = time.monotonic()
        tokens, last = self.buckets.get(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens < 1.0:
            self.buckets[caller] = (tokens, now)
            wait = (1.0 - tokens) / self.per_second
            return problem_response(
                429,
                "Too many requests",
                f"slow down: retry in {wait:.2f} s",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        self.buckets[caller] = (tokens - 1.0, now)
        if len(self.buckets) > 10_000:  # forget idle callers
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 60}
        return await call_next(request)


# --- authentication -------------------------------------------------------------------------


def _engine_of(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting API keys that carry `scope` (401 without a key, 403 without scope)."""

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            raise ProblemError(
                401,
                "Unauthorized",
                "an API key is required as `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = await authenticate(_engine_of(request), secret.strip())
        if principal is None:
            raise ProblemError(
                401,
                "Unauthorized",
                "unknown or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if scope not in principal.scopes:
            raise ProblemError(403, "Forbidden", f"this key lacks the `{scope}` scope")
        return principal

    return dependency


ReadPrincipal = Annotated[Principal, Depends(require_scope("read"))]
WritePrincipal = Annotated[Principal, Depends(require_scope("write"))]
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]
AgencyPrincipal = Annotated[Principal, Depends(require_scope("agency"))]


# --- pagination -------------------------------------------------------------------------------

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a cursor-paginated list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, json.JSONDecodeError) as error:
        raise ProblemError(400, "Bad request", "the cursor is not one this API issued") from error
    if not isinstance(value, dict):
        raise ProblemError(400, "Bad request", "the cursor is not one this API issued")
    return value


class PageParams(BaseModel):
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = None


# --- the app factory ----------------------------------------------------------------------------

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


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
        responses={401: {"description": "No or unknown API key"}, 403: {"description": "Scope"}},
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.producer = producer
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimit, per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
    )
    install_problem_handlers(app)

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
