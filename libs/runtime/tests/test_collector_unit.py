"""How a service tunes the garbage collector (`arshield_runtime.service.tune_collector`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from arshield_runtime.service import YOUNG_COLLECTION_THRESHOLD, tune_collector


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.unit
@pytest.mark.usefixtures("collector")
def test_what_a_service_built_is_frozen_and_what_it_allocates_next_is_collected() -> None:
    built = [[n] for n in range(1000)]  # long-lived, like the app and its schemas
    _, older, oldest = gc.get_threshold()
    tune_collector()
    assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, older, oldest)
    assert YOUNG_COLLECTION_THRESHOLD == 50_000
    assert gc.get_freeze_count() >= 1001  # each of the 1,000 lists, and the list holding them
    after = [1]
    walked = {id(o) for o in gc.get_objects()}  # what a full collection looks at
    assert id(built) not in walked
    assert not any(id(b) in walked for b in built)
    assert id(after) in walked  # a request's objects are collected as ever
