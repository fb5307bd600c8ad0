"""The risk signals of a buyer as of a business date, computed offline from its facts.

These are the signals the risk-monitor service computes live (the definitions are the ones agreed
for the scorecard); computing them here, from a history on disk, is what lets the scorecard be
fitted on simulated snapshots and a backtest be judged before the platform is running. Every signal
is a float or None (not enough history).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from arshield_events.envelope import CloudEvent
from arshield_events.erp import DisputeRaised, InvoiceIssued, PaymentReceived
from arshield_events.external import (
    BuyerFinancialsReported,
    BuyerRatingPublished,
    InsolvencyNoticePublished,
)

SIGNALS = (
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
Signals = dict[str, float | None]
_EPSILON = 0.005


@dataclass
class _Invoice:
    invoice_id: str
    issued: date
    due: date
    amount: float
    paid: float = 0.0
    settled_on: date | None = None


@dataclass
class BuyerHistory:
    """One buyer's facts, kept sorted so a signal as of any date is a few binary searches."""

    buyer_id: str
    invoices: dict[str, _Invoice] = field(default_factory=dict)
    payments: list[tuple[date, float, tuple[tuple[str, float], ...]]] = field(default_factory=list)
    disputes: list[date] = field(default_factory=list)
    ratings: list[tuple[date, int]] = field(default_factory=list)
    financials: list[tuple[date, float | None, float | None, float | None]] = field(
        default_factory=list
    )
    insolvent_on: date | None = None
    # Derived by `finish`:
    _by_due: list[_Invoice] = field(default_factory=list)
    _dues: list[date] = field(default_factory=list)
    _settled: list[tuple[date, bool]] = field(default_factory=list)
    _settled_days: list[date] = field(default_factory=list)
    _payment_days: list[date] = field(default_factory=list)
    _partials: list[date] = field(default_factory=list)
    _rating_days: list[date] = field(default_factory=list)
    _report_days: list[date] = field(default_factory=list)

    def add(self, event: CloudEvent[Any]) -> None:
        data = event.data
        if isinstance(data, InvoiceIssued):
            self.invoices[data.invoice_id] = _Invoice(
                data.invoice_id, data.issued_on, data.due_on, float(data.amount.amount)
            )
        elif isinstance(data, PaymentReceived):
            parts = tuple((part.invoice_id, float(part.amount.amount)) for part in data.allocations)
            self.payments.append((data.received_on, float(data.amount.amount), parts))
        elif isinstance(data, DisputeRaised):
            self.disputes.append(data.raised_on)
        elif isinstance(data, BuyerRatingPublished):
            self.ratings.append((data.published_on, data.grade))
        elif isinstance(data, BuyerFinancialsReported):
            assets = float(data.total_assets.amount) if data.total_assets else None
            equity = float(data.equity.amount) if data.equity else None
            income = float(data.net_income.amount) if data.net_income else None
            self.financials.append(
                (
                    data.reported_on,
                    equity / assets if equity is not None and assets else None,
                    float(data.current_ratio) if data.current_ratio is not None else None,
                    income / assets if income is not None and assets else None,
                )
            )
        elif isinstance(data, InsolvencyNoticePublished) and data.proceeding in (
            "petition_filed",
            "proceedings_opened",
        ):
            self.insolvent_on = min(self.insolvent_on or data.published_on, data.published_on)

    def finish(self) -> BuyerHistory:
        """Apply the payments (to the invoices they name, the rest to the oldest open one) and
        sort everything by date."""
        self.payments.sort(key=lambda payment: payment[0])
        by_due = sorted(self.invoices.values(), key=lambda invoice: (invoice.due, invoice.issued))
        for on, amount, parts in self.payments:
            left = amount
            touched: list[_Invoice] = []
            for invoice_id, part in parts:
                invoice = self.invoices.get(invoice_id)
                if invoice is not None:
                    invoice.paid += part
                    left -= part
                    touched.append(invoice)
            for invoice in by_due:
                if left <= _EPSILON:
                    break
                if invoice.issued <= on and invoice.amount - invoice.paid > _EPSILON:
                    applied = min(left, invoice.amount - invoice.paid)
                    invoice.paid += applied
                    left -= applied
                    touched.append(invoice)
            for invoice in touched:
                if invoice.settled_on is None and invoice.paid >= invoice.amount - _EPSILON:
                    invoice.settled_on = on
            if any(invoice.amount - invoice.paid > _EPSILON for invoice in touched):
                self._partials.append(on)
        self._by_due = by_due
        self._dues = [invoice.due for invoice in by_due]
        settled = sorted(
            (invoice.settled_on, invoice.settled_on > invoice.due)
            for invoice in by_due
            if invoice.settled_on is not None
        )
        self._settled = settled
        self._settled_days = [day for day, _ in settled]
        self._payment_days = [payment[0] for payment in self.payments]
        self._partials.sort()
        self.disputes.sort()
        self.ratings.sort()
        self._rating_days = [day for day, _ in self.ratings]
        self.financials.sort(key=lambda report: report[0])
        self._report_days = [report[0] for report in self.financials]
        return self

    def _dbt(self, day: date, window: int) -> float | None:
        low = bisect_right(self._dues, day - timedelta(days=window))
        high = bisect_right(self._dues, day)
        weighted = total = 0.0
        for invoice in self._by_due[low:high]:
            if invoice.settled_on is not None and invoice.settled_on <= day:
                late = max(0, (invoice.settled_on - invoice.due).days)
            else:
                late = (day - invoice.due).days
            weighted += late * invoice.amount
            total += invoice.amount
        return weighted / total if total else None

    def signals(self, day: date) -> Signals:
        """Every signal as of the end of `day`."""
        dbt_90d, dbt_365d = self._dbt(day, 90), self._dbt(day, 365)
        year_ago, quarter_ago = day - timedelta(days=365), day - timedelta(days=90)
        low, high = (
            bisect_right(self._settled_days, year_ago),
            bisect_right(self._settled_days, day),
        )
        settled = self._settled[low:high]
        # Payment stop: days since the last payment while something is past due.
        past_due = [
            invoice
            for invoice in self._by_due[: bisect_left(self._dues, day)]
            if invoice.settled_on is None or invoice.settled_on > day
        ]
        days_since_payment = overdue_days = 0.0
        if past_due:
            oldest = min(i.due for i in past_due)
            paid = bisect_right(self._payment_days, day)
            since = self._payment_days[paid - 1] if paid else oldest
            days_since_payment = float((day - since).days)
            overdue_days = float((day - oldest).days)
        ratings = self.ratings[: bisect_right(self._rating_days, day)]
        grade = float(ratings[-1][1]) if ratings else None
        change = None
        if len(ratings) >= 2:
            before = bisect_right(self._rating_days, year_ago)
            reference = ratings[before - 1] if before else ratings[0]
            change = float(ratings[-1][1] - reference[1])
        reports = self.financials[: bisect_right(self._report_days, day)]
        latest = reports[-1] if reports else None
        equity_trend = None
        if len(reports) >= 2 and reports[-1][1] is not None and reports[-2][1] is not None:
            equity_trend = reports[-1][1] - reports[-2][1]
        return {
            "dbt_90d": dbt_90d,
            "dbt_trend": dbt_90d - dbt_365d
            if dbt_90d is not None and dbt_365d is not None
            else None,
            "late_share_12m": sum(late for _, late in settled) / len(settled) if settled else None,
            "partial_payments_90d": float(
                bisect_right(self._partials, day) - bisect_right(self._partials, quarter_ago)
            ),
            "disputes_90d": float(
                bisect_right(self.disputes, day) - bisect_right(self.disputes, quarter_ago)
            ),
            "days_since_payment": days_since_payment,
            "overdue_days": overdue_days,
            "external_grade": grade,
            "external_grade_change_12m": change,
            "equity_ratio": latest[1] if latest else None,
            "current_ratio": latest[2] if latest else None,
            "return_on_assets": latest[3] if latest else None,
            "equity_trend": equity_trend,
        }

    def naive_trip(self) -> date | None:
        """The first day of the naive rule: an invoice 30+ days overdue, an external grade of 7 or
        worse, or negative equity reported."""
        trips = [
            self.first_overdue(30),
            next((on for on, grade in self.ratings if grade >= 7), None),
            next(
                (on for on, ratio, _, _ in self.financials if ratio is not None and ratio < 0), None
            ),
        ]
        return min((trip for trip in trips if trip is not None), default=None)

    def first_overdue(self, days: int) -> date | None:
        """The first day any invoice is `days` or more past its due date and still unpaid."""
        first: date | None = None
        for invoice in self._by_due:
            trip = invoice.due + timedelta(days=days)
            if invoice.settled_on is None or invoice.settled_on > trip:
                first = trip if first is None else min(first, trip)
        return first


def histories(events: Iterable[CloudEvent[Any]]) -> dict[str, BuyerHistory]:
    """Each buyer's history from a stream of events (any order); other events are ignored."""
    found: dict[str, BuyerHistory] = {}
    for event in events:
        if getattr(event.data, "buyer_id", None) is None:
            continue
        history = found.get(event.subject)
        if history is None:
            history = found[event.subject] = BuyerHistory(event.subject)
        history.add(event)
    return {buyer: history.finish() for buyer, history in found.items()}
