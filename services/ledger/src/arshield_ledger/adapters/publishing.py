"""The one place where the ledger's private changes become public `arshield.ledger` events."""

from __future__ import annotations

from arshield_events.ledger import (
    InvoiceBalanceChanged,
    InvoiceSettled,
    PaymentOverdue,
    PaymentUnapplied,
)
from arshield_events.money import Money
from arshield_ledger.domain.model import Changes
from arshield_runtime.messaging import HandlerContext


def publish(ctx: HandlerContext, buyer_id: str, changes: Changes) -> None:
    """Map the account's changes to the public ledger events (ids derive from the cause)."""
    for b in changes.balances:
        ctx.emit(
            InvoiceBalanceChanged(
                invoice_id=b.invoice_id,
                buyer_id=buyer_id,
                outstanding=Money(amount=b.outstanding, currency=b.currency),
                status=b.status,
                changed_on=b.changed_on,
            ),
            purpose=f"balance:{b.invoice_id}",
            subject=buyer_id,
        )
    for s in changes.settled:
        ctx.emit(
            InvoiceSettled(
                invoice_id=s.invoice_id,
                buyer_id=buyer_id,
                settled_on=s.settled_on,
                days_late=s.days_late,
                amount=Money(amount=s.amount, currency=s.currency),
            ),
            purpose=f"settled:{s.invoice_id}",
            subject=buyer_id,
        )
    for u in changes.unapplied:
        ctx.emit(
            PaymentUnapplied(
                payment_id=u.payment_id,
                buyer_id=buyer_id,
                unapplied=Money(amount=u.amount, currency=u.currency),
                received_on=u.received_on,
            ),
            purpose=f"unapplied:{u.payment_id}",
            subject=buyer_id,
        )
    for o in changes.overdue:
        ctx.emit(
            PaymentOverdue(
                invoice_id=o.invoice_id,
                instalment_seq=o.seq,
                buyer_id=buyer_id,
                due_on=o.due_on,
                outstanding=Money(amount=o.outstanding, currency=o.currency),
                days_overdue=o.days_overdue,
                bucket=o.bucket,  # type: ignore[arg-type,unused-ignore]  # never "current"
                as_of=o.as_of,
            ),
            purpose=f"overdue:{o.invoice_id}:{o.seq or 0}:{o.bucket}",
            subject=buyer_id,
        )
