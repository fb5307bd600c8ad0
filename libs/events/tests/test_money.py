from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from arshield_events.money import (
    CurrencyMismatch,
    Money,
    iso4217,
    round_to_minor_units,
    sum_money,
)

pytestmark = pytest.mark.unit

currencies = st.sampled_from(["EUR", "GBP", "CNY", "USD", "JPY", "KWD", "CLF"])


def amounts(currency: str) -> st.SearchStrategy[Decimal]:
    """Amounts that fit `currency`'s minor units (0 for JPY ... 4 for CLF)."""
    places = iso4217()[currency].minor_units or 0
    return st.decimals(
        min_value=Decimal("-999999999.9999"),
        max_value=Decimal("999999999.9999"),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


# (currency, amount, amount) with both amounts fitting the currency
in_one_currency = currencies.flatmap(
    lambda currency: st.tuples(st.just(currency), amounts(currency), amounts(currency))
)


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_amount_is_a_decimal_string_on_the_wire() -> None:
    money = Money.model_validate({"amount": "1234.50", "currency": "EUR"})
    assert money.amount == Decimal("1234.50")
    assert money.model_dump(mode="json") == {"amount": "1234.50", "currency": "EUR"}


def test_exponent_notation_is_written_plainly() -> None:
    assert Money(amount=Decimal("1E+3"), currency="EUR").model_dump(mode="json")["amount"] == "1000"


@pytest.mark.parametrize("number", [1234.5, 1234, 0.1, True])
def test_json_numbers_are_refused_with_a_clear_message(number: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Money.model_validate({"amount": number, "currency": "EUR"})
    (error,) = caught.value.errors()
    assert error["loc"] == ("amount",)
    assert "decimal" in error["msg"]
    assert "1234.50" in error["msg"]


@pytest.mark.parametrize(
    "text", ["", "1,50", "1.23456", "1e3", "NaN", "Infinity", " 1.00", "01.00", "+1.00", "1."]
)
def test_malformed_decimal_strings_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": text, "currency": "EUR"})


@pytest.mark.parametrize("code", ["eur", "EU", "EURO", "EUX", "ABC", "XAU", "XXX", 978])
def test_currency_must_be_an_iso_4217_currency(code: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Money.model_validate({"amount": "1.00", "currency": code})
    assert caught.value.errors()[0]["loc"] == ("currency",)


def test_the_shipped_iso_4217_list_has_the_major_currencies() -> None:
    table = iso4217()
    assert {"EUR", "GBP", "USD", "CNY", "JPY", "CHF"} <= table.keys()
    assert table["JPY"].minor_units == 0
    assert table["KWD"].minor_units == 3
    assert table["EUR"].numeric == "978"
    assert len(table) > 150


def test_four_decimal_places_are_the_most_accepted() -> None:
    # CLF (Unidad de Fomento) is one of the few currencies with four minor units
    assert Money.model_validate({"amount": "0.0001", "currency": "CLF"}).amount == Decimal("0.0001")
    with pytest.raises(ValidationError):
        Money(amount=Decimal("0.00001"), currency="CLF")


def test_money_is_frozen_and_forbids_extra_fields() -> None:
    money = eur("1.00")
    with pytest.raises(ValidationError):
        money.amount = Decimal(2)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": "1.00", "currency": "EUR", "fx": "1.1"})


def test_mixing_currencies_raises() -> None:
    gbp = Money.of("1.00", "GBP")
    with pytest.raises(CurrencyMismatch):
        _ = eur("1.00") + gbp
    with pytest.raises(CurrencyMismatch):
        _ = eur("1.00") - gbp
    with pytest.raises(CurrencyMismatch):
        _ = eur("1.00") < gbp
    with pytest.raises(CurrencyMismatch):
        sum_money([eur("1.00"), gbp], "EUR")


def test_zero_and_rounding_to_minor_units() -> None:
    assert Money.zero("EUR").is_zero
    assert round_to_minor_units(Decimal("10.005"), "EUR") == Decimal("10.01")
    assert Money.of(round_to_minor_units(Decimal("1234.5"), "JPY"), "JPY") == Money.of(
        "1235", "JPY"
    )
    assert str(Money.of("-0.0", "EUR")) == "0.0 EUR"


@given(in_one_currency)
def test_addition_and_subtraction_are_inverse(drawn: tuple[str, Decimal, Decimal]) -> None:
    currency, a, b = drawn
    x, y = Money(amount=a, currency=currency), Money(amount=b, currency=currency)
    assert (x + y) - y == x
    assert x + y == y + x
    assert x - x == Money.zero(currency)
    assert -x + x == Money.zero(currency)
    assert abs(-x) == abs(x)


@given(in_one_currency)
def test_ordering_follows_the_amounts(drawn: tuple[str, Decimal, Decimal]) -> None:
    currency, a, b = drawn
    x, y = Money(amount=a, currency=currency), Money(amount=b, currency=currency)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)
    assert max(x, y).amount == max(a, b)


@given(currencies.flatmap(lambda c: st.tuples(st.just(c), st.lists(amounts(c), max_size=20))))
def test_sum_equals_the_sum_of_amounts(drawn: tuple[str, list[Decimal]]) -> None:
    currency, values = drawn
    total = sum_money((Money(amount=v, currency=currency) for v in values), currency)
    assert total.amount == sum(values, Decimal(0))


@given(in_one_currency)
def test_json_round_trip_keeps_the_exact_amount(drawn: tuple[str, Decimal, Decimal]) -> None:
    currency, amount, _ = drawn
    money = Money(amount=amount, currency=currency)
    again = Money.model_validate_json(money.model_dump_json())
    assert again == money
    assert again.amount.as_tuple().exponent == money.amount.as_tuple().exponent or amount.is_zero()


# --- minor units (ISO 4217 exponent) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("100.50", "JPY"), ("1.5", "KRW"), ("0.001", "EUR"), ("1.0001", "BHD"), ("2.0005", "KWD")],
)
def test_an_amount_finer_than_the_currency_allows_is_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Money.model_validate({"amount": amount, "currency": currency})
    (error,) = caught.value.errors()
    assert currency in error["msg"]
    assert "minor unit" in error["msg"]


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("100", "JPY"), ("100.00", "JPY"), ("0.01", "EUR"), ("1.001", "BHD"), ("12.345", "TND")],
)
def test_an_amount_that_fits_the_minor_units_is_kept_as_sent(amount: str, currency: str) -> None:
    money = Money.model_validate({"amount": amount, "currency": currency})
    assert money.model_dump(mode="json") == {"amount": amount, "currency": currency}


@given(
    # CLF is left out: its four places are the wire maximum, which the decimal pattern enforces
    st.sampled_from(["EUR", "USD", "JPY", "KRW", "KWD", "BHD", "IQD"]).flatmap(
        lambda c: st.tuples(
            st.just(c),
            st.integers(min_value=-(10**12), max_value=10**12),
            st.integers(min_value=1, max_value=9),
        )
    )
)
def test_any_amount_with_a_digit_beyond_the_minor_units_is_refused(
    drawn: tuple[str, int, int],
) -> None:
    currency, whole, extra_digit = drawn
    places = iso4217()[currency].minor_units or 0
    amount = Decimal(whole).scaleb(-places) + Decimal(extra_digit).scaleb(-places - 1)
    with pytest.raises(ValidationError, match="minor unit"):
        Money(amount=amount, currency=currency)
