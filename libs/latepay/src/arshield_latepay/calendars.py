"""Business days per jurisdiction, and where the law moves a due date that is not one.

Calendars come from the `holidays` package (pinned in the workspace lock file, so a result is
reproducible). The place of performance is not known to these rules, so a day that is a public
holiday anywhere in the jurisdiction (any German Land, any UK nation, any French département or
collectivité listed by the package) counts as a holiday: that gives the later due date, the smaller
claim, never a larger one.

Where a due date on a non-business day moves to the next business day before interest starts:
- DE: BGB § 193 moves a day for performance falling on a Saturday, Sunday or a public holiday
  recognised at the place of performance to the next working day (statute).
- CN: Civil Code art. 203: a period whose last day is a statutory rest day or holiday
  (法定休假日) ends on the day after it; China's adjusted working days (调休, a Saturday or Sunday
  made a working day) are business days, and the package's China calendar knows them for the
  years whose State Council holiday notice it carries.
- FR: no statute moves a contractual payment date (Code de procédure civile art. 642 moves
  procedural time limits only; the Code de commerce is silent). The date is moved anyway, as the
  reading least favourable to the creditor: a debtor paying on the next business day could argue
  it was not late, and claiming those days would over-claim.
- UK: no statute moves a contractual payment date (the Late Payment Act 1998 s.4 runs interest
  from the agreed date; the Bills of Exchange Act 1882 s.14 moves bills only). Moved on the same
  cautious reading as FR.
- EU (no member state known): the same cautious reading, on Saturdays and Sundays only.

Member states with a calendar of their own (`MemberState`, for a caller that knows the place of
payment; their late-payment interest is the EU regime's):
- AT: ABGB § 903 S. 3 moves a due date on a Sunday or public holiday to the next working day, and
  the European Convention on the Calculation of Time-Limits (1972, BGBl 1983/254) art. 5 adds
  Saturdays.
- PL: Kodeks cywilny art. 115 moves the end of a period on a statutory day off work or a Saturday
  to the next day that is neither.
- NL: the Algemene termijnenwet extends statutory periods ending on a Saturday, Sunday or
  recognised holiday; a contractual payment date is moved on the cautious reading, as in FR.
- BE: the Judicial Code art. 53 moves procedural time limits only; a contractual payment date is
  moved on the cautious reading, as in FR.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from arshield_latepay.jurisdictions import Calendar, Jurisdiction, MemberState

_COUNTRY: dict[Calendar, str] = {
    Jurisdiction.DE: "DE",
    Jurisdiction.FR: "FR",
    Jurisdiction.UK: "GB",
    Jurisdiction.CN: "CN",
    MemberState.NL: "NL",
    MemberState.BE: "BE",
    MemberState.AT: "AT",
    MemberState.PL: "PL",
}

DUE_DATE_RULE: dict[Calendar, str] = {
    MemberState.AT: "ABGB § 903 and the European Convention on the Calculation of Time-Limits",
    MemberState.PL: "Kodeks cywilny art. 115",
    MemberState.NL: "no statute for a contractual date; moved as the reading that claims less",
    MemberState.BE: "no statute for a contractual date; moved as the reading that claims less",
    Jurisdiction.DE: "BGB § 193",
    Jurisdiction.CN: "Civil Code art. 203",
    Jurisdiction.FR: "no statute; moved as the reading that claims less",
    Jurisdiction.UK: "no statute; moved as the reading that claims less",
    Jurisdiction.EU: "no statute; moved as the reading that claims less (weekends only)",
}
"""Why a due date on a non-business day moves, per jurisdiction (named in a claim's basis)."""


@lru_cache(maxsize=256)
def _holidays(jurisdiction: Calendar, year: int) -> frozenset[date]:
    code = _COUNTRY.get(jurisdiction)
    if code is None:
        return frozenset()
    country = holidays.country_holidays(code, years=year)
    days = set(country)
    for subdivision in holidays.list_supported_countries()[code]:
        days.update(holidays.country_holidays(code, subdiv=subdivision, years=year))
    return frozenset(d for d in days if d.year == year)


@lru_cache(maxsize=16)
def _china_working_days(year: int) -> frozenset[date]:
    """China's weekend days made working days (调休) in `year`, as the package knows them."""
    calendar = holidays.country_holidays("CN", years=year)
    return frozenset(d for d in calendar.weekend_workdays if d.year == year)


def is_business_day(jurisdiction: Calendar, day: date) -> bool:
    """Not a Saturday, Sunday or public holiday there (China: adjusted working days count)."""
    if day in _holidays(jurisdiction, day.year):
        return False
    if day.weekday() >= 5:
        return jurisdiction is Jurisdiction.CN and day in _china_working_days(day.year)
    return True


def moved_due_date(jurisdiction: Calendar, due_on: date) -> date:
    """The day payment is due once a weekend or public holiday moves it (the first business day
    on or after `due_on`); every jurisdiction here moves it, see the module notes for why."""
    day = due_on
    while not is_business_day(jurisdiction, day):
        day += timedelta(days=1)
    return day
