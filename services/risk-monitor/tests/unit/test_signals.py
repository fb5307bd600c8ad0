"""Every signal of SCORECARD.md on small histories whose figures are computed by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from arshield_risk_monitor.domain import signals as sig
from arshield_risk_monitor.domain.state import Financials, History, Invoice, Rating

pytestmark = pytest.mark.unit

D = date(2026, 6, 30)


def days(n: int) -> date:
    return D - timedelta(days=n)


def inv(
    ident: str, due: date, amount: str, settled: date | None = None, void: bool = False
) -> Invoice:
    return Invoice(
        invoice_id=ident,
        due_on=due,
        amount=Decimal(amount),
        outstanding=Decimal(0) if settled else Decimal(amount),
        settled_on=settled,
        void=void,
    )


INVOICES = (
    # due 60 days ago, paid 20 days late: 20 days, weight 1000
    inv("a", days(60), "1000", settled=days(40)),
    # due 10 days ago, unpaid: 10 days, weight 3000
    inv("b", days(10), "3000"),
    # due 200 days ago, paid 50 days late: only in the 12-month window
    inv("c", days(200), "1000", settled=days(150)),
    # paid before its due date: 0 days (never negative), 12-month window only
    inv("d", days(100), "1000", settled=days(105)),
    # not yet due: excluded from both windows
    inv("e", D + timedelta(days=5), "9000"),
    # cancelled: not behaviour
    inv("f", days(30), "5000", void=True),
)


def test_days_beyond_terms_90_days_is_amount_weighted() -> None:
    # (1000 * 20 + 3000 * 10) / 4000 = 12.5
    assert sig.days_beyond_terms(INVOICES, D, 90) == pytest.approx(12.5)


def test_days_beyond_terms_trend_is_90_days_minus_12_months() -> None:
    # 12 months: (1000*20 + 3000*10 + 1000*50 + 1000*0) / 6000 = 100000/6000 = 16.667
    signals = sig.compute(History(invoices=INVOICES), D)
    assert signals["dbt_90d"] == pytest.approx(12.5)
    assert signals["dbt_trend"] == pytest.approx(12.5 - 100000 / 6000)


def test_an_invoice_due_today_counts_with_zero_days_and_none_due_gives_null() -> None:
    assert sig.days_beyond_terms([inv("x", D, "100")], D, 90) == 0.0
    assert sig.days_beyond_terms([inv("x", D + timedelta(days=1), "100")], D, 90) is None
    assert sig.compute(History(), D)["dbt_trend"] is None


def test_late_share_counts_invoices_settled_in_12_months() -> None:
    # settled within 365 days: a (late), c (late), d (early) -> 2 of 3
    assert sig.late_share(INVOICES, D) == pytest.approx(2 / 3)
    assert sig.late_share([inv("b", days(10), "1")], D) is None


def test_partial_payments_and_disputes_count_within_90_days() -> None:
    history = History(
        partial_payments=(days(0), days(89), days(90), days(200)),
        disputes=(days(5), days(91)),
    )
    signals = sig.compute(history, D)
    assert signals["partial_payments_90d"] == 2.0  # D and D-89; D-90 is outside (D-90, D]
    assert signals["disputes_90d"] == 1.0


def test_days_since_payment_counts_only_while_something_is_past_due() -> None:
    history = History(invoices=INVOICES, last_payment_on=days(40))
    assert sig.days_since_payment(history, D) == 40  # b is past due
    paid_up = History(
        invoices=(inv("a", days(60), "1", settled=days(40)),), last_payment_on=days(40)
    )
    assert sig.days_since_payment(paid_up, D) == 0
    never_paid = History(invoices=(inv("b", days(10), "3000"),))
    assert sig.days_since_payment(never_paid, D) == 10  # from the oldest past-due date
    due_today = History(invoices=(inv("t", D, "1"),))
    assert sig.days_since_payment(due_today, D) == 0  # due today is not past due


def test_overdue_days_are_the_oldest_open_invoices_days_past_due() -> None:
    # open: b due D-10 and e not yet due; a, c, d settled, f cancelled: b is the oldest past due
    assert sig.overdue_days(History(invoices=INVOICES), D) == 10
    # a payment since does not reset it while the invoice stays open (days_since_payment does)
    older = History(invoices=(*INVOICES, inv("g", days(75), "50")), last_payment_on=days(3))
    assert sig.overdue_days(older, D) == 75
    assert sig.compute(older, D)["overdue_days"] == 75.0
    assert sig.overdue_days(History(invoices=(inv("t", D, "1"),)), D) == 0  # due today
    assert sig.overdue_days(History(invoices=(inv("v", days(40), "1", void=True),)), D) == 0


def test_external_grade_and_its_change_over_12_months() -> None:
    ratings = (
        Rating(published_on=days(500), grade=3),
        Rating(published_on=days(300), grade=4),
        Rating(published_on=days(10), grade=7),
    )
    # in force 365 days before: the one of D-500 (grade 3); latest 7 -> +4
    assert sig.rating_signals(ratings, D) == (7.0, 4.0)
    # without one before the window: the first in the window (grade 4) -> +3
    assert sig.rating_signals(ratings[1:], D) == (7.0, 3.0)
    assert sig.rating_signals(ratings[:1], D) == (3.0, None)
    assert sig.rating_signals((), D) == (None, None)
    # ratings published after D are not known yet
    assert sig.rating_signals(ratings, days(100)) == (4.0, 1.0)


def test_financial_ratios_and_equity_trend() -> None:
    reports = (
        Financials(period_end_on=days(400), reported_on=days(300), equity_ratio=0.30),
        Financials(
            period_end_on=days(35),
            reported_on=days(5),
            equity_ratio=0.18,
            current_ratio=1.1,
            return_on_assets=-0.02,
        ),
    )
    signals = sig.financial_signals(reports, D)
    assert signals["equity_ratio"] == 0.18
    assert signals["current_ratio"] == 1.1
    assert signals["return_on_assets"] == -0.02
    assert signals["equity_trend"] == pytest.approx(-0.12)
    assert sig.financial_signals(reports[:1], D)["equity_trend"] is None
    assert sig.financial_signals((), D)["equity_ratio"] is None


def test_every_signal_is_computed() -> None:
    assert set(sig.compute(History(), D)) == set(sig.SIGNALS)


def test_time_wakes_the_buyer_daily_while_an_invoice_is_past_due_else_at_a_window_edge() -> None:
    assert sig.next_change(History(invoices=INVOICES), D) == D + timedelta(days=1)
    settled = History(
        invoices=(inv("a", days(60), "1000", settled=days(40)),),
        disputes=(days(80),),
    )
    # edges: a leaves the 90-day window at due+90 = D+30, the dispute at D-80+90 = D+10
    assert sig.next_change(settled, D) == D + timedelta(days=10)
    assert sig.next_change(History(), D) is None
    upcoming = History(invoices=(inv("e", D + timedelta(days=5), "1"),))
    assert sig.next_change(upcoming, D) == D + timedelta(days=5)


def test_pruning_keeps_only_what_a_window_can_still_see() -> None:
    history = History(
        invoices=(
            inv("old", days(400), "1", settled=days(380)),
            inv("open-old", days(400), "1"),
            *INVOICES,
        ),
        partial_payments=(days(100), days(10)),
        disputes=(days(91),),
        ratings=(
            Rating(published_on=days(900), grade=1),
            Rating(published_on=days(800), grade=2),
            Rating(published_on=days(500), grade=3),
            Rating(published_on=days(10), grade=7),
        ),
    )
    pruned = sig.prune(history, D)
    kept = {i.invoice_id for i in pruned.invoices}
    assert kept == {"open-old", "a", "b", "c", "d", "e"}  # settled long ago and void go
    assert pruned.partial_payments == (days(10),)
    assert pruned.disputes == ()
    # the one in force a year ago stays, and one before it (so "fewer than two" holds)
    assert [r.grade for r in pruned.ratings] == [2, 3, 7]
    assert sig.compute(pruned, D) == sig.compute(history, D)
