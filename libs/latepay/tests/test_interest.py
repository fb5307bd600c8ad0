"""Hand-computed examples per jurisdiction (the arithmetic is in each test's comment)."""

from datetime import date
from decimal import Decimal

import pytest

from arshield_latepay import (
    BalanceChange,
    ContractTerms,
    Debt,
    Jurisdiction,
    LatePaymentClaim,
    RateRow,
    RateSeries,
    ReferenceRates,
    ToGbp,
    fixed_compensation,
    late_payment_claim,
)

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()


def paid_once(due_on: date, amount: str, issued_on: date, paid_on: date | None) -> Debt:
    changes = [BalanceChange(issued_on, D(amount))]
    if paid_on is not None:
        changes.append(BalanceChange(paid_on, D(0)))
    return Debt(due_on, tuple(changes))


def claim(
    jurisdiction: Jurisdiction,
    amount: str,
    debts: list[Debt],
    as_of: date,
    currency: str = "EUR",
    agreed: str | None = None,
    signed_on: date | None = None,
    rates: ReferenceRates = RATES,
    sme: bool | None = None,
    large_or_public: bool | None = None,
    to_gbp: ToGbp | None = None,
) -> LatePaymentClaim:
    terms = ContractTerms(
        jurisdiction,
        D(agreed) if agreed is not None else None,
        signed_on=signed_on,
        creditor_is_sme=sme,
        debtor_is_large_or_public=large_or_public,
    )
    return late_payment_claim(
        terms=terms,
        currency=currency,
        invoice_amount=D(amount),
        debts=debts,
        as_of=as_of,
        rates=rates,
        to_gbp=to_gbp,
    )


def cn_art17_claim(
    debts: list[Debt], as_of: date, agreed: str | None, signed_on: date | None
) -> LatePaymentClaim:
    """A 100,000 CNY invoice of an SME creditor to a large-enterprise debtor."""
    return claim(
        Jurisdiction.CN,
        "100000",
        debts,
        as_of,
        "CNY",
        agreed,
        signed_on,
        sme=True,
        large_or_public=True,
    )


def test_eu_rate_refixed_each_half_year() -> None:
    # 10,000 EUR due 2023-06-15, paid 2023-08-14 (60 days late).
    # 2023-06-16..30: 15 days at 2.50 (MRO on 2023-01-01) + 8 = 10.50 %
    # 2023-07-01..08-14: 45 days at 4.00 (MRO on 2023-07-01) + 8 = 12.00 %
    # 10000*(10.5*15 + 12*45)/36500 = 69750/365 = 191.0959 -> 191.10; 40 EUR.
    debt = paid_once(date(2023, 6, 15), "10000", date(2023, 5, 16), date(2023, 8, 14))
    result = claim(Jurisdiction.EU, "10000", [debt], date(2023, 12, 31))
    assert result.interest == D("191.10")
    assert result.compensation == D(40)
    assert result.compensation_currency == "EUR"
    assert [(p.days, p.reference_rate, p.annual_rate) for p in result.periods] == [
        (15, D("2.50"), D("10.50")),
        (45, D("4.00"), D("12.00")),
    ]


def test_de_basiszinssatz_plus_nine() -> None:
    # 5,000 EUR due 2024-12-20, unpaid on 2025-01-19.
    # 2024-12-21..31: 11 days at 3.37 + 9 = 12.37 %; 2025-01-01..19: 19 days at 2.27 + 9 = 11.27 %
    # 5000*(12.37*11 + 11.27*19)/36500 = 1751000/36500 = 47.9726 -> 47.97
    debt = paid_once(date(2024, 12, 20), "5000", date(2024, 11, 20), None)
    result = claim(Jurisdiction.DE, "5000", [debt], date(2025, 1, 19))
    assert result.interest == D("47.97")
    assert result.compensation == D(40)
    assert [p.annual_rate for p in result.periods] == [D("12.37"), D("11.27")]


def test_fr_ecb_plus_ten() -> None:
    # 1,000 EUR due 2025-03-31, paid 2025-04-30: 30 days at 3.15 (MRO on 2025-01-01) + 10 = 13.15 %
    # 1000*13.15*30/36500 = 10.8082 -> 10.81
    debt = paid_once(date(2025, 3, 31), "1000", date(2025, 3, 1), date(2025, 4, 30))
    result = claim(Jurisdiction.FR, "1000", [debt], date(2025, 6, 30))
    assert result.interest == D("10.81")
    assert result.compensation == D(40)


def test_uk_reference_fixed_for_the_life_of_the_debt() -> None:
    # 5,000 GBP due 2024-06-20, paid 2024-08-19: overdue from 2024-06-21 (first half-year), so the
    # reference is Bank Rate on 2023-12-31 = 5.25 for all 60 days (not 5.00 from 2024-08-01).
    # 5000*13.25*60/36500 = 108.9041 -> 108.90; fixed sum 70 GBP (1,000 <= debt < 10,000).
    debt = paid_once(date(2024, 6, 20), "5000", date(2024, 5, 21), date(2024, 8, 19))
    result = claim(Jurisdiction.UK, "5000", [debt], date(2024, 9, 30), currency="GBP")
    assert result.interest == D("108.90")
    assert result.compensation == D(70)
    assert result.compensation_currency == "GBP"
    assert {p.reference_rate for p in result.periods} == {D("5.25")}


def test_uk_partial_payment_reduces_the_principal_from_the_next_day() -> None:
    # 12,000 GBP due 2025-01-10; 2,000 paid 2025-01-20, 10,000 paid 2025-02-09. Reference: Bank Rate
    # on 2024-12-31 = 4.75, so 12.75 %. 01-11..01-20: 10 days on 12,000;
    # 01-21..02-09: 20 days on 10,000.
    # (12000*10 + 10000*20)*12.75/36500 = 4080000/36500 = 111.7808 -> 111.78; fixed sum 100 GBP.
    debt = Debt(
        date(2025, 1, 10),
        (
            BalanceChange(date(2024, 12, 11), D(12000)),
            BalanceChange(date(2025, 1, 20), D(10000)),
            BalanceChange(date(2025, 2, 9), D(0)),
        ),
    )
    result = claim(Jurisdiction.UK, "12000", [debt], date(2025, 3, 1), currency="GBP")
    assert result.interest == D("111.78")
    assert result.compensation == D(100)
    assert [(p.days, p.principal) for p in result.periods] == [(10, D(12000)), (20, D(10000))]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("999.99", 40), ("1000", 70), ("9999.99", 70), ("10000", 100)],
)
def test_uk_fixed_sum_bands(amount: str, expected: int) -> None:
    terms = ContractTerms(Jurisdiction.UK)
    assert fixed_compensation(terms, D(amount)) == (D(expected), "GBP")


def test_cn_without_agreement_is_five_hundredths_percent_per_day() -> None:
    # SME Payment Regulations 2025 art. 17: a large enterprise paying an SME late, no agreed rate.
    # 100,000 CNY due 2025-06-30, unpaid on 2025-07-30: 30 days * 0.05 % * 100,000 = 1,500.00
    # (This test used to rely on the default; 0.05 % a day now needs both parties known.)
    debt = paid_once(date(2025, 6, 30), "100000", date(2025, 5, 31), None)
    result = claim(
        Jurisdiction.CN,
        "100000",
        [debt],
        date(2025, 7, 30),
        currency="CNY",
        sme=True,
        large_or_public=True,
    )
    assert result.interest == D("1500.00")
    assert result.compensation == D(0)


def test_cn_agreed_rate_floored_at_lpr_at_signing() -> None:
    # SME Payment Regulations 2025 art. 17 (an SME creditor, a large-enterprise debtor; this test
    # used to rely on a default that assumed an SME creditor and any debtor).
    # Signed 2024-11-01 when the one-year LPR was 3.10: an agreed 2 % is lifted to 3.10 %.
    # 100000*3.10*30/36500 = 254.7945 -> 254.79. An agreed 6 %: 100000*6*30/36500 = 493.15
    debt = paid_once(date(2025, 6, 30), "100000", date(2024, 11, 1), None)
    signed = date(2024, 11, 1)
    low = cn_art17_claim([debt], date(2025, 7, 30), "2", signed)
    assert low.interest == D("254.79")
    assert low.periods[0].reference_rate == D("3.10")
    high = cn_art17_claim([debt], date(2025, 7, 30), "6", signed)
    assert high.interest == D("493.15")


def test_agreed_contract_rate_replaces_the_statutory_rate() -> None:
    # 2,000 EUR at an agreed 9.5 %, 10 days late: 2000*9.5*10/36500 = 5.2055 -> 5.21; still 40 EUR.
    debt = paid_once(date(2025, 1, 31), "2000", date(2025, 1, 1), date(2025, 2, 10))
    result = claim(Jurisdiction.EU, "2000", [debt], date(2025, 3, 1), agreed="9.5")
    assert result.interest == D("5.21")
    assert result.compensation == D(40)
    assert result.basis == "agreed annual rate 9.5%"


def test_paid_on_the_due_date_owes_nothing() -> None:
    debt = paid_once(date(2025, 1, 31), "2000", date(2025, 1, 1), date(2025, 1, 31))
    for jurisdiction in Jurisdiction:
        result = claim(jurisdiction, "2000", [debt], date(2025, 6, 1))
        assert (result.interest, result.compensation) == (D(0), D(0)), jurisdiction


def test_instalments_accrue_separately_and_compensation_is_once_per_invoice() -> None:
    # Two instalments of 1,000 EUR due 2025-01-31 and 2025-02-28, both paid 2025-03-10.
    # H1 2025 ECB reference 3.15 + 8 = 11.15 %: days late 38 and 10 -> 1000*11.15*48/36500 = 14.6630
    first = paid_once(date(2025, 1, 31), "1000", date(2025, 1, 1), date(2025, 3, 10))
    second = paid_once(date(2025, 2, 28), "1000", date(2025, 1, 1), date(2025, 3, 10))
    result = claim(Jurisdiction.EU, "2000", [first, second], date(2025, 4, 1))
    assert result.interest == D("14.66")
    assert result.compensation == D(40)


def test_a_corrected_rate_recomputes_and_the_old_version_reproduces() -> None:
    # A (hypothetical) correction of the MRO change of 2023-06-21 to 4.10 moves the H2 2023
    # reference.
    debt = paid_once(date(2023, 6, 30), "10000", date(2023, 6, 1), date(2023, 7, 30))
    before = claim(Jurisdiction.EU, "10000", [debt], date(2023, 12, 31))
    corrected = RATES.corrected(
        RateSeries.ECB_MRO,
        [RateRow(date(2023, 6, 21), D("4.10"), 2, date(2026, 3, 1), "correction")],
    )
    after = claim(Jurisdiction.EU, "10000", [debt], date(2023, 12, 31), rates=corrected)
    # 30 days: 10000*12.00*30/36500 = 98.63 before; 10000*12.10*30/36500 = 99.45 after.
    assert (before.interest, after.interest) == (D("98.63"), D("99.45"))
    assert after.rate_table_versions["ecb_mro"] == 2
    reproduced = claim(
        Jurisdiction.EU,
        "10000",
        [debt],
        date(2023, 12, 31),
        rates=corrected.at_versions({RateSeries.ECB_MRO: 1}),
    )
    assert reproduced.interest == before.interest


def test_interest_is_rounded_to_the_minor_units_of_the_currency() -> None:
    # The same German debt in yen: 500,000 JPY, same days and rates as above.
    # 500000*(12.37*11 + 11.27*19)/36500 = 4797.26 -> 4,797 JPY (no minor units);
    # 2024-12-21..31: 500000*12.37*11/36500 = 1863.97 -> 1,864; 2025-01-01..19: 2933.29 -> 2,933.
    debt = paid_once(date(2024, 12, 20), "500000", date(2024, 11, 20), None)
    result = claim(Jurisdiction.DE, "500000", [debt], date(2025, 1, 19), currency="JPY")
    assert result.interest == D("4797")
    assert [p.amount for p in result.periods] == [D("1864"), D("2933")]
    # And a dinar has three: 5,000 BHD gives 47.973 BHD (47.9726... rounded to the fils).
    debt = paid_once(date(2024, 12, 20), "5000", date(2024, 11, 20), None)
    assert claim(Jurisdiction.DE, "5000", [debt], date(2025, 1, 19), currency="BHD").interest == D(
        "47.973"
    )
