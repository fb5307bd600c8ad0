"""Money on the wire: a decimal string amount and an ISO 4217 currency, never a float.

`{"amount": "1234.50", "currency": "EUR"}`. Amounts carry at most four decimal places, and a
`Money` amount no finer than its currency's minor unit (ISO 4217 exponent: 2 for EUR, 0 for JPY
and KRW, 3 for BHD, KWD, JOD, OMR, TND, LYD and IQD; from the list shipped in `data/iso4217.csv`):
"100.50 JPY" cannot be paid. Trailing zeros are fine ("100.00 JPY" is 100 yen). A JSON number
(integer or float) is refused outright, because a float has already lost the cents and an integer
hides whether the sender meant units or minor units.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

MAX_DECIMAL_PLACES = 4
MAX_INTEGER_DIGITS = 15
AMOUNT_PATTERN = r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$"
_AMOUNT_RE = re.compile(AMOUNT_PATTERN)
_DECIMAL_HELP = 'send decimal values as JSON strings, e.g. "1234.50"'


class JsonNumberRefused(ValueError):  # noqa: N818 - reads as the fact it reports
    """A decimal value arrived as a JSON number instead of a decimal string."""


class CurrencyMismatch(ValueError):  # noqa: N818 - reads as the fact it reports
    """Arithmetic or comparison between amounts of different currencies."""


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    numeric: str
    minor_units: int | None
    """Decimal places of the currency; None for non-monetary codes (gold, SDR, testing)."""
    name: str


@cache
def iso4217() -> dict[str, Currency]:
    """The ISO 4217 list shipped with this package (`data/iso4217.csv`), by alphabetic code."""
    text = files("arshield_events").joinpath("data/iso4217.csv").read_text(encoding="utf-8")
    table: dict[str, Currency] = {}
    for row in csv.DictReader(io.StringIO(text)):
        units = row["minor_units"]
        table[row["code"]] = Currency(
            code=row["code"],
            numeric=row["numeric"],
            minor_units=int(units) if units else None,
            name=row["name"],
        )
    return table


@cache
def _minor_units() -> dict[str, int]:
    return {code: info.minor_units or 0 for code, info in iso4217().items()}


def currency_info(code: str) -> Currency:
    try:
        return iso4217()[code]
    except KeyError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code") from None


def _check_currency(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # the str schema reports the type error
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError(f"currency must be three upper-case letters (ISO 4217), got {value!r}")
    info = currency_info(value)
    if info.minor_units is None:
        raise ValueError(f"{value!r} ({info.name}) is not a currency that invoices can be made in")
    return value


CurrencyCode = Annotated[
    str,
    BeforeValidator(_check_currency),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 alphabetic code",
            "examples": ["EUR", "GBP", "CNY"],
        }
    ),
]


def parse_decimal_string(value: Any) -> Decimal:
    """A Decimal from a decimal string (or a Decimal built in code); JSON numbers are refused."""
    if isinstance(value, bool):
        raise JsonNumberRefused(f"expected a decimal string, got a boolean; {_DECIMAL_HELP}")
    if isinstance(value, float):
        raise JsonNumberRefused(f"JSON float {value!r} refused; {_DECIMAL_HELP}")
    if isinstance(value, int):
        raise JsonNumberRefused(f"JSON number {value!r} refused; {_DECIMAL_HELP}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite amount")
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        if exponent < -MAX_DECIMAL_PLACES:
            raise ValueError(f"{value} has more than {MAX_DECIMAL_PLACES} decimal places")
        if value.adjusted() >= MAX_INTEGER_DIGITS:
            raise ValueError(f"{value} has more than {MAX_INTEGER_DIGITS} integer digits")
        return value
    if isinstance(value, str):
        if not _AMOUNT_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a decimal string: digits with at most "
                f"{MAX_DECIMAL_PLACES} decimal places and a '.' separator, e.g. \"1234.50\""
            )
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern already excludes these
            raise ValueError(f"{value!r} is not a decimal string") from None
    raise ValueError(f"expected a decimal string, got {type(value).__name__}")


def format_decimal(value: Decimal) -> str:
    """Plain notation, never exponent notation: Decimal("1E+3") is written "1000"."""
    text = format(value, "f")
    return "0" if text == "-0" else text


def _decimal_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_PATTERN,
            "description": description,
            "examples": ["1234.50"],
        }
    )


DecimalString = Annotated[
    Decimal,
    BeforeValidator(parse_decimal_string),
    PlainSerializer(format_decimal, return_type=str, when_used="json"),
    _decimal_schema("a decimal as a string, at most 4 decimal places"),
]
"""A decimal on the wire as a string (rates, ratios); JSON numbers are refused."""


def _money_amount(value: Any) -> Decimal:
    amount = parse_decimal_string(value)
    return amount.copy_abs() if amount.is_zero() else amount  # no "-0.00"


_MINOR_UNIT = {units: Decimal(1).scaleb(-units) for units in range(MAX_DECIMAL_PLACES + 1)}


class Money(BaseModel):
    """An amount in one currency. Arithmetic and ordering refuse to mix currencies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[
        Decimal,
        BeforeValidator(_money_amount),
        PlainSerializer(format_decimal, return_type=str, when_used="json"),
        _decimal_schema(
            "decimal string, at most 4 decimal places and no finer than the currency's minor "
            "unit (2 for EUR, 0 for JPY, 3 for BHD); JSON numbers are refused"
        ),
    ]
    currency: CurrencyCode = Field(description="ISO 4217 alphabetic code")

    @model_validator(mode="after")
    def _fits_minor_units(self) -> Money:
        # On every consumer's path: one dict lookup, and the quantize only for amounts written
        # with more places than the currency has (the currency is known: CurrencyCode checked it).
        units = _minor_units()[self.currency]
        exponent = self.amount.as_tuple().exponent
        assert isinstance(exponent, int)  # finite: parse_decimal_string refuses the others
        if -exponent > units and self.amount != self.amount.quantize(_MINOR_UNIT[units]):
            raise ValueError(
                f"{format_decimal(self.amount)} {self.currency} is finer than the currency's "
                f"minor unit: {self.currency} has {units} decimal places"
            )
        return self

    @classmethod
    def of(cls, amount: str | Decimal, currency: str) -> Money:
        return cls(amount=amount, currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    # --- predicates -----------------------------------------------------------------------
    @property
    def is_zero(self) -> bool:
        return self.amount.is_zero()

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    # --- arithmetic -----------------------------------------------------------------------
    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency} amounts")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(amount=self.amount + self._same_currency(other).amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(amount=self.amount - self._same_currency(other).amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __abs__(self) -> Money:
        return Money(amount=abs(self.amount), currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other).amount

    def rounded(self) -> Money:
        """Rounded half-up to the currency's minor units (cents for EUR, none for JPY)."""
        return Money(
            amount=round_to_minor_units(self.amount, self.currency), currency=self.currency
        )

    def __str__(self) -> str:
        return f"{format_decimal(self.amount)} {self.currency}"


def round_to_minor_units(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the minor units of `currency` (2 for EUR, 0 for JPY)."""
    units = currency_info(currency).minor_units or 0
    return amount.quantize(Decimal(1).scaleb(-units), rounding=ROUND_HALF_UP)


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """The sum of amounts in `currency` (zero for none); a different currency raises."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
