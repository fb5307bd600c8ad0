"""Standard Webhooks 1.0 on the wire: target checks, signing, sending, verifying callbacks."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
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


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Host and port to the addresses to try, in order (a seam so tests can fake DNS)."""

METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
"""Cloud instance metadata (credentials live there): never called, whatever is allowed."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and that a router may deliver to: mapped,
    6to4 (2002::/16), both Teredo ends (2001::/32) and NAT64 (64:ff9b::/96)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def refusal(
    address: str, port: int, *, allow_private: bool, refused_ports: Collection[int]
) -> str | None:
    """Why this deployment will not call `address:port`, or None when it will.

    An IPv6 address is judged with every IPv4 address it embeds. Allowing private targets (for
    development) still refuses the platform's own HTTP ports on non-public addresses, and the cloud
    metadata service is refused always."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip, *_embedded_ipv4(ip)]
    if any(c in METADATA_ADDRESSES for c in candidates):
        return "the cloud metadata service (a private link-local address)"
    if not any(_not_public(c) for c in candidates):
        return None
    if not allow_private:
        return "a private, loopback or link-local address"
    if port in refused_ports:
        return f"a private or local address on port {port}, one of the platform's own HTTP ports"
    return None


async def checked_addresses(
    host: str,
    port: int,
    *,
    allow_private: bool,
    refused_ports: Collection[int] = (),
    resolver: Resolver = system_resolver,
) -> list[str]:
    """Resolve `host` once and return its addresses if every one of them may be called."""
    try:
        addresses = list(await resolver(host, port))
    except (OSError, UnicodeError) as error:
        raise TargetRefused(f"the endpoint host {host!r} does not resolve") from error
    if not addresses:
        raise TargetRefused(f"the endpoint host {host!r} does not resolve")
    reasons: dict[str, list[str]] = {}
    for address in addresses:
        try:
            why = refusal(address, port, allow_private=allow_private, refused_ports=refused_ports)
        except ValueError:
            why = "an address that is not an IP address"
        if why is not None:
            reasons.setdefault(why, []).append(address)
    if reasons:
        said = "; ".join(f"{why} ({', '.join(found)})" for why, found in reasons.items())
        raise TargetRefused(
            f"the endpoint host {host!r} resolves to {said}; this deployment does not call it"
        )
    return addresses


async def check_target(
    url: str,
    *,
    allow_private: bool,
    refused_ports: Collection[int] = (),
    resolver: Resolver = system_resolver,
) -> None:
    """Refuse URLs that are not http(s), or whose host resolves to an address this deployment
    does not call (see `refusal`)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the endpoint URL has an invalid port") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("the endpoint must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise TargetRefused("the endpoint URL must not carry credentials")
    await checked_addresses(
        parts.hostname,
        port,
        allow_private=allow_private,
        refused_ports=refused_ports,
        resolver=resolver,
    )


class TargetRefusedError(httpcore.ConnectError):
    """Raised at connect time for an address the target check refuses (httpx: ConnectError)."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that pass the target check, resolved once per connection.

    The host is resolved here, every address is checked, and the connection goes to a checked
    address: nothing resolves the name again between the check and the connect (DNS rebinding).
    TLS still verifies, and SNI and the Host header still name, the URL's host, because httpcore
    passes those from the request's origin, not from the address connected to."""

    def __init__(
        self,
        *,
        allow_private: bool,
        refused_ports: Collection[int] = (),
        resolver: Resolver = system_resolver,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.refused_ports = frozenset(refused_ports)
        self.resolver = resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(
                host,
                port,
                allow_private=self.allow_private,
                refused_ports=self.refused_ports,
                resolver=self.resolver,
            )
        except TargetRefused as refused:
            raise TargetRefusedError(f"target refused: {refused}") from None
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None  # addresses is never empty
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefusedError("target refused: unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def guarded_client(backend: GuardedBackend, *, timeout: float) -> httpx.AsyncClient:
    """An httpx client whose every connection goes through `backend`, with no proxies from the
    environment (a proxy would connect on our behalf, unchecked) and no redirects."""
    transport = httpx.AsyncHTTPTransport()
    # httpx offers no public way to give its transport a network backend; its pool is httpcore's
    # own, so the pool is replaced by one built the same way with the guarded backend.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )


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
