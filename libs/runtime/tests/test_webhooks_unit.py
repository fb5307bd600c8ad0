"""Partner-neutral webhook pieces: target checks, secrets, signatures, Retry-After, the trace an
attempt carries, the retry schedule."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from arshield_runtime.webhooks.dispatcher import WebhookDispatcher
from arshield_runtime.webhooks.settings import WebhookSettings
from arshield_runtime.webhooks.signing import (
    SignatureRefused,
    check_secret,
    new_secret,
    parse_retry_after,
    send,
    signature_header,
    verify_callback,
)
from arshield_runtime.webhooks.targets import TargetRefused, check_target

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "https://192.168.0.10/x",
        "http://[::1]/hook",
        "http://localhost:8080/hook",
        "http://0.0.0.0/",
    ],
)
async def test_private_loopback_and_link_local_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        await check_target(url, allow_private=False)
    await check_target(url, allow_private=True)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "/relative", "http://user:pw@8.8.8.8/"])
async def test_only_absolute_http_urls_without_credentials(url: str) -> None:
    with pytest.raises(TargetRefused):
        await check_target(url, allow_private=True)


async def test_public_addresses_are_accepted() -> None:
    await check_target("https://8.8.8.8/hook", allow_private=False)


def test_secrets_are_whsec_base64() -> None:
    check_secret(new_secret())
    for bad in ("plain", "whsec_###", "whsec_" + "YWJj"):
        with pytest.raises(ValueError, match="secret"):
            check_secret(bad)


def test_signatures_verify_with_the_standardwebhooks_library_during_rotation() -> None:
    old, new = new_secret(), new_secret()
    at = datetime.now(UTC).replace(microsecond=0)
    body = '{"type":"collection_case.opened"}'
    header = signature_header([new, old], "msg_1", at, body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": header,
    }
    for secret in (old, new):
        Webhook(secret).verify(body, headers)
    verify_callback([new], body.encode(), headers)
    with pytest.raises(SignatureRefused):
        verify_callback([new_secret()], body.encode(), headers)
    stale = {**headers, "webhook-timestamp": str(int((at - timedelta(minutes=6)).timestamp()))}
    with pytest.raises(SignatureRefused, match="too old"):
        verify_callback([new], body.encode(), stale)
    with pytest.raises(SignatureRefused):
        verify_callback([new], body.encode(), {**headers, "webhook-signature": "garbage"})


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:01:00 GMT", now) == 60.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


async def test_an_attempt_carries_the_trace_of_its_delivery() -> None:
    seen: list[httpx.Request] = []

    def agency(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    secret = new_secret()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(transport=httpx.MockTransport(agency)) as client:
        result = await send(
            client,
            "https://agency.example/hook",
            msg_id="msg_1",
            body="{}",
            secrets_=[secret],
            traceparent=parent,
        )
    assert result.status_code == 204
    (request,) = seen
    assert request.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    Webhook(secret).verify(request.content, dict(request.headers))  # still a valid webhook


def _dispatcher(**settings: object) -> WebhookDispatcher:
    config = WebhookSettings(
        service_name="test",
        webhook_retry_schedule=[10, 100, 1000],
        **settings,  # type: ignore[arg-type]
    )
    return WebhookDispatcher(None, None, config, rng=random.Random(7))  # type: ignore[arg-type]


def test_retries_follow_the_schedule_with_jitter_then_give_up() -> None:
    dispatcher = _dispatcher(webhook_jitter=0.2)
    delays = [dispatcher._delay(n, None) for n in (1, 2, 3)]
    for delay, base in zip(delays, (10, 100, 1000), strict=True):
        assert delay is not None
        assert base * 0.8 <= delay <= base * 1.2
    assert dispatcher._delay(4, None) is None


def test_retry_after_is_honoured_up_to_a_cap() -> None:
    dispatcher = _dispatcher(webhook_jitter=0, webhook_max_retry_after_seconds=500)
    assert dispatcher._delay(1, 60) == 60
    assert dispatcher._delay(1, 5) == 10
    assert dispatcher._delay(1, 10_000) == 500
