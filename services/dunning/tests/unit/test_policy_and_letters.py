from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from arshield_dunning.domain.letters import Letter, LetterLine, render
from arshield_dunning.domain.policy import Action, Policy, PolicyRules, Segment, plan

pytestmark = pytest.mark.unit


def test_default_policy_is_the_domain_timeline() -> None:
    rules = Policy.default(Segment.STANDARD).rules
    planned = plan(rules, due_on=date(2024, 1, 31), delivered_on=date(2024, 1, 2))
    assert [(p.action.value, p.on) for p in planned] == [
        ("receipt_confirmation", date(2024, 1, 9)),
        ("reminder", date(2024, 1, 16)),
        ("first_overdue_notice", date(2024, 2, 1)),
        ("formal_notice", date(2024, 3, 1)),
        ("agency_handover", date(2024, 3, 31)),
    ]
    assert Policy.default(Segment.CORE).rules.statement_day_of_month == 1
    watch_formal = Policy.default(Segment.WATCH).rules.escalation_for(Action.FORMAL_NOTICE)
    assert watch_formal is not None
    assert watch_formal.days_after_due == 15


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"reminder_days_before_due": [-3]}, "negative"),
        ({"receipt_confirmation_days_after_delivery": -1}, "negative"),
        ({"reminder_days_before_due": [10, 10]}, "overlapping"),
        (
            {
                "escalation": [
                    {"action": "first_overdue_notice", "days_after_due": 10},
                    {"action": "formal_notice", "days_after_due": 10},
                ]
            },
            "overlap",
        ),
        (
            {
                "escalation": [
                    {"action": "first_overdue_notice", "days_after_due": 30},
                    {"action": "formal_notice", "days_after_due": 5},
                ]
            },
            "overlap",
        ),
        ({"escalation": [{"action": "first_overdue_notice", "days_after_due": 0}]}, "at least 1"),
    ],
)
def test_policies_with_negative_or_overlapping_offsets_are_refused(
    rules: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        PolicyRules.model_validate(rules)
    assert message in str(refused.value)


def _letter(language: str, kind: Action = Action.FORMAL_NOTICE) -> Letter:
    return Letter(
        letter_id="l1",
        kind=kind,
        language=language,
        buyer_id="b1",
        buyer_name="Acme",
        as_of=date(2024, 3, 1),
        currency="EUR",
        lines=(
            LetterLine(
                invoice_id="inv-1",
                invoice_number="INV-2024-001",
                issued_on=date(2024, 1, 1),
                due_on=date(2024, 1, 31),
                amount=Decimal("1000.00"),
                outstanding=Decimal("600.00"),
                days_overdue=30,
                interest=Decimal("10.27"),
                compensation=Decimal("40"),
                compensation_currency="EUR",
                basis="Directive 2011/7/EU",
            ),
        ),
        policy_version="standard.v0",
    )


def test_letters_render_in_english_with_amounts_interest_and_compensation() -> None:
    text = render(_letter("en"))
    assert "Formal notice" in text
    assert "INV-2024-001" in text
    assert "€600.00" in text
    assert "Late-payment interest claimed: €10.27" in text
    assert "Fixed compensation claimed: €40.00" in text


def test_letters_render_in_chinese() -> None:
    text = render(_letter("zh-Hans"))
    assert "正式催款函" in text
    assert "逾期利息" in text
    assert "10.27" in text
    assert "600.00" in text
    assert "2024年3月1日" in text


def test_unsupported_language_falls_back_to_english() -> None:
    assert "Payment reminder" in render(_letter("sw", Action.REMINDER))


@pytest.mark.parametrize(
    ("language", "phrase"),
    [("de", "Letzte Mahnung"), ("fr", "Mise en demeure"), ("en-GB", "Formal notice")],
)
def test_letters_render_in_german_and_french_too(language: str, phrase: str) -> None:
    assert phrase in render(_letter(language))
