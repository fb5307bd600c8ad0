"""Dunning's own hardening: settings that refuse the development key in production, bounded policy
fields. (Target checks, the guarded connection, sanitised attempt errors, rotation grace and sealed
secrets are the runtime's: libs/runtime/tests/test_webhooks_hardening_unit.py.)"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from arshield_dunning.domain.policy import PolicyRules
from arshield_dunning.settings import DEVELOPMENT_SECRETS_KEY, DunningSettings

pytestmark = pytest.mark.unit


def test_the_development_secrets_key_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="development secrets_key"):
        DunningSettings(
            environment="production",
            database_url="postgresql+asyncpg://u:p@db/dunning",
            secrets_key=DEVELOPMENT_SECRETS_KEY,  # type: ignore[arg-type]
        )
    DunningSettings(
        environment="production",
        database_url="postgresql+asyncpg://u:p@db/dunning",
        secrets_key=Fernet.generate_key().decode(),  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError, match="Fernet"):
        DunningSettings(secrets_key="not-a-key")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"reminder_days_before_due": [999_999_999]}, "reminder_days_before_due.0"),
        (
            {"receipt_confirmation_days_after_delivery": 7.0},
            "receipt_confirmation_days_after_delivery",
        ),
        (
            {"escalation": [{"action": "formal_notice", "days_after_due": 999_999_999}]},
            "escalation.0.days_after_due",
        ),
        ({"controller_threshold": 5000.5}, "controller_threshold"),
        ({"controller_threshold": "1000000000001"}, "controller_threshold"),
        ({"promise_grace_days": 10_000}, "promise_grace_days"),
        ({"statement_day_of_month": 31}, "statement_day_of_month"),
        ({"reminder_days_before_due": list(range(1, 30))}, "reminder_days_before_due"),
    ],
)
def test_policy_fields_are_bounded_and_refuse_json_floats(
    rules: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        PolicyRules.model_validate(rules)
    assert field in [".".join(str(p) for p in e["loc"]) for e in refused.value.errors()]
