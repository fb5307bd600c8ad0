"""What a handler keeps of the trace it was consumed in: the record's own `traceparent`, the same
live and in a rebuild, whether the consumer's span is sampled or not."""

from __future__ import annotations

import pytest

from arshield_runtime.telemetry import consumed_traceparent, consuming

pytestmark = pytest.mark.unit

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"


def test_the_consumed_records_traceparent_while_it_is_handled_and_none_after() -> None:
    assert consumed_traceparent() is None
    with consuming([("ce_type", b"x"), ("traceparent", PARENT.encode())]):
        assert consumed_traceparent() == PARENT
        with consuming([]):  # a nested handling of a record without one
            assert consumed_traceparent() is None
        assert consumed_traceparent() == PARENT
    assert consumed_traceparent() is None
