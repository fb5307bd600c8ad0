"""Standard Webhooks 1.0 on the wire: target checks, signing, sending, verifying callbacks."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from opentelemetry import trace
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from arshield_runtime.telemetry import current_trace_headers, trace_headers_of, tracer

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret


class TargetRefused(ValueError):  # noqa: N818 - reads as the verdict it is
    """An endpoint URL this deployment will not call."""


class SignatureRefused(ValueError):  # noqa: N818
    """A callback whose Standard Webhooks headers do not verify."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> None:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("the secret must be a Standard Webhooks secret starting with `whsec_`")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError as error:
        raise ValueError("the secret after `whsec_` must be base64") from error
    if len(raw) < 24:
        raise ValueError("the secret must carry at least 24 random bytes")


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s), or whose host resolves to a private, loopback or
    link-local address (unless this deployment allows them)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("the endpoint must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise TargetRefused("the endpoint URL must not carry credentials")
    if allow_private:
        return
    host = parts.hostname
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host,
            parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )
    except socket.gaierror as error:
        raise TargetRefused(f"the endpoint host {host!r} does not resolve") from error
    addresses = sorted({str(info[4][0]) for info in infos})
    private = [a for a in addresses if _is_private(a)]
    if private:
        raise TargetRefused(
            f"the endpoint host {host!r} resolves to a private, loopback or link-local address "
            f"({', '.join(private)}); this deployment does not call those"
        )


def signature_header(secrets_: Sequence[str], msg_id: str, at: datetime, body: str) -> str:
    """`v1,<sig>` for each secret (several during a rotation), space-separated."""
    return " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets_)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    retry_after_seconds: float | None
    duration_ms: int
    timestamp: int


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


async def send(
    client: httpx.AsyncClient,
    url: str,
    *,
    msg_id: str,
    body: str,
    secrets_: Sequence[str],
    traceparent: str | None = None,
) -> SendResult:
    """POST one signed attempt, in a client span that is a child of `traceparent` (the trace the
    delivery belongs to) and whose context the request carries as its `traceparent` header."""
    parent = trace_headers_of({"traceparent": traceparent}) if traceparent else None
    with tracer.start_as_current_span(
        "POST webhook", context=parent, kind=trace.SpanKind.CLIENT
    ) as span:
        span.set_attribute("http.request.method", "POST")
        span.set_attribute("url.full", url)
        span.set_attribute("webhook.id", msg_id)
        result = await _post(
            client,
            url,
            msg_id=msg_id,
            body=body,
            secrets_=secrets_,
            trace_headers=current_trace_headers() or _only(traceparent),
        )
        if result.status_code is not None:
            span.set_attribute("http.response.status_code", result.status_code)
        if result.status_code is None or result.status_code >= 400:
            span.set_status(trace.StatusCode.ERROR, result.error or str(result.status_code))
        return result


def _only(traceparent: str | None) -> dict[str, str]:
    return {"traceparent": traceparent} if traceparent else {}


async def _post(
    client: httpx.AsyncClient,
    url: str,
    *,
    msg_id: str,
    body: str,
    secrets_: Sequence[str],
    trace_headers: Mapping[str, str],
) -> SendResult:
    now = datetime.now(UTC)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": "arshield-dunning/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets_, msg_id, datetime.fromtimestamp(timestamp, UTC), body
        ),
        **trace_headers,
    }
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as error:
        return SendResult(
            None,
            f"{type(error).__name__}: {error}"[:500],
            None,
            int((time.perf_counter() - started) * 1000),
            timestamp,
        )
    return SendResult(
        response.status_code,
        None if response.is_success else response.text[:500] or None,
        parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC)),
        int((time.perf_counter() - started) * 1000),
        timestamp,
    )


def verify_callback(secrets_: Sequence[str], body: bytes, headers: Mapping[str, str]) -> None:
    """Accept the callback if any current secret verifies it (and its timestamp is fresh)."""
    failure = "no signature"
    for secret in secrets_:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            return
        except WebhookVerificationError as error:
            failure = str(error)
        except ValueError:
            failure = "malformed webhook-signature header"
    raise SignatureRefused(failure)
