"""The ledger's event subscriptions: every handled event type, registered in one place."""

from __future__ import annotations

from arshield_events import clock, erp
from arshield_ledger.adapters.store import LedgerStore
from arshield_ledger.application import handlers
from arshield_runtime.messaging import EventRouter


def build_router() -> EventRouter:
    router = EventRouter()
    router.prepares(LedgerStore.prepare)  # every account a batch needs, in one query
    router.handles(erp.InvoiceIssued)(handlers.on_invoice_issued)
    router.handles(erp.PaymentReceived)(handlers.on_payment_received)
    router.handles(erp.CreditNoteIssued)(handlers.on_credit_note_issued)
    router.handles(erp.InvoiceCancelled)(handlers.on_invoice_cancelled)
    router.handles(erp.DisputeRaised)(handlers.on_dispute_raised)
    router.handles(erp.DisputeResolved)(handlers.on_dispute_resolved)
    router.handles(clock.BusinessDayStarted)(handlers.on_business_day_started)
    return router
