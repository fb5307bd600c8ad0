"""Which endpoint URLs a deployment calls: http(s) targets whose every address is public (or private
where allowed, never the platform's own ports nor the cloud metadata service), and a network
backend that connects only to the addresses it checked (no DNS rebinding between check and
connect)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx


class TargetRefused(ValueError):  # noqa: N818 - reads as the verdict it is
    """An endpoint URL this deployment will not call."""


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
