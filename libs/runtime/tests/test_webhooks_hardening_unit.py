"""Target checks with a fake resolver, the guarded connection, sanitised attempt errors, secret
rotation grace, sealed secrets and the dispatcher's wake-up: the runtime's webhooks, whatever the
partner."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpcore
import httpx
import pytest
from cryptography.fernet import Fernet

from arshield_runtime.webhooks.dispatcher import Wake
from arshield_runtime.webhooks.secrets import SEALED, SecretBox, SecretUnreadable
from arshield_runtime.webhooks.settings import WebhookSettings
from arshield_runtime.webhooks.signing import secrets_in_force, send
from arshield_runtime.webhooks.targets import (
    GuardedBackend,
    TargetRefused,
    check_target,
    guarded_client,
)

pytestmark = pytest.mark.unit


class FakeResolver:
    """Answers from a table, one answer per call in turn, and counts the calls."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError("no such host")
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "http://[fd00:ec2::254]/x"])
async def test_cloud_metadata_is_refused_even_where_private_targets_are_allowed(url: str) -> None:
    with pytest.raises(TargetRefused, match="metadata"):
        await check_target(url, allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "2002:a00:1::1",  # 6to4 around 10.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 around the metadata address
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "::ffff:192.168.1.1",
    ],
)
async def test_ipv6_addresses_embedding_a_private_ipv4_are_refused(address: str) -> None:
    resolver = FakeResolver({"agency.example": [[address]]})
    with pytest.raises(TargetRefused, match="private"):
        await check_target("https://agency.example/hook", allow_private=False, resolver=resolver)


async def test_6to4_around_a_public_ipv4_is_accepted() -> None:
    resolver = FakeResolver({"agency.example": [["2002:808:808::1"]]})
    await check_target("https://agency.example/hook", allow_private=False, resolver=resolver)


async def test_every_resolved_address_is_checked() -> None:
    resolver = FakeResolver({"agency.example": [["8.8.8.8", "10.0.0.7"]]})
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7"):
        await check_target("https://agency.example/hook", allow_private=False, resolver=resolver)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8101/v1/cases", "http://[::1]:8102/x"])
async def test_platform_ports_on_local_addresses_are_refused_even_where_allowed(url: str) -> None:
    ports = WebhookSettings(service_name="t").refused_ports
    with pytest.raises(TargetRefused, match="platform"):
        await check_target(url, allow_private=True, refused_ports=ports)
    await check_target("http://127.0.0.1:8190/hook", allow_private=True, refused_ports=ports)
    await check_target("http://8.8.8.8:8101/hook", allow_private=False, refused_ports=ports)


def test_the_services_own_port_is_refused_too() -> None:
    assert 9876 in WebhookSettings(service_name="t", http_port=9876).refused_ports
    assert {8101, 8105} <= WebhookSettings(service_name="t").refused_ports


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Answers every connection with a canned 204 and records where it was asked to connect."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return httpcore.AsyncMockStream([b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"])

    async def sleep(self, seconds: float) -> None:
        return None


async def test_the_connection_goes_to_the_address_checked_and_resolves_once() -> None:
    # DNS rebinding: a second lookup would answer a private address; there is none.
    resolver = FakeResolver({"agency.example": [["8.8.4.4"], ["10.0.0.1"]]})
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=False, resolver=resolver, backend=inner)
    async with guarded_client(backend, timeout=5) as client:
        answer = await client.post("http://agency.example:8080/hook", content=b"{}")
    assert answer.status_code == 204
    assert inner.connected == [("8.8.4.4", 8080)]
    assert resolver.calls == ["agency.example"]


async def test_a_name_that_resolves_to_a_private_address_at_connect_time_is_not_called() -> None:
    resolver = FakeResolver({"agency.example": [["10.0.0.1"]]})
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=False, resolver=resolver, backend=inner)
    async with guarded_client(backend, timeout=5) as client:
        result = await send(
            client, "http://agency.example/hook", msg_id="m", body="{}", secrets_=[]
        )
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("target refused")
    assert inner.connected == []


async def test_a_failed_attempt_records_the_status_never_the_body() -> None:
    def agency(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text='{"internal":"ledger answer with secrets"}')

    async with httpx.AsyncClient(transport=httpx.MockTransport(agency)) as client:
        result = await send(client, "https://a.example/h", msg_id="m", body="{}", secrets_=[])
    assert result.error == "HTTP 404"

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out: internal detail", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
        result = await send(client, "https://a.example/h", msg_id="m", body="{}", secrets_=[])
    assert result.error == "timeout"


def test_a_rotated_out_secret_verifies_for_the_grace_period_only() -> None:
    rotated = datetime(2024, 5, 1, 12, tzinfo=UTC)
    until = rotated + timedelta(hours=24)
    assert secrets_in_force("new", "old", until, rotated + timedelta(hours=23)) == ["new", "old"]
    assert secrets_in_force("new", "old", until, rotated + timedelta(hours=24)) == ["new"]
    assert secrets_in_force("new", "old", None, rotated) == ["new"]
    assert secrets_in_force("new", None, until, rotated) == ["new"]


def test_secrets_are_sealed_and_legacy_plaintext_still_reads() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    sealed = box.seal("whsec_abc")
    assert sealed.startswith(SEALED)
    assert "whsec_abc" not in sealed
    assert box.open(sealed) == "whsec_abc"
    assert box.open("whsec_legacy") == "whsec_legacy"
    with pytest.raises(SecretUnreadable):
        SecretBox(Fernet.generate_key().decode()).open(sealed)


def test_the_wake_up_reaches_a_dispatcher_attached_later() -> None:
    wake, woken = Wake(), []
    wake.wake()  # nothing attached yet: no error
    wake.attach(lambda: woken.append(1))
    wake.wake()
    assert woken == [1]
