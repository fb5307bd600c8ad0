"""The agreed-rate floors, China's scope, moved due dates, the UK fixed sum in sterling and the law
of an invoice without terms: hand-computed examples (the arithmetic in each test's comment)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arshield_latepay import (
    BalanceChange,
    ContractTerms,
    Debt,
    Jurisdiction,
    LatePaymentClaim,
    RateUnavailableError,
    ReferenceRates,
    ToGbp,
    fixed_compensation,
    is_business_day,
    late_payment_claim,
    law_of,
    moved_due_date,
)

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()


def paid_once(due_on: date, amount: str, paid_on: date | None) -> Debt:
    changes = [BalanceChange(due_on - timedelta(days=30), D(amount))]
    if paid_on is not None:
        changes.append(BalanceChange(paid_on, D(0)))
    return Debt(due_on, tuple(changes))


def claim(
    terms: ContractTerms,
    amount: str,
    debt: Debt,
    as_of: date,
    currency: str = "EUR",
    to_gbp: ToGbp | None = None,
) -> LatePaymentClaim:
    return late_payment_claim(
        terms=terms,
        currency=currency,
        invoice_amount=D(amount),
        debts=[debt],
        as_of=as_of,
        rates=RATES,
        to_gbp=to_gbp,
    )


# --- China: SME Payment Regulations 2025 art. 17 and the courts' LPR + 30 % -----------------

CN_DEBT = paid_once(date(2025, 6, 30), "100000", None)  # a Monday, a working day
CN_AS_OF = date(2025, 7, 30)  # 30 days late


@pytest.mark.parametrize(
    ("sme", "large_or_public", "says"),
    [
        (None, None, "0.05% per day is not claimed"),
        (True, None, "0.05% per day is not claimed"),
        (None, True, "0.05% per day is not claimed"),
        (False, True, "does not apply"),
        (True, False, "does not apply"),
    ],
)
def test_cn_without_agreement_outside_art17_claims_lpr_plus_thirty_percent(
    sme: bool | None, large_or_public: bool | None, says: str
) -> None:
    # SPC interpretation on sales contracts art. 18: one-year LPR when the delay began + 30-50 %.
    # Delay from 2025-07-01, LPR 3.00 -> 3.00 * 1.3 = 3.90 %.
    # 100000*3.90*30/36500 = 11700000/36500 = 320.5479 -> 320.55 (not 1,500.00 at 0.05 % a day).
    terms = ContractTerms(
        Jurisdiction.CN, creditor_is_sme=sme, debtor_is_large_or_public=large_or_public
    )
    result = claim(terms, "100000", CN_DEBT, CN_AS_OF, "CNY")
    assert result.interest == D("320.55")
    assert [(p.reference_rate, p.annual_rate) for p in result.periods] == [(D("3.00"), D("3.900"))]
    assert says in result.basis
    assert "(3.00%) + 30% = 3.9%" in result.basis
    assert result.compensation == D(0)


def test_cn_lpr_plus_thirty_percent_uses_the_lpr_when_the_delay_began() -> None:
    # SPC interpretation art. 18: the LPR in force when the breach occurred, fixed for the debt.
    # Due 2024-10-18 (Friday), delay from 2024-10-19: LPR 3.35 (the 2024-10-21 cut to 3.10 comes
    # later) -> 3.35 * 1.3 = 4.355 %. 10 days on 100,000: 100000*4.355*10/36500 = 119.3151 -> 119.32
    debt = paid_once(date(2024, 10, 18), "100000", None)
    result = claim(ContractTerms(Jurisdiction.CN), "100000", debt, date(2024, 10, 28), "CNY")
    assert result.interest == D("119.32")
    assert result.periods[0].annual_rate == D("4.355")


@pytest.mark.parametrize(
    ("sme", "large_or_public", "signed_on", "says"),
    [
        (None, None, date(2024, 11, 1), "LPR floor is not applied"),
        (True, True, None, "signing date is unknown"),
        (True, False, date(2024, 11, 1), "agreed annual rate 2%"),
        (False, True, date(2024, 11, 1), "agreed annual rate 2%"),
    ],
)
def test_cn_agreed_rate_without_the_floor_where_art17_is_not_known_to_apply(
    sme: bool | None, large_or_public: bool | None, signed_on: date | None, says: str
) -> None:
    # SME Payment Regulations 2025 art. 17's LPR floor needs an SME creditor, a large or public
    # debtor and the signing date. Without them the agreed 2 % stands (claim less, never more):
    # 100000*2*30/36500 = 6000000/36500 = 164.3836 -> 164.38 (with the floor it would be 254.79).
    terms = ContractTerms(Jurisdiction.CN, D(2), signed_on, sme, large_or_public)
    result = claim(terms, "100000", CN_DEBT, CN_AS_OF, "CNY")
    assert result.interest == D("164.38")
    assert says in result.basis


def test_cn_floor_is_named_in_the_basis_when_it_lifts_the_agreed_rate() -> None:
    # SME Payment Regulations 2025 art. 17: agreed 2 %, LPR 3.10 at signing on 2024-11-01.
    terms = ContractTerms(Jurisdiction.CN, D(2), date(2024, 11, 1), True, True)
    result = claim(terms, "100000", CN_DEBT, CN_AS_OF, "CNY")
    assert result.interest == D("254.79")  # 100000*3.10*30/36500
    assert "art. 17" in result.basis
    assert "raised to 3.10%" in result.basis


# --- France: Code de commerce L441-10 II, at least 3x the taux d'intérêt légal ------------------


def test_fr_agreed_rate_below_three_times_the_legal_rate_is_raised_to_it() -> None:
    # 10,000 EUR at an agreed 5 %, due Friday 2024-06-14, paid 2024-07-15.
    # 2024-06-15..30: 16 days, legal rate H1 2024 5.07 -> floor 15.21 %;
    # 2024-07-01..15: 15 days, legal rate H2 2024 4.92 -> floor 14.76 %.
    # 10000*(15.21*16 + 14.76*15)/36500 = 10000*464.76/36500 = 127.3315 -> 127.33; 40 EUR.
    debt = paid_once(date(2024, 6, 14), "10000", date(2024, 7, 15))
    result = claim(ContractTerms(Jurisdiction.FR, D(5)), "10000", debt, date(2024, 12, 31))
    assert result.interest == D("127.33")
    assert result.compensation == D(40)
    assert [(p.days, p.reference_rate, p.annual_rate) for p in result.periods] == [
        (16, D("5.07"), D("15.21")),
        (15, D("4.92"), D("14.76")),
    ]
    assert "L441-10 II" in result.basis
    assert "raised to 15.21% (3 x 5.07%)" in result.basis


def test_fr_agreed_rate_above_the_floor_stands() -> None:
    # Agreed 16 % > 15.21 and 14.76: 10000*16*31/36500 = 4960000/36500 = 135.8904 -> 135.89
    debt = paid_once(date(2024, 6, 14), "10000", date(2024, 7, 15))
    result = claim(ContractTerms(Jurisdiction.FR, D(16)), "10000", debt, date(2024, 12, 31))
    assert result.interest == D("135.89")
    assert {p.annual_rate for p in result.periods} == {D(16)}
    assert "raised" not in result.basis


def test_fr_floor_uses_the_latest_shipped_half_year() -> None:
    # H1 2026 legal rate 2.62 -> floor 7.86 %. Agreed 5 %, due Monday 2026-06-15, 10 days late:
    # 10000*7.86*10/36500 = 786000/36500 = 21.5342 -> 21.53
    debt = paid_once(date(2026, 6, 15), "10000", None)
    result = claim(ContractTerms(Jurisdiction.FR, D(5)), "10000", debt, date(2026, 6, 25))
    assert result.interest == D("21.53")


def test_fr_floor_refuses_a_half_year_without_a_published_legal_rate() -> None:
    # No H2 2026 row is shipped: a day of delay in July 2026 is refused, not guessed.
    debt = paid_once(date(2026, 6, 30), "10000", None)
    with pytest.raises(RateUnavailableError, match="L441-10 II"):
        claim(ContractTerms(Jurisdiction.FR, D(5)), "10000", debt, date(2026, 7, 10))
    # Statutory French interest (ECB + 10) does not need the legal rate.
    statutory = claim(ContractTerms(Jurisdiction.FR), "10000", debt, date(2026, 7, 10))
    assert statutory.interest > 0


# --- Germany: BGB § 288 Abs. 6 -------------------------------------------------------------------

DE_DEBT = paid_once(date(2024, 12, 20), "5000", None)
DE_AS_OF = date(2025, 1, 19)


def test_de_agreed_zero_excludes_interest_and_is_void() -> None:
    # BGB § 288 Abs. 6 S. 1: the statutory rate applies, as in test_de_basiszinssatz_plus_nine:
    # 5000*(12.37*11 + 11.27*19)/36500 = 47.97; the 40 EUR lump sum too.
    result = claim(ContractTerms(Jurisdiction.DE, D(0)), "5000", DE_DEBT, DE_AS_OF)
    assert result.interest == D("47.97")
    assert result.compensation == D(40)
    assert "void under BGB § 288 Abs. 6" in result.basis


def test_de_agreed_rate_below_statutory_is_claimed_and_the_lump_sum_is_owed() -> None:
    # BGB § 288 Abs. 6 S. 2: a limiting rate is void only if a court finds it grossly unfair;
    # claimed as agreed: 5000*4*30/36500 = 600000/36500 = 16.4384 -> 16.44; 40 EUR (Abs. 5, 6).
    result = claim(ContractTerms(Jurisdiction.DE, D(4)), "5000", DE_DEBT, DE_AS_OF)
    assert result.interest == D("16.44")
    assert result.compensation == D(40)
    assert "§ 288 Abs. 6" in result.basis


# --- UK: Late Payment Act 1998 ss. 8-9, a substantial remedy --------------------------------------

UK_DEBT = paid_once(date(2024, 6, 20), "5000", date(2024, 8, 19))  # 60 days, Bank Rate 5.25


def test_uk_agreed_rate_below_base_plus_four_is_not_substantial() -> None:
    # Agreed 6 % < 5.25 + 4 = 9.25 %: statutory 13.25 % applies, as in the UK test of
    # test_interest: 5000*13.25*60/36500 = 108.90; and the fixed sum, 70 GBP.
    terms = ContractTerms(Jurisdiction.UK, D(6))
    result = claim(terms, "5000", UK_DEBT, date(2024, 9, 30), "GBP")
    assert result.interest == D("108.90")
    assert result.compensation == D(70)
    assert "not a substantial remedy" in result.basis


def test_uk_agreed_rate_from_base_plus_four_displaces_the_act() -> None:
    # Agreed 10 % >= 9.25 %: 5000*10*60/36500 = 3000000/36500 = 82.1918 -> 82.19; no fixed sum.
    terms = ContractTerms(Jurisdiction.UK, D(10))
    result = claim(terms, "5000", UK_DEBT, date(2024, 9, 30), "GBP")
    assert result.interest == D("82.19")
    assert result.compensation == D(0)
    assert "a substantial remedy" in result.basis


# --- UK fixed sum in sterling (Late Payment Act 1998 s.5A) ----------------------------------------


def test_uk_fixed_sum_of_a_euro_debt_without_conversion_is_the_lowest() -> None:
    # 5,000 EUR under the Act, same days and rate: interest 108.90 EUR; no conversion -> 40 GBP.
    debt = paid_once(date(2024, 6, 20), "5000", date(2024, 8, 19))
    result = claim(ContractTerms(Jurisdiction.UK), "5000", debt, date(2024, 9, 30), "EUR")
    assert result.interest == D("108.90")
    assert (result.compensation, result.compensation_currency) == (D(40), "GBP")
    assert "no sterling conversion" in result.basis


def test_uk_fixed_sum_of_a_euro_debt_uses_the_converted_amount() -> None:
    # 5,000 EUR * 0.85 = 4,250 GBP on 2024-06-21 (statutory interest starts) -> 70 GBP;
    # 20,000 EUR * 0.85 = 17,000 GBP -> 100 GBP.
    seen: list[tuple[str, date]] = []

    def to_gbp(amount: Decimal, currency: str, on: date) -> Decimal:
        seen.append((currency, on))
        return amount * D("0.85")

    debt = paid_once(date(2024, 6, 20), "5000", date(2024, 8, 19))
    result = claim(ContractTerms(Jurisdiction.UK), "5000", debt, date(2024, 9, 30), "EUR", to_gbp)
    assert result.compensation == D(70)
    assert seen == [("EUR", date(2024, 6, 21))]
    assert "4250.00 GBP" in result.basis
    big = paid_once(date(2024, 6, 20), "20000", date(2024, 8, 19))
    large = claim(ContractTerms(Jurisdiction.UK), "20000", big, date(2024, 9, 30), "EUR", to_gbp)
    assert large.compensation == D(100)
    assert fixed_compensation(
        ContractTerms(Jurisdiction.UK),
        D(20000),
        currency="EUR",
        on=date(2024, 6, 21),
        to_gbp=to_gbp,
    ) == (D(100), "GBP")


def test_uk_fixed_sum_when_the_conversion_knows_no_rate() -> None:
    def no_rate(amount: Decimal, currency: str, on: date) -> Decimal | None:
        return None

    terms = ContractTerms(Jurisdiction.UK)
    assert fixed_compensation(
        terms, D(50000), currency="USD", on=date(2024, 6, 21), to_gbp=no_rate
    ) == (D(40), "GBP")
    assert fixed_compensation(terms, D(50000), currency="USD") == (D(40), "GBP")


# --- Due dates on weekends and public holidays -----------------------------------------------------


def test_de_due_on_a_saturday_and_paid_on_the_monday_owes_nothing() -> None:
    # BGB § 193: due Saturday 2025-03-15 moves to Monday 2025-03-17; paid that day: not late,
    # no interest and no 40 EUR (§ 288 Abs. 5 needs default).
    debt = paid_once(date(2025, 3, 15), "1000", date(2025, 3, 17))
    result = claim(ContractTerms(Jurisdiction.DE), "1000", debt, date(2025, 4, 30))
    assert (result.interest, result.compensation) == (D(0), D(0))
    assert result.periods == ()
    assert "BGB § 193" in result.basis


def test_de_due_on_a_saturday_and_paid_on_the_tuesday_owes_one_day() -> None:
    # BGB § 193: interest from Tuesday 2025-03-18 only: 1000*11.27*1/36500 = 0.3088 -> 0.31; 40 EUR.
    debt = paid_once(date(2025, 3, 15), "1000", date(2025, 3, 18))
    result = claim(ContractTerms(Jurisdiction.DE), "1000", debt, date(2025, 4, 30))
    assert result.interest == D("0.31")
    assert result.compensation == D(40)
    assert [(p.start, p.days) for p in result.periods] == [(date(2025, 3, 18), 1)]


@pytest.mark.parametrize(
    ("jurisdiction", "due_on", "moved"),
    [
        (Jurisdiction.DE, date(2025, 10, 3), date(2025, 10, 6)),  # Tag der Deutschen Einheit, Fri
        (Jurisdiction.DE, date(2025, 1, 6), date(2025, 1, 7)),  # Epiphany (BW, BY, ST): any Land
        (Jurisdiction.FR, date(2025, 7, 14), date(2025, 7, 15)),  # Fête nationale
        (Jurisdiction.UK, date(2025, 12, 25), date(2025, 12, 29)),  # Christmas, Boxing Day, w/e
        (Jurisdiction.UK, date(2025, 8, 4), date(2025, 8, 5)),  # Scotland's summer holiday
        (Jurisdiction.CN, date(2025, 10, 1), date(2025, 10, 9)),  # National Day, Mid-Autumn
        (Jurisdiction.CN, date(2025, 9, 28), date(2025, 9, 28)),  # a Sunday made a working day
        (Jurisdiction.EU, date(2025, 3, 15), date(2025, 3, 17)),  # weekends only
        (Jurisdiction.DE, date(2025, 3, 14), date(2025, 3, 14)),  # a Friday stays
    ],
)
def test_due_dates_move_to_the_next_business_day(
    jurisdiction: Jurisdiction, due_on: date, moved: date
) -> None:
    assert moved_due_date(jurisdiction, due_on) == moved


def test_cn_adjusted_working_day_is_a_business_day() -> None:
    # Civil Code art. 203 counts statutory rest days; 2025-09-28 (Sunday) was a working day (调休).
    assert is_business_day(Jurisdiction.CN, date(2025, 9, 28))
    assert not is_business_day(Jurisdiction.DE, date(2025, 9, 28))


@given(
    jurisdiction=st.sampled_from(list(Jurisdiction)),
    due_on=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
)
def test_a_moved_due_date_is_the_first_business_day_on_or_after_the_original(
    jurisdiction: Jurisdiction, due_on: date
) -> None:
    moved = moved_due_date(jurisdiction, due_on)
    assert moved >= due_on
    assert (moved - due_on).days <= 10
    assert is_business_day(jurisdiction, moved)
    assert moved.weekday() < 5 or jurisdiction is Jurisdiction.CN
    day = due_on
    while day < moved:
        assert not is_business_day(jurisdiction, day)
        day += timedelta(days=1)


# --- The law of an invoice without contract terms -------------------------------------------------


def test_law_of_an_invoice_without_terms_is_the_tenants_jurisdiction() -> None:
    assert law_of(None, Jurisdiction.DE) == ContractTerms(Jurisdiction.DE)
    assert law_of(None, "FR") == ContractTerms(Jurisdiction.FR)
    terms = ContractTerms(Jurisdiction.CN, D("6"), date(2024, 11, 1), True, True)
    assert law_of(terms, Jurisdiction.DE) is terms


def test_a_tenant_that_has_not_said_its_jurisdiction_follows_the_currencys_statute() -> None:
    """Ledger and dunning ask this one rule: a GBP invoice without terms of such a tenant is under
    the UK Act in both (not the UK rate in one and ECB + 8 in the other)."""
    assert law_of(None, None, "GBP") == ContractTerms(Jurisdiction.UK)
    assert law_of(None, None, "EUR") == ContractTerms(Jurisdiction.EU)
    assert law_of(None, None, "CNY") == ContractTerms(Jurisdiction.CN)
    assert law_of(None, None, "USD") is None
    assert law_of(None, "DE", "GBP") == ContractTerms(Jurisdiction.DE)
    assert law_of(None, "CN", "CNY", tenant_is_sme=True) == ContractTerms(
        Jurisdiction.CN, creditor_is_sme=True
    )
