"""A policy version: its validation and its deadline arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from arshield_insurance_claims.domain.policy import PolicyRules

from .harness import D, policy

pytestmark = pytest.mark.unit

RULES: dict[str, Any] = {
    "insurer": "Demo",
    "currency": "EUR",
    "aggregate_limit": "1000000",
    "period_start_on": "2025-04-01",
}


def test_the_defaults_are_domain_md_s() -> None:
    rules = PolicyRules.model_validate(RULES)
    assert rules.indemnity_percentage == 90
    assert rules.discretionary_indemnity_percentage == 60
    assert rules.max_credit_period_days == 120
    assert rules.mep_days == 60
    assert rules.notification_days_after_mep == 15
    assert rules.insolvency_notification_days == 7
    assert rules.handover_days_after_mep == 30
    assert rules.reduction_notice_days == 30
    assert rules.claim_threshold == 500
    assert rules.discretionary_limit_ceiling == 20000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"indemnity_percentage": "120"}, "indemnity_percentage"),
        ({"discretionary_indemnity_percentage": "95"}, "discretionary_indemnity_percentage"),
        ({"currency": "XXY"}, "currency"),
        ({"currency": "JPY", "claim_threshold": "500.50"}, "claim_threshold"),
        ({"mep_days": -1}, "mep_days"),
        ({"period_start_on": "9999-01-01"}, "period_start_on"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_policy_is_refused_naming_its_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        PolicyRules.model_validate({**RULES, **change})


def test_deadlines_from_the_oldest_due_date() -> None:
    p = policy()
    assert p.mep_expiry(D) == date(2025, 5, 30)
    assert p.notification_deadline(D) == date(2025, 6, 14)
    assert p.handover_deadline(D) == date(2025, 6, 29)
    assert p.waiting_period_end(D) == date(2025, 9, 27)  # D+180, later than MEP + 90
    short_waiting = policy(waiting_days_after_due=100)
    assert short_waiting.waiting_period_end(D) == date(2025, 8, 28)  # MEP + 90 is later
    assert p.insolvency_deadline(date(2025, 4, 12)) == date(2025, 4, 19)


def test_the_policy_year_runs_from_the_anniversary_of_its_start() -> None:
    p = policy(period_start_on=date(2024, 4, 1), aggregate_limit=Decimal(1))
    assert p.policy_year_start(date(2025, 3, 31)) == date(2024, 4, 1)
    assert p.policy_year_start(date(2025, 4, 1)) == date(2025, 4, 1)
    leap = policy(period_start_on=date(2024, 2, 29))
    assert leap.policy_year_start(date(2025, 3, 1)) == date(2025, 2, 28)
