"""The pure parts of the HTTP layer: cursors, token buckets, bounded maps."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import BaseModel

from arshield_runtime.auth import BoundedTtlMap
from arshield_runtime.http import (
    ProblemError,
    RateLimiter,
    decode_cursor,
    decode_cursor_as,
    encode_cursor,
)

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_cursor_round_trips() -> None:
    position = {"after": ["2024-03-01", "b-1", 7]}
    assert decode_cursor(encode_cursor(position)) == position
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


def _forged(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode()


GENUINE = encode_cursor({"after": "inv-1"})


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%not base64%%%",
        "abc",
        _forged(b"\xff\xfe\xfd"),
        _forged(b"[1, 2, 3]"),
        _forged(json.dumps({"after": 5}).encode()),  # the unsigned form cursors used to take
        _forged(b"[" * 5000 + b"]" * 5000),
        GENUINE[:-2],  # truncated signature
        GENUINE.replace(".", ".x"),
        _forged(json.dumps({"after": "inv-2"}).encode()).rstrip("=") + "." + GENUINE.split(".")[1],
        "." * 10,
        "a" * 10_000,
        "é.é",
    ],
)
def test_any_cursor_it_did_not_issue_is_a_400_problem(cursor: str) -> None:
    with pytest.raises(ProblemError) as raised:
        decode_cursor(cursor)
    assert raised.value.status == 400
    assert raised.value.errors == [{"loc": "query.cursor", "msg": "invalid cursor"}]


def test_a_typed_cursor_refuses_a_position_of_the_wrong_shape() -> None:
    class After(BaseModel):
        after: tuple[str, str, int]

    typed = decode_cursor_as(encode_cursor({"after": ["2024-03-01", "b-1", 7]}), After)
    assert typed is not None
    assert typed.after == ("2024-03-01", "b-1", 7)
    assert decode_cursor_as(None, After) is None
    with pytest.raises(ProblemError) as raised:
        decode_cursor_as(encode_cursor({"after": "inv-1"}), After)
    assert raised.value.status == 400


def test_a_bucket_grants_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=2, burst=3, clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    assert limiter.wait("k") == pytest.approx(0.5)
    assert limiter.take("other") == 0.0
    clock.now += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("k") > 0


def test_buckets_are_bounded_and_idle_ones_lapse() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=2, size=100, clock=clock)
    for n in range(1000):
        limiter.take(f"caller-{n}")
    assert len(limiter.buckets) == 100
    clock.now += 2.0  # a full refill: the buckets are as good as new and may go
    assert limiter.buckets.get("caller-999") is None


def test_a_bounded_ttl_map_forgets_the_oldest_and_the_lapsed() -> None:
    clock = Clock()
    entries: BoundedTtlMap[str, int | None] = BoundedTtlMap(2, clock)
    entries.put("a", 1, ttl=10)
    entries.put("b", None, ttl=1)
    assert entries.find("b") == (True, None)
    assert entries.find("zzz") == (False, None)
    entries.put("c", 3, ttl=10)
    assert entries.find("a") == (False, None)
    clock.now += 1
    assert entries.find("b") == (False, None)
    assert entries.get("c") == 3
