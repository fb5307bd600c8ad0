"""Standard Webhooks 1.0 on the wire: partner secrets, signing and sending an attempt, verifying a
partner's signed callback."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from opentelemetry import trace
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from arshield_runtime.telemetry import current_trace_headers, trace_headers_of, tracer

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
USER_AGENT = "arshield/1"


class SignatureRefused(ValueError):  # noqa: N818 - reads as the verdict it is
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


def secrets_in_force(
    current: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign and verify now: the current one, and the rotated-out one while its
    grace period lasts (a rotation without an end date gives the old secret no grace)."""
    if previous and previous_until is not None and now < previous_until:
        return [current, previous]
    return [current]


def failure_reason(error: httpx.HTTPError) -> str:
    """A short reason for a failed attempt that never carries what the endpoint sent."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    message = str(error)
    if message.startswith("target refused"):
        return message[:300]
    if isinstance(error, httpx.ConnectError):
        return "connection refused" if "refused" in message.lower() else "connection failed"
    if isinstance(error, httpx.RemoteProtocolError):
        return "protocol error"
    return "request failed"


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
    user_agent: str = USER_AGENT,
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
            user_agent=user_agent,
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
    user_agent: str,
) -> SendResult:
    now = datetime.now(UTC)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": user_agent,
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
            failure_reason(error),
            None,
            int((time.perf_counter() - started) * 1000),
            timestamp,
        )
    return SendResult(
        response.status_code,
        None if response.is_success else f"HTTP {response.status_code}",
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
