from datetime import date
from decimal import Decimal

import pytest

from arshield_latepay import RateSeries, RateUnavailableError, ReferenceRates, parse_table

pytestmark = pytest.mark.unit
RATES = ReferenceRates.shipped()


@pytest.mark.parametrize(
    ("series", "day", "rate"),
    [
        (RateSeries.ECB_MRO, date(2012, 1, 1), "1.00"),
        (RateSeries.ECB_MRO, date(2012, 7, 11), "0.75"),
        (RateSeries.ECB_MRO, date(2016, 3, 15), "0.05"),
        (RateSeries.ECB_MRO, date(2022, 7, 1), "0.00"),
        (RateSeries.ECB_MRO, date(2024, 1, 1), "4.50"),
        (RateSeries.ECB_MRO, date(2025, 7, 1), "2.15"),
        (RateSeries.DE_BASISZINSSATZ, date(2020, 5, 5), "-0.88"),
        (RateSeries.DE_BASISZINSSATZ, date(2023, 7, 1), "3.12"),
        (RateSeries.BOE_BANK_RATE, date(2012, 1, 1), "0.50"),
        (RateSeries.BOE_BANK_RATE, date(2023, 12, 31), "5.25"),
        (RateSeries.BOE_BANK_RATE, date(2025, 8, 7), "4.00"),
        (RateSeries.CN_LPR_1Y, date(2013, 1, 1), "6.00"),
        (RateSeries.CN_LPR_1Y, date(2019, 8, 19), "4.35"),
        (RateSeries.CN_LPR_1Y, date(2019, 8, 20), "4.25"),
        (RateSeries.CN_LPR_1Y, date(2025, 5, 20), "3.00"),
        (RateSeries.FR_TAUX_LEGAL_PRO, date(2015, 1, 1), "0.93"),
        (RateSeries.FR_TAUX_LEGAL_PRO, date(2023, 12, 31), "4.22"),
        (RateSeries.FR_TAUX_LEGAL_PRO, date(2024, 1, 1), "5.07"),
        (RateSeries.FR_TAUX_LEGAL_PRO, date(2025, 7, 1), "2.76"),
        (RateSeries.FR_TAUX_LEGAL_PRO, date(2026, 6, 30), "2.62"),
    ],
)
def test_shipped_tables_answer_published_rates(series: RateSeries, day: date, rate: str) -> None:
    assert RATES.table(series).rate_on(day) == Decimal(rate)


def test_basiszinssatz_follows_the_mro_arithmetic_of_bgb_247() -> None:
    # Each half-year the base rate moves by the MRO change since the last change (§ 247 Abs. 1).
    mro = RATES.table(RateSeries.ECB_MRO)
    base = RATES.table(RateSeries.DE_BASISZINSSATZ)
    previous = date(2012, 1, 1)
    for year in range(2012, 2027):
        for month in (1, 7):
            day = date(year, month, 1)
            if day <= previous:
                continue
            moved = mro.rate_on(day) - mro.rate_on(previous)
            if moved:
                assert base.rate_on(day) - base.rate_on(previous) == moved, day
                previous = day


def test_a_later_version_with_the_same_date_supersedes() -> None:
    table = parse_table(
        RateSeries.ECB_MRO,
        "# header\neffective_on,rate_percent,version,recorded_on,note\n"
        "2020-01-01,1.00,1,2020-01-01,\n2020-06-01,2.00,1,2020-06-01,\n"
        "2020-06-01,2.50,2,2020-07-01,corrected\n",
    )
    assert table.rate_on(date(2020, 6, 2)) == Decimal("2.50")
    assert table.version == 2
    assert table.view(1).rate_on(date(2020, 6, 2)) == Decimal("2.00")
    with pytest.raises(RateUnavailableError):
        table.rate_on(date(2019, 12, 31))


def test_french_legal_rate_holds_for_its_own_half_year_only() -> None:
    # One row per half-year from H1 2015, none missing in between; a half-year without its row
    # (H2 2026 onwards, H2 2014 and before) is refused rather than carried over.
    table = RATES.table(RateSeries.FR_TAUX_LEGAL_PRO)
    days = [row.effective_on for row in table.rows]
    expected = [date(y, m, 1) for y in range(2015, 2027) for m in (1, 7)][: len(days)]
    assert days == expected
    assert days[-1] == date(2026, 1, 1)
    assert table.rate_for_half_year(date(2026, 3, 15)) == Decimal("2.62")
    with pytest.raises(RateUnavailableError, match="H2 2026"):
        table.rate_for_half_year(date(2026, 7, 1))
    with pytest.raises(RateUnavailableError, match="H2 2014"):
        table.rate_for_half_year(date(2014, 12, 31))
