"""Contract review: hand-written cases per jurisdiction, each violation found, and the standard
terms of every jurisdiction passing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from arshield_credit_assessment.domain.review import (
    STANDARD_TERMS,
    InstalmentTerm,
    Terms,
    standard_terms,
)

from .factories import REVIEWER, D

pytestmark = pytest.mark.unit

ON = date(2024, 3, 1)


def good(jurisdiction: str | None, **changes: object) -> Terms:
    base = Terms(
        jurisdiction, 30, D(1000), ON, retention_of_title=True, court="Tribunal de commerce"
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def rules(terms: Terms, required: tuple[str, ...] = ()) -> dict[str, str]:
    return {f.rule: f.severity for f in REVIEWER.review(terms, required).findings}


@pytest.mark.parametrize("jurisdiction", sorted(STANDARD_TERMS))
def test_the_standard_terms_of_each_jurisdiction_pass(jurisdiction: str) -> None:
    review = REVIEWER.review(standard_terms(jurisdiction, ON), (jurisdiction,))
    assert review.compliant
    assert review.findings == ()
    assert review.jurisdiction == jurisdiction


def test_france_caps_terms_at_60_days_or_45_days_end_of_month() -> None:
    assert rules(good("FR", payment_terms_days=60)) == {}
    assert rules(good("FR", payment_terms_days=61)) == {"payment_terms_limit": "error"}
    assert rules(good("FR", payment_terms_days=61, express_agreement=True)) == {
        "payment_terms_limit": "error"
    }
    assert rules(good("FR", payment_terms_days=45, end_of_month=True)) == {}
    review = REVIEWER.review(good("FR", payment_terms_days=50, end_of_month=True), ())
    (finding,) = review.findings
    assert finding.law == "Code de commerce L441-10 I"
    assert "45-day end-of-month" in finding.detail


def test_the_eu_and_germany_need_express_agreement_beyond_60_days() -> None:
    assert rules(good("EU", payment_terms_days=90)) == {"payment_terms_over_60_days": "error"}
    assert rules(good("EU", payment_terms_days=90, express_agreement=True)) == {
        "payment_terms_over_60_days": "warning"
    }
    (finding,) = REVIEWER.review(good("DE", payment_terms_days=75), ()).findings
    assert finding.law == "BGB § 271a Abs. 1"


def test_agreed_late_interest_floors() -> None:
    # France H1 2024: taux légal 5.07 % -> floor 3 x 5.07 = 15.21 %
    fr = REVIEWER.review(good("FR", late_interest="agreed", agreed_annual_rate=D(12)), ())
    assert [(f.rule, f.law) for f in fr.findings] == [
        ("late_interest_floor", "Code de commerce L441-10 II")
    ]
    assert "15.21" in fr.findings[0].detail
    assert rules(good("FR", late_interest="agreed", agreed_annual_rate=D("15.21"))) == {}
    # Germany and the EU: an agreed 0 % excludes interest
    assert rules(good("DE", late_interest="agreed", agreed_annual_rate=D(0))) == {
        "late_interest_excluded": "error"
    }
    assert rules(good("EU", late_interest="agreed", agreed_annual_rate=D(0))) == {
        "late_interest_excluded": "error"
    }
    assert rules(good("DE", late_interest="agreed", agreed_annual_rate=D(5))) == {}
    # UK: Bank Rate 5.25 % on 1 Jan 2024 -> a substantial remedy is at least 9.25 %
    assert rules(good("UK", late_interest="agreed", agreed_annual_rate=D(9))) == {
        "late_interest_substantial": "error"
    }
    assert rules(good("UK", late_interest="agreed", agreed_annual_rate=D("9.25"))) == {}
    # China: one-year LPR 3.45 % on 1 Mar 2024; an error where the SME rules apply
    sme = good(
        "CN",
        late_interest="agreed",
        agreed_annual_rate=D(3),
        creditor_is_sme=True,
        debtor_is_large_or_public=True,
    )
    assert rules(sme) == {"late_interest_floor": "error"}
    assert rules(replace(sme, creditor_is_sme=None)) == {"late_interest_floor": "warning"}
    assert rules(good("FR", late_interest="agreed")) == {"late_interest_rate": "error"}


def test_china_sme_payment_terms() -> None:
    sme = good("CN", payment_terms_days=90, creditor_is_sme=True, debtor_is_large_or_public=True)
    assert rules(sme) == {"payment_terms_limit": "error"}
    assert rules(replace(sme, creditor_is_sme=False)) == {}


def test_instalments_add_up_and_each_names_its_milestone() -> None:
    parts = (InstalmentTerm(1, D(400), "delivery"), InstalmentTerm(2, D(500), None))
    assert rules(good("DE", instalments=parts)) == {
        "instalments_total": "error",
        "instalment_milestone": "error",
    }
    fine = (InstalmentTerm(1, D(400), "delivery"), InstalmentTerm(2, D(600), "acceptance"))
    assert rules(good("DE", instalments=fine)) == {}


def test_retention_of_title_where_the_policy_requires_it_and_a_competent_court() -> None:
    terms = good("DE", retention_of_title=False, court=None, buyer_country="DE")
    review = REVIEWER.review(terms, ("DE",))
    assert [(f.rule, f.law) for f in review.findings] == [
        ("retention_of_title", "BGB § 449; credit policy (required for DE)"),
        ("competent_court", "Regulation (EU) 1215/2012 art. 25; ZPO § 38"),
    ]
    assert not review.compliant
    assert rules(replace(terms, court="LG München I"), ("FR",)) == {}


def test_terms_without_a_jurisdiction_follow_the_tenants_law() -> None:
    review = REVIEWER.review(good(None, payment_terms_days=90), ())
    assert review.jurisdiction == "EU"  # the deployment's default
    assert review.broken_rules == ("payment_terms_over_60_days",)
    french = REVIEWER.review(good(None, payment_terms_days=90), (), "FR")  # the tenant's profile
    assert french.jurisdiction == "FR"
    assert french.broken_rules == ("payment_terms_limit",)


def test_an_invoice_without_a_law_is_reviewed_under_the_tenants_profile() -> None:
    from datetime import timedelta

    from arshield_credit_assessment.domain import commands as c
    from arshield_credit_assessment.domain.events import InvoiceFlagged
    from arshield_credit_assessment.domain.policy import DEFAULT_POLICY

    from .factories import DAY, buyer, of, run

    state = buyer(c.StartDay(DAY, DEFAULT_POLICY, tenant_law="FR"))
    assert state.tenant_law == "FR"
    terms = replace(good(None, payment_terms_days=75), on=DAY)
    invoice = c.TrackInvoice("i1", "EUR", D(100), DAY + timedelta(days=75), None, DAY, terms)
    _, events = run(state, invoice)
    (flagged,) = of(events, InvoiceFlagged)
    assert flagged.rules == ("payment_terms_limit",)  # France's 60 days, not the EU's agreement
