"""Ids derived from a cause: a UUID version 5, the same for the same cause."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arshield_events.envelope import _EVENT_ID_NAMESPACE, derived_event_id, uuid5_hex

pytestmark = pytest.mark.unit

names = st.text(st.characters(codec="utf-8"), max_size=80)


def test_uuid5_hex_of_the_python_documentation_example() -> None:
    # the documented uuid5(NAMESPACE_DNS, "python.org")
    assert uuid5_hex(uuid.NAMESPACE_DNS, "python.org") == "886313e13b8a53729b900c9aee199e5d"


@given(names)
def test_uuid5_hex_is_the_standard_librarys(name: str) -> None:
    assert uuid5_hex(uuid.NAMESPACE_URL, name) == uuid.uuid5(uuid.NAMESPACE_URL, name).hex


@given(names, names, names)
def test_a_derived_event_id_is_the_uuid5_of_its_cause(
    source: str, cause: str, purpose: str
) -> None:
    expected = uuid.uuid5(_EVENT_ID_NAMESPACE, f"{source}\x1f{cause}\x1f{purpose}")
    assert derived_event_id(source, cause, purpose) == str(expected)
