"""The one place where the ledger's domain events become public `arshield.ledger` events.

The `purpose` of each makes its id derive from its cause (the same strings as ever, so a replay
emits the very same ids).
"""

from __future__ import annotations

from collections.abc import Iterator

from arshield_events.ledger import (
    InvoiceBalanceChanged,
    InvoiceSettled,
    PaymentOverdue,
    PaymentUnapplied,
)
from arshield_events.money import Money
from arshield_ledger.domain import events as domain
from arshield_ledger.domain.state import BuyerLedger
from arshield_runtime.kernel import Change, Emit


def publish(change: Change[BuyerLedger, domain.Event]) -> Iterator[Emit]:
    """Balances first, then settlements, cash left unapplied and overdue announcements."""
    buyer_id, events = change.buyer_id, change.events
    for b in events:
        if isinstance(b, domain.InvoiceBalanceChanged):
            yield Emit(
                InvoiceBalanceChanged(
                    invoice_id=b.invoice_id,
                    buyer_id=buyer_id,
                    outstanding=Money(amount=b.outstanding, currency=b.currency),
                    status=b.status,
                    changed_on=b.changed_on,
                ),
                purpose=f"balance:{b.invoice_id}",
            )
    for s in events:
        if isinstance(s, domain.InvoiceSettled):
            yield Emit(
                InvoiceSettled(
                    invoice_id=s.invoice_id,
                    buyer_id=buyer_id,
                    settled_on=s.settled_on,
                    days_late=s.days_late,
                    amount=Money(amount=s.amount, currency=s.currency),
                ),
                purpose=f"settled:{s.invoice_id}",
            )
    for u in events:
        if isinstance(u, domain.PaymentLeftUnapplied):
            yield Emit(
                PaymentUnapplied(
                    payment_id=u.payment_id,
                    buyer_id=buyer_id,
                    unapplied=Money(amount=u.amount, currency=u.currency),
                    received_on=u.received_on,
                ),
                purpose=f"unapplied:{u.payment_id}",
            )
    for o in events:
        if isinstance(o, domain.InstalmentAnnouncedOverdue):
            seq = o.seq or None
            yield Emit(
                PaymentOverdue(
                    invoice_id=o.invoice_id,
                    instalment_seq=seq,
                    buyer_id=buyer_id,
                    due_on=o.due_on,
                    outstanding=Money(amount=o.outstanding, currency=o.currency),
                    days_overdue=o.days_overdue,
                    bucket=o.bucket,  # type: ignore[arg-type,unused-ignore]  # never "current"
                    as_of=o.as_of,
                    disputed=o.disputed,
                ),
                purpose=f"overdue:{o.invoice_id}:{seq or 0}:{o.bucket}",
            )
