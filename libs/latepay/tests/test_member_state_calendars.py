"""Business-day calendars of member states (due dates moved to the next business day), checked
against the 2024 calendars by hand."""

from __future__ import annotations

from datetime import date

import pytest

from arshield_latepay import DUE_DATE_RULE, MemberState, is_business_day, moved_due_date

D = date


@pytest.mark.parametrize(
    ("state", "due_on", "moved"),
    [
        # Austria, ABGB § 903 + European Convention on the Calculation of Time-Limits art. 5:
        # National Day 26 October 2024 is a Saturday -> Monday 28 October
        (MemberState.AT, D(2024, 10, 26), D(2024, 10, 28)),
        # Corpus Christi, Thursday 30 May 2024 -> Friday 31 May
        (MemberState.AT, D(2024, 5, 30), D(2024, 5, 31)),
        # Poland, Kodeks cywilny art. 115: Saturday 9 November 2024, Sunday, then Independence Day
        # on Monday 11 November -> Tuesday 12 November
        (MemberState.PL, D(2024, 11, 9), D(2024, 11, 12)),
        # Netherlands: Christmas Day and the Second Day of Christmas (Wed/Thu) -> Friday 27 Dec
        (MemberState.NL, D(2024, 12, 25), D(2024, 12, 27)),
        # King's Day, Saturday 27 April 2024 -> Monday 29 April
        (MemberState.NL, D(2024, 4, 27), D(2024, 4, 29)),
        # Belgium: National Day, Sunday 21 July 2024 -> Monday 22 July (no substitute day)
        (MemberState.BE, D(2024, 7, 21), D(2024, 7, 22)),
        # Assumption, Thursday 15 August 2024 -> Friday 16 August
        (MemberState.BE, D(2024, 8, 15), D(2024, 8, 16)),
        # a working Wednesday stays where it is
        (MemberState.PL, D(2024, 2, 14), D(2024, 2, 14)),
    ],
)
def test_a_due_date_on_a_weekend_or_holiday_moves_to_the_next_business_day(
    state: MemberState, due_on: date, moved: date
) -> None:
    assert moved_due_date(state, due_on) == moved


def test_each_calendar_is_its_own() -> None:
    """26 December is a holiday in the Netherlands, Poland and Austria, not in Belgium; 3 May
    (Constitution Day) only in Poland."""
    boxing_day = D(2024, 12, 26)
    assert is_business_day(MemberState.BE, boxing_day)
    assert not any(is_business_day(s, boxing_day) for s in (MemberState.NL, MemberState.PL))
    assert not is_business_day(MemberState.AT, boxing_day)
    assert not is_business_day(MemberState.PL, D(2024, 5, 3))
    assert all(is_business_day(s, D(2024, 5, 3)) for s in (MemberState.NL, MemberState.BE))


def test_every_member_state_calendar_names_its_rule() -> None:
    assert DUE_DATE_RULE[MemberState.AT].startswith("ABGB § 903")
    assert DUE_DATE_RULE[MemberState.PL] == "Kodeks cywilny art. 115"
    for state in MemberState:
        assert DUE_DATE_RULE[state]
