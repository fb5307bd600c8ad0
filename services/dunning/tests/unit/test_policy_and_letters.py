# ruff: noqa: RUF001 - the Chinese texts use full-width punctuation on purpose
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


def _formal(language: str, **line: object) -> Letter:
    base = _letter(language)
    fields = {
        **base.lines[0].model_dump(),
        "jurisdiction": "EU",
        "annual_rate": Decimal("12.50"),
        **line,
    }
    return base.model_copy(
        update={"lines": (LetterLine.model_validate(fields),), "pay_by": date(2024, 3, 15)}
    )


@pytest.mark.parametrize(
    ("language", "basis", "due", "pay_by"),
    [
        (
            "en",
            "Interest: Directive 2011/7/EU (ECB reference rate + 8 points), 12.5 % a year",
            "Total due: €650.27",
            "Please pay the total due by 15 March 2024.",
        ),
        (
            "de",
            "Verzugszinsen: Richtlinie 2011/7/EU (EZB-Referenzzinssatz + 8 Prozentpunkte), "
            "12,5 % p. a.",
            "Zu zahlender Gesamtbetrag: 650,27",
            "Bitte zahlen Sie den Gesamtbetrag bis zum 15. März 2024.",
        ),
        (
            "fr",
            "Pénalités de retard : directive 2011/7/UE (taux de la BCE + 8 points), 12,5 % l'an",
            "Total dû : 650,27",
            "Merci de régler le total dû au plus tard le 15 mars 2024.",
        ),
        (
            "zh",
            "逾期利息：欧盟第2011/7/EU号指令（欧洲央行参考利率加8个百分点），年利率12.5%",
            "应付总额：€650.27",
            "请于2024年3月15日前支付应付总额。",
        ),
    ],
)
def test_a_formal_notice_is_wholly_in_the_buyers_language_with_a_deadline_and_a_grand_total(
    language: str, basis: str, due: str, pay_by: str
) -> None:
    """DOMAIN.md: the legal basis in the buyer's language (not the English rule text); a formal
    notice names a payment deadline (14 days by default) and the grand total: 600 outstanding +
    10.27 interest + 40 compensation = 650.27 EUR."""
    text = render(_formal(language))
    assert basis in text
    assert due in text
    assert pay_by in text
    assert "Directive 2011/7/EU" not in text or language == "en"


def test_a_formal_notice_demands_no_compensation_the_law_does_not_give() -> None:
    """A UK invoice at a contractual rate (a substantial remedy replaces the fixed sum): the
    notice demands principal and interest only, and says the rate is the contract's."""
    text = render(
        _formal(
            "en",
            compensation=Decimal(0),
            compensation_currency=None,
            jurisdiction="UK",
            agreed_rate=True,
            annual_rate=Decimal("9"),
        )
    )
    assert "fixed compensation" not in text.lower()
    assert "together with late-payment interest, as set out below" in text
    assert "the contractual rate of 9 % a year (Late Payment of Commercial Debts" in text
    assert "Total due: €610.27" in text
