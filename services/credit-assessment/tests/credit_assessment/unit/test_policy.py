"""A credit policy's bands must cover grades 1 to 10 once each; a new version is adopted at the
next business-day tick and re-derives every limit under it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.decide import wake_on
from arshield_credit_assessment.domain.events import LimitSet
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY, band_problems

from .factories import DAY, D, buyer, of, run

pytestmark = pytest.mark.unit


def test_the_default_policy_is_valid() -> None:
    assert band_problems(DEFAULT_POLICY.bands) == []


def test_overlapping_bands_and_gaps_name_the_field() -> None:
    b = DEFAULT_POLICY.bands
    overlap = (b[0], replace(b[1], from_grade=3), b[2], b[3])
    assert band_problems(overlap) == [
        ("bands.1.from_grade", "grade 3 is in bands 0 and 1: bands must not overlap")
    ]
    gap = (b[0], replace(b[1], to_grade=5), b[2], b[3])
    assert band_problems(gap) == [("bands", "no band covers grade 6: bands must cover 1 to 10")]
    backwards = (replace(b[0], from_grade=4, to_grade=1), b[1], b[2], b[3])
    assert band_problems(backwards)[0][0] == "bands.0.to_grade"
    prepaid_credit = (b[0], b[1], b[2], replace(b[3], grade_cap=D(1)))
    assert band_problems(prepaid_credit)[0][0] == "bands.3.security"


def test_a_new_version_is_adopted_at_the_next_tick_and_rederives_the_limit() -> None:
    state = buyer()
    assert state.limit is not None
    assert state.limit.amount == D(50_000)
    stricter = replace(
        DEFAULT_POLICY,
        version=2,
        bands=(
            DEFAULT_POLICY.bands[0],
            replace(DEFAULT_POLICY.bands[1], uninsured_appetite=D(20_000)),
            *DEFAULT_POLICY.bands[2:],
        ),
    )
    state, events = run(state, c.StartDay(DAY + timedelta(days=1), stricter))
    (changed,) = of(events, LimitSet)
    assert changed.limit.amount == D(20_000)
    assert changed.limit.policy_version == "credit-v2"
    assert "credit policy credit-v2 in force" in changed.limit.reason
    assert state.policy == stricter
    assert wake_on(state) is None  # nothing due until something falls due
