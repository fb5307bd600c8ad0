"""What dunning consumes, registered in one visible place."""

from __future__ import annotations

import logging

from arshield_dunning.adapters.store import DunningStore
from arshield_dunning.application.handlers import Dunning
from arshield_dunning.domain.claims import ClaimCalculator
from arshield_dunning.domain.dunning import (
    ApplyCreditNote,
    ApplyPayment,
    CancelInvoice,
    Command,
    ConfirmDelivery,
    DunningError,
    NoteLedgerBalance,
    NoteSettlement,
    PutOnWatch,
    RaiseDispute,
    RecordPromise,
    RegisterBuyer,
    ResolveDispute,
    TrackInvoice,
)
from arshield_dunning.domain.model import BillingContact, ContractTerms, Money
from arshield_dunning.domain.policy import Segment
from arshield_events import dunning as dunning_events
from arshield_events import erp, ledger, risk
from arshield_events.clock import BusinessDayStarted
from arshield_runtime.messaging import EventRouter, HandlerContext

log = logging.getLogger(__name__)


def build_router(claims: ClaimCalculator, *, watch_from_grade: int = 7) -> EventRouter:
    router = EventRouter()

    def unit(ctx: HandlerContext) -> Dunning:
        return Dunning(DunningStore(ctx.session), ctx, claims, ctx.event.id)

    async def apply(ctx: HandlerContext, buyer_id: str, command: Command) -> None:
        await unit(ctx).handle(ctx.event.tenantid, buyer_id, command)

    @router.handles(BusinessDayStarted)
    async def on_business_day(ctx: HandlerContext) -> None:
        data: BusinessDayStarted = ctx.event.data
        await unit(ctx).start_business_day(ctx.event.tenantid, data.business_date)

    @router.handles(erp.BuyerRegistered)
    async def on_buyer(ctx: HandlerContext) -> None:
        e: erp.BuyerRegistered = ctx.event.data
        contact = (
            BillingContact(name=e.billing_contact.name, email=e.billing_contact.email)
            if e.billing_contact
            else None
        )
        await apply(
            ctx,
            e.buyer_id,
            RegisterBuyer(
                legal_name=e.legal_name,
                country=e.country,
                segment=Segment(e.segment),
                language=e.preferred_language,
                billing_contact=contact,
            ),
        )

    @router.handles(erp.InvoiceIssued)
    async def on_invoice(ctx: HandlerContext) -> None:
        e: erp.InvoiceIssued = ctx.event.data
        terms = None
        if e.contract_terms is not None:
            terms = ContractTerms(
                jurisdiction=str(e.contract_terms.jurisdiction),
                late_interest=str(e.contract_terms.late_interest),
                agreed_annual_rate=e.contract_terms.agreed_annual_rate,
            )
        await apply(
            ctx,
            e.buyer_id,
            TrackInvoice(
                invoice_id=e.invoice_id,
                invoice_number=e.invoice_number,
                order_id=e.order_id,
                issued_on=e.issued_on,
                delivered_on=e.delivered_on,
                due_on=e.due_on,
                amount=Money(amount=e.amount.amount, currency=e.amount.currency),
                terms=terms,
            ),
        )

    @router.handles(erp.InvoiceCancelled)
    async def on_cancelled(ctx: HandlerContext) -> None:
        e: erp.InvoiceCancelled = ctx.event.data
        await apply(ctx, e.buyer_id, CancelInvoice(invoice_id=e.invoice_id, on=e.cancelled_on))

    @router.handles(erp.CreditNoteIssued)
    async def on_credit_note(ctx: HandlerContext) -> None:
        e: erp.CreditNoteIssued = ctx.event.data
        await apply(
            ctx,
            e.buyer_id,
            ApplyCreditNote(
                credit_note_id=e.credit_note_id,
                invoice_id=e.invoice_id,
                amount=e.amount.amount,
                on=e.issued_on,
            ),
        )

    @router.handles(erp.DeliveryConfirmed)
    async def on_delivery(ctx: HandlerContext) -> None:
        e: erp.DeliveryConfirmed = ctx.event.data
        await apply(
            ctx,
            e.buyer_id,
            ConfirmDelivery(
                invoice_id=e.invoice_id,
                document_ref=e.proof_of_delivery.document_ref,
                on=e.confirmed_on,
            ),
        )

    @router.handles(erp.PaymentReceived)
    async def on_payment(ctx: HandlerContext) -> None:
        # Payments that name no invoice are applied by the ledger (oldest first); its
        # InvoiceBalanceChanged reaches us then. Dunning never re-implements that rule.
        e: erp.PaymentReceived = ctx.event.data
        if not e.allocations:
            return
        await apply(
            ctx,
            e.buyer_id,
            ApplyPayment(
                payment_id=e.payment_id,
                allocations=tuple((a.invoice_id, a.amount.amount) for a in e.allocations),
                on=e.received_on,
            ),
        )

    @router.handles(erp.DisputeRaised)
    async def on_dispute(ctx: HandlerContext) -> None:
        e: erp.DisputeRaised = ctx.event.data
        await apply(
            ctx,
            e.buyer_id,
            RaiseDispute(dispute_id=e.dispute_id, invoice_id=e.invoice_id, on=e.raised_on),
        )

    @router.handles(erp.DisputeResolved)
    async def on_dispute_resolved(ctx: HandlerContext) -> None:
        e: erp.DisputeResolved = ctx.event.data
        await apply(
            ctx,
            e.buyer_id,
            ResolveDispute(
                dispute_id=e.dispute_id,
                invoice_id=e.invoice_id,
                outcome=str(e.outcome),
                on=e.resolved_on,
            ),
        )

    @router.handles(ledger.InvoiceBalanceChanged)
    async def on_balance(ctx: HandlerContext) -> None:
        e: ledger.InvoiceBalanceChanged = ctx.event.data
        await apply(
            ctx,
            e.buyer_id,
            NoteLedgerBalance(
                invoice_id=e.invoice_id,
                outstanding=e.outstanding.amount,
                status=str(e.status),
                on=e.changed_on,
            ),
        )

    @router.handles(ledger.InvoiceSettled)
    async def on_settled(ctx: HandlerContext) -> None:
        e: ledger.InvoiceSettled = ctx.event.data
        await apply(ctx, e.buyer_id, NoteSettlement(invoice_id=e.invoice_id, on=e.settled_on))

    @router.handles(risk.BuyerDowngraded)
    async def on_downgraded(ctx: HandlerContext) -> None:
        e: risk.BuyerDowngraded = ctx.event.data
        if e.to_grade >= watch_from_grade:
            await apply(
                ctx,
                e.buyer_id,
                PutOnWatch(on_watch=True, reason=f"downgraded to grade {e.to_grade}"),
            )

    @router.handles(risk.BuyerUpgraded)
    async def on_upgraded(ctx: HandlerContext) -> None:
        e: risk.BuyerUpgraded = ctx.event.data
        if e.to_grade < watch_from_grade:
            await apply(
                ctx,
                e.buyer_id,
                PutOnWatch(on_watch=False, reason=f"upgraded to grade {e.to_grade}"),
            )

    @router.handles(risk.RiskAlertRaised)
    async def on_alert(ctx: HandlerContext) -> None:
        e: risk.RiskAlertRaised = ctx.event.data
        if e.level == "critical":
            await apply(ctx, e.buyer_id, PutOnWatch(on_watch=True, reason=f"critical {e.signal}"))

    @router.handles(dunning_events.PromiseToPayRecorded)
    async def on_own_promise(ctx: HandlerContext) -> None:
        # Promises are recorded through the API, which applies them at once; reading our own event
        # back lets a rebuild from the log restore them (live, it changes nothing).
        e: dunning_events.PromiseToPayRecorded = ctx.event.data
        if ctx.event.source != ctx.source:
            return
        try:
            await apply(
                ctx,
                e.buyer_id,
                RecordPromise(
                    promise_id=e.promise_id,
                    invoice_ids=e.invoice_ids,
                    promised_on=e.promised_payment_on,
                    amount=e.promised_amount.amount,
                    recorded_on=e.recorded_on,
                    grace_days=e.grace_days,
                    recorded_by=e.recorded_by,
                ),
            )
        except DunningError as refused:
            log.info("promise %s not restored: %s", e.promise_id, refused.detail)

    return router
