"""A buyer's credit state: what credit-assessment knows of it (frozen; evolved by events only).

Kept small: open invoices and orders only (a settled invoice leaves), the covers still in or
coming into force, the active holds and the referrals waiting for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arshield_credit_assessment.domain.policy import CreditPolicy


@dataclass(frozen=True)
class OpenInvoice:
    invoice_id: str
    currency: str
    outstanding: Decimal
    due_on: date | None
    order_id: str | None = None


@dataclass(frozen=True)
class OpenOrder:
    order_id: str
    currency: str
    amount: Decimal
    placed_on: date


@dataclass(frozen=True)
class Cover:
    """The insurer's cover from `effective_on` (bitemporal: known from `notified_on`)."""

    amount: Decimal
    currency: str
    effective_on: date
    notified_on: date


@dataclass(frozen=True)
class Hold:
    hold_id: str
    cause: str
    reason: str
    invoice_ids: tuple[str, ...]
    placed_on: date
    policy_version: str

    @property
    def lifted_by_a_person_only(self) -> bool:
        return self.cause in ("stop_supply", "insolvency", "manual")


@dataclass(frozen=True)
class Referral:
    decision_id: str
    request_id: str
    order_id: str | None
    currency: str
    requested: Decimal
    reasons: tuple[str, ...]
    decided_on: date


@dataclass(frozen=True)
class Limit:
    """A limit and how it was computed: every input kept, the binding one named."""

    currency: str
    amount: Decimal
    grade: int
    grade_source: str
    terms_days: int
    security: str
    secured_above_percent: Decimal | None
    need: Decimal | None
    need_basis: str
    capacity: Decimal
    capacity_basis: str
    cover: Decimal
    appetite: Decimal
    binding: str
    policy_version: str
    effective_on: date
    review_on: date
    reason: str

    def same_result(self, other: Limit | None) -> bool:
        return other is not None and (
            self.currency,
            self.amount,
            self.terms_days,
            self.security,
        ) == (other.currency, other.amount, other.terms_days, other.security)


@dataclass(frozen=True)
class Performance:
    """Payment performance since the limit was last set (part of its periodic review)."""

    settled: int = 0
    paid_late: int = 0
    days_late_total: int = 0


@dataclass(frozen=True)
class BuyerCredit:
    tenant_id: str
    buyer_id: str
    registered: bool = False
    legal_name: str | None = None
    country: str | None = None
    grade: int | None = None
    grade_reason: str | None = None
    graded_on: date | None = None
    alert: str | None = None
    alert_detail: str | None = None
    insolvent_on: date | None = None
    equity: Decimal | None = None
    equity_currency: str | None = None
    financials_period_end: date | None = None
    expected_monthly_sales: Decimal | None = None
    sales_currency: str | None = None
    covers: tuple[Cover, ...] = ()
    invoices: dict[str, OpenInvoice] = field(default_factory=dict)
    orders: dict[str, OpenOrder] = field(default_factory=dict)
    holds: tuple[Hold, ...] = ()
    referrals: tuple[Referral, ...] = ()
    flagged_invoices: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Invoices issued with terms the contract review failed: (invoice id, rules broken)."""
    tenant_law: str | None = None
    """The tenant's own jurisdiction (its profile, as of the last tick): the law of contract terms
    that name none."""
    policy: CreditPolicy | None = None
    """The policy version the buyer was last decided under (adopted at a business-day tick)."""
    limit: Limit | None = None
    limit_seq: int = 0
    performance: Performance = Performance()
    as_of: date | None = None

    def exposure(self, currency: str) -> Decimal:
        """Open receivables plus open orders (placed, not invoiced, not cancelled)."""
        receivables = sum(
            (i.outstanding for i in self.invoices.values() if i.currency == currency), Decimal(0)
        )
        return receivables + self.open_orders(currency)

    def open_orders(self, currency: str) -> Decimal:
        return sum((o.amount for o in self.orders.values() if o.currency == currency), Decimal(0))

    def receivables(self, currency: str) -> Decimal:
        return self.exposure(currency) - self.open_orders(currency)

    def currencies(self) -> list[str]:
        found = {i.currency for i in self.invoices.values()} | {
            o.currency for o in self.orders.values()
        }
        return sorted(found)

    def cover_on(self, day: date, currency: str) -> Decimal:
        """The cover in force on `day` (the latest to take effect by then), in `currency`."""
        in_force = [c for c in self.covers if c.effective_on <= day]
        if not in_force:
            return Decimal(0)
        latest = max(in_force, key=lambda c: (c.effective_on, c.notified_on))
        return latest.amount if latest.currency == currency else Decimal(0)

    def hold(self, hold_id: str) -> Hold | None:
        return next((h for h in self.holds if h.hold_id == hold_id), None)
