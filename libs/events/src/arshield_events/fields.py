"""Field types shared by the event payloads: ids, free text, business dates, positive money."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from arshield_events.money import DecimalString, Money

# Text comes from ERPs we do not control and ends up in PostgreSQL (which refuses NUL in text),
# letters and CSV exports. Control characters (Unicode category Cc: C0, DEL and C1) are refused in
# every string; only multi-line free text keeps tab, line feed and carriage return. The checks are
# regex patterns so they run inside pydantic-core, and the patterns are ECMA-262 compatible so the
# JSON Schemas carry them; `CONTROL_CHARACTERS` lets error messages name the offending character.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SINGLE_LINE = r"[^\x00-\x1f\x7f-\x9f]"
_MULTI_LINE = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"

# Ids come from ERPs we do not control: any printable text without whitespace, bounded.
ID_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]
"""A non-empty identifier (invoice, buyer, payment ...): printable, no whitespace, at most 128."""

TEXT_PATTERN = f"^{_MULTI_LINE}*{_VISIBLE}{_MULTI_LINE}*$"
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=TEXT_PATTERN)]
"""Free text such as a reason: not blank, at most 2000 characters. It may span lines (tab, line
feed and carriage return are kept, a reason is often pasted from a letter); no other control
character."""

SHORT_TEXT_PATTERN = f"^{_SINGLE_LINE}*{_VISIBLE}{_SINGLE_LINE}*$"
ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=SHORT_TEXT_PATTERN)]
"""A short human-readable label (a name, a document number): not blank, at most 200, one line
(no control character at all, not even a tab: labels go into letter headers and CSV cells)."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_BUSINESS_DATE = date(1900, 1, 1)
LAST_BUSINESS_DATE = date(2199, 12, 31)
_FIRST_YEAR, _LAST_YEAR = f"{FIRST_BUSINESS_DATE.year:04d}", f"{LAST_BUSINESS_DATE.year:04d}"
_DATE_RANGE = f"{FIRST_BUSINESS_DATE.isoformat()}..{LAST_BUSINESS_DATE.isoformat()}"


def _out_of_range(value: object) -> ValueError:
    return ValueError(f"date {value} is outside the supported range {_DATE_RANGE}")


def _iso_date(value: Any) -> Any:
    # Business dates are calendar days: refuse timestamps, numbers and datetimes that pydantic's
    # lax mode would otherwise coerce. The year range rides on the pattern check (a string compare
    # of the four-digit year), so the hot path gains no call.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        if not _FIRST_YEAR <= value[:4] <= _LAST_YEAR:
            raise _out_of_range(value)
        return value
    if isinstance(value, datetime):
        raise ValueError("expected a calendar date (YYYY-MM-DD), got a datetime")
    if isinstance(value, date):
        if not FIRST_BUSINESS_DATE <= value <= LAST_BUSINESS_DATE:
            raise _out_of_range(value)
        return value
    raise ValueError(f"expected an ISO 8601 calendar date (YYYY-MM-DD), got {value!r}")


BusinessDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": r"^\d{4}-\d{2}-\d{2}$",
            "description": f"ISO 8601 calendar day within {_DATE_RANGE}",
        }
    ),
]
"""A business date (ISO 8601 calendar day) from 1900-01-01 to 2199-12-31.

The range is wide enough for any real invoice, contract or statute of limitations, and narrow
enough that date arithmetic downstream (due date + terms + grace + years of limitation) can never
overflow `date.max` (9999-12-31), which is what made consumers crash on year 9999 invoices. Every
business date field of every event uses this one type, so ingestion and consumers agree."""

_RFC3339_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339(value: Any) -> Any:
    # A timestamp is RFC 3339 text (or a datetime built in code): refuse the Unix numbers that
    # pydantic's lax mode would read, and years outside the range before any arithmetic on them.
    if isinstance(value, str) and _RFC3339_START.match(value):
        if not _FIRST_YEAR <= value[:4] <= _LAST_YEAR:
            raise ValueError(f"time {value!r} is outside the supported range {_DATE_RANGE}")
        return value
    if isinstance(value, datetime):
        if not FIRST_BUSINESS_DATE.year <= value.year <= LAST_BUSINESS_DATE.year:
            raise ValueError(f"time {value!r} is outside the supported range {_DATE_RANGE}")
        return value
    raise ValueError(f"expected an RFC 3339 timestamp with a UTC offset, got {value!r}")


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a UTC offset (RFC 3339)")
    utc = value.astimezone(UTC)  # cannot overflow: the year is within range
    if not FIRST_BUSINESS_DATE <= utc.date() <= LAST_BUSINESS_DATE:
        raise ValueError(f"time {utc.isoformat()} is outside the supported range {_DATE_RANGE}")
    return utc


Timestamp = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": f"RFC 3339 timestamp with a UTC offset, within {_DATE_RANGE}",
        }
    ),
]
"""A point in time (RFC 3339 with an offset), normalised to UTC, within the business date range.

Every timestamp of the event language uses this type (today the envelope's `time`)."""


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
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
Email = Annotated[
    str,
    Field(
        pattern=rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$",
        max_length=254,
        description="e-mail address",
    ),
]
DocumentRef = Annotated[str, Field(min_length=1, max_length=500, pattern=SHORT_TEXT_PATTERN)]
"""A reference to a stored document (URI, DMS id) such as a letter or proof of delivery: one line,
no control character."""


class Part(BaseModel):
    """A value object inside a payload (an instalment, a contact): frozen and extra-forbid."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(values)) == len(values):
        return values  # the usual case, without counting each id
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
