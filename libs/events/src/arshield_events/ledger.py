"""Ledger facts (topic `arshield.ledger`): balances, overdues, settlements, unapplied cash."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import BusinessDate, Id, NonNegativeMoney, PositiveMoney

InvoiceStatus = Literal[
    "open", "partially_paid", "paid", "credited", "overdue", "disputed", "cancelled", "written_off"
]
"""`credited`: closed by credit notes with nothing paid (not settled by the buyer)."""
OverdueBucket = Literal["1-30", "31-60", "61-90", "90+"]


def overdue_bucket(days_overdue: int) -> OverdueBucket:
    """The ageing bucket of an amount `days_overdue` days past due (at least one day)."""
    if days_overdue < 1:
        raise ValueError(f"an overdue amount is at least one day past due, got {days_overdue}")
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


class _LedgerEvent(Payload):
    topic: ClassVar[str] = topics.LEDGER


class InvoiceBalanceChanged(_LedgerEvent):
    event_name: ClassVar[str] = "arshield.ledger.InvoiceBalanceChanged.v1"

    invoice_id: Id
    buyer_id: Id
    outstanding: NonNegativeMoney
    status: InvoiceStatus
    changed_on: BusinessDate


class PaymentOverdue(_LedgerEvent):
    """An invoice (or one of its instalments) is past due as of a business date."""

    event_name: ClassVar[str] = "arshield.ledger.PaymentOverdue.v1"

    invoice_id: Id
    instalment_seq: int | None = Field(strict=True, default=None, ge=1)
    buyer_id: Id
    due_on: BusinessDate
    outstanding: PositiveMoney
    days_overdue: int = Field(strict=True, ge=1)
    bucket: OverdueBucket
    as_of: BusinessDate
    disputed: bool = Field(strict=True, default=False)
    """A disputed invoice: the insurer must still hear of it; dunning pauses on its own rule."""

    @field_validator("as_of")
    @classmethod
    def _days_match_dates(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        due_on, days = info.data.get("due_on"), info.data.get("days_overdue")
        if due_on is not None and days is not None and (value - due_on).days != days:
            raise ValueError(
                f"as_of {value} is {(value - due_on).days} days after due_on {due_on}, "
                f"but days_overdue is {days}"
            )
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket_matches_days(cls, value: OverdueBucket, info: ValidationInfo) -> OverdueBucket:
        days = info.data.get("days_overdue")
        if days is not None and overdue_bucket(days) != value:
            raise ValueError(
                f"{days} days overdue is bucket {overdue_bucket(days)!r}, not {value!r}"
            )
        return value


class InvoiceSettled(_LedgerEvent):
    """The invoice is paid in full; `amount` is what settled it, `days_late` beyond the due date."""

    event_name: ClassVar[str] = "arshield.ledger.InvoiceSettled.v1"

    invoice_id: Id
    buyer_id: Id
    settled_on: BusinessDate
    days_late: int = Field(strict=True, ge=0)
    amount: NonNegativeMoney


class PaymentUnapplied(_LedgerEvent):
    """Cash that matched no open invoice and stays on the buyer's account."""

    event_name: ClassVar[str] = "arshield.ledger.PaymentUnapplied.v1"

    payment_id: Id
    buyer_id: Id
    unapplied: PositiveMoney
    received_on: BusinessDate


EVENTS: tuple[type[Payload], ...] = (
    InvoiceBalanceChanged,
    PaymentOverdue,
    InvoiceSettled,
    PaymentUnapplied,
)
