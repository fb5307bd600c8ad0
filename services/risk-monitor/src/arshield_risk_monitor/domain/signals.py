"""The signals of one buyer as of a business date D (SCORECARD.md in the service README), and the
next date on which the passage of time alone changes them (the buyer's wake-up).

Windows are calendar days ending at D: (D-90, D] and (D-365, D]. Amounts weigh days beyond terms
whatever their currency (a weight, not a sum of money).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from arshield_risk_monitor.domain.state import Financials, History, Invoice, Rating

SIGNALS: tuple[str, ...] = (
    "dbt_90d",
    "dbt_trend",
    "late_share_12m",
    "partial_payments_90d",
    "disputes_90d",
    "days_since_payment",
    "overdue_days",
    "external_grade",
    "external_grade_change_12m",
    "equity_ratio",
    "current_ratio",
    "return_on_assets",
    "equity_trend",
)
SHORT, LONG = 90, 365
Signals = dict[str, float | None]


def days_beyond_terms(invoices: Iterable[Invoice], day: date, window: int) -> float | None:
    """Amount-weighted mean days beyond terms of the invoices due in (day-window, day]: a paid
    invoice's days from due date to its settlement, an unpaid one's to `day` (never below 0)."""
    start = day - timedelta(days=window)
    weighted = weights = 0.0
    for invoice in invoices:
        due = invoice.due_on
        if invoice.void or due is None or not start < due <= day:
            continue
        settled = invoice.settled_on
        end = settled if settled is not None and settled <= day else day
        weight = float(invoice.amount)
        weighted += weight * max(0, (end - due).days)
        weights += weight
    return weighted / weights if weights > 0 else None


def late_share(invoices: Iterable[Invoice], day: date) -> float | None:
    start = day - timedelta(days=LONG)
    settled = late = 0
    for invoice in invoices:
        on, due = invoice.settled_on, invoice.due_on
        if invoice.void or on is None or due is None or not start < on <= day:
            continue
        settled += 1
        late += on > due
    return late / settled if settled else None


def in_window(dates: Iterable[date], day: date, window: int) -> int:
    start = day - timedelta(days=window)
    return sum(1 for on in dates if start < on <= day)


def days_since_payment(history: History, day: date) -> int:
    """Days since the last payment while an invoice is past due (else 0); a buyer that never paid
    counts from the oldest past-due invoice's due date."""
    past_due = [i.due_on for i in history.invoices if i.open and i.due_on and i.due_on < day]
    if not past_due:
        return 0
    last = history.last_payment_on
    since = last if last is not None and last <= day else min(past_due)
    return max(0, (day - since).days)


def overdue_days(history: History, day: date) -> int:
    """Days the oldest open invoice is past due (0 if none is): an invoice is past due from the
    day after its due date, so one due on `day` is not."""
    past_due = [i.due_on for i in history.invoices if i.open and i.due_on and i.due_on < day]
    return (day - min(past_due)).days if past_due else 0


def rating_signals(ratings: tuple[Rating, ...], day: date) -> tuple[float | None, float | None]:
    known = [r for r in ratings if r.published_on <= day]
    if not known:
        return None, None
    latest = known[-1].grade
    if len(known) < 2:
        return float(latest), None
    cut = day - timedelta(days=LONG)
    before = [r for r in known if r.published_on <= cut]
    anchor = before[-1] if before else known[0]
    return float(latest), float(latest - anchor.grade)


def financial_signals(reports: tuple[Financials, ...], day: date) -> Signals:
    known = [f for f in reports if f.reported_on <= day]
    if not known:
        return {
            "equity_ratio": None,
            "current_ratio": None,
            "return_on_assets": None,
            "equity_trend": None,
        }
    latest = known[-1]
    previous = known[-2].equity_ratio if len(known) > 1 else None
    trend = (
        None if previous is None or latest.equity_ratio is None else latest.equity_ratio - previous
    )
    return {
        "equity_ratio": latest.equity_ratio,
        "current_ratio": latest.current_ratio,
        "return_on_assets": latest.return_on_assets,
        "equity_trend": trend,
    }


def compute(history: History, day: date) -> Signals:
    invoices = history.invoices
    short = days_beyond_terms(invoices, day, SHORT)
    long = days_beyond_terms(invoices, day, LONG)
    grade, change = rating_signals(history.ratings, day)
    return {
        "dbt_90d": short,
        "dbt_trend": None if short is None or long is None else short - long,
        "late_share_12m": late_share(invoices, day),
        "partial_payments_90d": float(in_window(history.partial_payments, day, SHORT)),
        "disputes_90d": float(in_window(history.disputes, day, SHORT)),
        "days_since_payment": float(days_since_payment(history, day)),
        "overdue_days": float(overdue_days(history, day)),
        "external_grade": grade,
        "external_grade_change_12m": change,
        **financial_signals(history.financials, day),
    }


def next_change(history: History, day: date) -> date | None:
    """The first date after `day` on which time alone changes a signal: tomorrow while an invoice
    is due and unpaid (its days grow), else the next due date or window edge."""
    dates: list[date] = []
    for invoice in history.invoices:
        due = invoice.due_on
        if invoice.void or due is None:
            continue
        if invoice.open and due <= day:
            return day + timedelta(days=1)
        dates += [due, due + timedelta(days=SHORT), due + timedelta(days=LONG)]
        if invoice.settled_on is not None:
            dates.append(invoice.settled_on + timedelta(days=LONG))
    dates += [on + timedelta(days=SHORT) for on in (*history.partial_payments, *history.disputes)]
    dates += [r.published_on + timedelta(days=LONG) for r in history.ratings]
    dates += [r.published_on for r in history.ratings]
    dates += [f.reported_on for f in history.financials]
    later = [on for on in dates if on > day]
    return min(later) if later else None


def prune(history: History, day: date) -> History:
    """Forget what no window ending on `day` or later can see again."""
    long_cut = day - timedelta(days=LONG)
    short_cut = day - timedelta(days=SHORT)
    invoices = tuple(
        i
        for i in history.invoices
        if i.open
        or i.due_on is None
        or (not i.void and (i.due_on > long_cut or (i.settled_on or day) > long_cut))
    )
    ratings = history.ratings
    # the one in force a year ago, and one before it: "fewer than two" must not change
    older = [k for k, r in enumerate(ratings) if r.published_on <= long_cut]
    if len(older) > 2:
        ratings = ratings[older[-2] :]
    return history.model_copy(
        update={
            "invoices": invoices,
            "partial_payments": tuple(on for on in history.partial_payments if on > short_cut),
            "disputes": tuple(on for on in history.disputes if on > short_cut),
            "ratings": ratings,
            "financials": history.financials[-2:],
        }
    )
