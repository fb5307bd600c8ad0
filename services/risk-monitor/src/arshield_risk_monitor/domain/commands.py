"""What risk-monitor is asked to do for one buyer: record a fact, or take a business day.

Every fact carries its own business date `on`; the buyer's signals are then computed as of the
later of that date and the last business day the buyer was assessed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_risk_monitor.domain.state import Insolvency, Rating


class RiskRefused(ValueError):  # noqa: N818 - reads as the fact it reports
    """A fact that cannot be true (the event is dead-lettered with this reason)."""


@dataclass(frozen=True)
class RegisterBuyer:
    on: date


@dataclass(frozen=True)
class TrackInvoice:
    invoice_id: str
    due_on: date
    amount: Decimal
    on: date


@dataclass(frozen=True)
class VoidInvoice:
    """Cancelled, or settled by a credit note: not payment behaviour."""

    invoice_id: str
    on: date


@dataclass(frozen=True)
class NoteBalance:
    invoice_id: str
    outstanding: Decimal
    on: date


@dataclass(frozen=True)
class NoteSettlement:
    invoice_id: str
    on: date


@dataclass(frozen=True)
class ReceivePayment:
    payment_id: str
    amount: Decimal
    allocations: tuple[tuple[str, Decimal], ...]
    on: date


@dataclass(frozen=True)
class RaiseDispute:
    dispute_id: str
    on: date


@dataclass(frozen=True)
class NoteRating:
    rating: Rating
    on: date


@dataclass(frozen=True)
class NoteFinancials:
    period_end_on: date
    total_assets: Decimal | None
    equity: Decimal | None
    net_income: Decimal | None
    current_ratio: Decimal | None
    on: date
    """The report's date."""


@dataclass(frozen=True)
class NoteInsolvency:
    insolvency: Insolvency
    on: date
    """The tenant's business date the notice arrived on (its alert is raised that day)."""


@dataclass(frozen=True)
class StartBusinessDay:
    on: date
    scorecard_version: str | None


Command = (
    RegisterBuyer
    | TrackInvoice
    | VoidInvoice
    | NoteBalance
    | NoteSettlement
    | ReceivePayment
    | RaiseDispute
    | NoteRating
    | NoteFinancials
    | NoteInsolvency
    | StartBusinessDay
)
Fact = (
    TrackInvoice
    | VoidInvoice
    | NoteBalance
    | NoteSettlement
    | ReceivePayment
    | RaiseDispute
    | NoteRating
    | NoteFinancials
    | NoteInsolvency
)
