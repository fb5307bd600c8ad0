"""Field types shared by the event payloads: ids, free text, business dates, positive money."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from arshield_events.money import DecimalString, Money

# Ids come from ERPs we do not control: any printable text without whitespace, bounded.
ID_PATTERN = r"^[^\s\x00-\x1f\x7f]+$"
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]
"""A non-empty identifier (invoice, buyer, payment ...): printable, no whitespace, at most 128."""

Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
"""Free text such as a reason: not blank, at most 2000 characters."""

ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
"""A short human-readable label (a name, a document number): not blank, at most 200."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    # Business dates are calendar days: refuse timestamps, numbers and datetimes that pydantic's
    # lax mode would otherwise coerce.
    if isinstance(value, datetime):
        raise ValueError("expected a calendar date (YYYY-MM-DD), got a datetime")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError(f"expected an ISO 8601 calendar date (YYYY-MM-DD), got {value!r}")


BusinessDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
]
"""A business date (ISO 8601 calendar day)."""


def _positive(value: Money) -> Money:
    if not value.is_positive:
        raise ValueError(f"amount must be greater than zero, got {value.amount}")
    return value


def _not_negative(value: Money) -> Money:
    if value.is_negative:
        raise ValueError(f"amount must not be negative, got {value.amount}")
    return value


PositiveMoney = Annotated[Money, AfterValidator(_positive)]
"""Money strictly greater than zero (invoices, payments, credit notes)."""

NonNegativeMoney = Annotated[Money, AfterValidator(_not_negative)]
"""Money of zero or more (outstanding balances, interest claimed)."""

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
LanguageTag = Annotated[
    str,
    Field(
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=35,
        description='BCP 47 language tag, e.g. "en", "zh", "zh-Hans", "de-CH"',
    ),
]
Email = Annotated[
    str,
    Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, description="e-mail address"),
]
DocumentRef = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]
"""A reference to a stored document (URI, DMS id) such as a letter or proof of delivery."""


class Part(BaseModel):
    """A value object inside a payload (an instalment, a contact): frozen and extra-forbid."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    duplicates = sorted(value for value, count in Counter(values).items() if count > 1)
    if duplicates:
        raise ValueError(f"ids must be unique, repeated: {', '.join(duplicates)}")
    return values


IdList = Annotated[tuple[Id, ...], Field(min_length=1, max_length=1000), AfterValidator(_unique)]
"""One or more distinct ids (the invoices a case or claim covers)."""

PolicyVersion = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=ID_PATTERN,
        description="version of the tenant's policy (rules as data) that led to the decision",
    ),
]

Grade = Annotated[int, Field(strict=True, ge=1, le=10, description="1 best ... 10 worst")]


def _percentage(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError(f"{value} is not a percentage between 0 and 100")
    return value


Percentage = Annotated[DecimalString, AfterValidator(_percentage)]
"""A percentage 0..100 as a decimal string, e.g. "90" or "9.5"."""


def same_currency(value: Money, other: Money | None, what: str) -> None:
    """Raise when `value` is not in the currency of `other` (`what` names `other` in the error)."""
    if other is not None and value.currency != other.currency:
        raise ValueError(f"is in {value.currency}, {what} in {other.currency}")
