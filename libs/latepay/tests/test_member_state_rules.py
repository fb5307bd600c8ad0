"""Member-state statutes where the directive's generic rule would under- or over-claim: NL and BE
computed, AT and PL refused with their reason. Figures by hand (the arithmetic in each docstring)."""

from datetime import date
from decimal import Decimal

import pytest

from arshield_latepay import (
    BalanceChange,
    ContractTerms,
    Debt,
    Jurisdiction,
    LatePaymentClaim,
    MemberState,
    RateUnavailableError,
    ReferenceRates,
    late_payment_claim,
)

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()


def _claim(state: MemberState | None, due_on: date, as_of: date) -> LatePaymentClaim:
    """10,000 EUR owed from the invoice's issue and never paid."""
    debt = Debt(due_on, (BalanceChange(date(2023, 12, 1), D(10000)),))
    return late_payment_claim(
        terms=ContractTerms(Jurisdiction.EU, member_state=state),
        currency="EUR",
        invoice_amount=D(10000),
        debts=[debt],
        as_of=as_of,
        rates=RATES,
    )


def test_netherlands_compounds_the_statutory_commercial_interest_yearly() -> None:
    """Art. 6:119a(3) BW: 10,000 EUR due Wednesday 2024-01-31, unpaid on 2025-03-02. Year one
    (2024-02-01 to 2025-01-31): 151 days at ECB 4.50 + 8 = 12.50 % (517.1233), 184 days at
    4.25 + 8 = 12.25 % (617.5342), 31 days at 3.15 + 8 = 11.15 % (94.6986): 1,229.3562, added to
    the principal on 2025-02-01; then 30 days at 11.15 % on 11,229.3562 = 102.9101. Total
    1,332.27, where the directive's simple interest gives 1,229.3562 + 91.6438 = 1,321.00."""
    nl = _claim(MemberState.NL, date(2024, 1, 31), date(2025, 3, 2))
    eu = _claim(None, date(2024, 1, 31), date(2025, 3, 2))
    assert (nl.interest, eu.interest) == (D("1332.27"), D("1321.00"))
    assert nl.compensation == D(40)  # Art. 6:96(4) BW
    assert nl.periods[-1].principal == D("10000") + D("1229.356164383561643835616439")
    assert "6:119a" in nl.basis


def test_netherlands_compounds_nothing_within_the_first_year() -> None:
    """Art. 6:119a(3) BW adds interest only once a year has run: on 2025-01-31, the last day of
    year one, the claim is the directive's 1,229.36."""
    nl = _claim(MemberState.NL, date(2024, 1, 31), date(2025, 1, 31))
    assert nl.interest == _claim(None, date(2024, 1, 31), date(2025, 1, 31)).interest
    assert nl.interest == D("1229.36")


def test_belgium_rounds_the_rate_up_to_the_next_half_point() -> None:
    """Law of 2 August 2002 art. 5: ECB 3.15 + 8 = 11.15 %, rounded up to 11.5 %. 10,000 EUR
    due Friday 2025-01-31, 30 days late on 2025-03-02: 10,000 x 11.5 % x 30/365 = 94.52 (the
    directive's 11.15 % gives 91.64); 40 EUR (art. 6)."""
    be = _claim(MemberState.BE, date(2025, 1, 31), date(2025, 3, 2))
    assert [p.annual_rate for p in be.periods] == [D("11.5")]
    assert (be.interest, be.compensation) == (D("94.52"), D(40))
    assert _claim(None, date(2025, 1, 31), date(2025, 3, 2)).interest == D("91.64")


@pytest.mark.parametrize(
    ("state", "reason"),
    [(MemberState.AT, "OeNB Basiszinssatz"), (MemberState.PL, "NBP reference-rate")],
)
def test_austria_and_poland_are_refused_with_their_reason(state: MemberState, reason: str) -> None:
    """§ 456 UGB (OeNB base rate + 9.2) and the Polish act on late payment in commercial
    transactions (NBP reference rate + 10) need rates not shipped: refused, never guessed."""
    with pytest.raises(RateUnavailableError, match=reason):
        _claim(state, date(2025, 1, 31), date(2025, 3, 2))
