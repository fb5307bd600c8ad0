"""Handlers: load the buyer's account, apply the fact, buffer the projections, emit events."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from arshield_events import clock, erp
from arshield_ledger.adapters.publishing import publish
from arshield_ledger.adapters.store import LedgerStore
from arshield_ledger.adapters.tables import business_days, instalments
from arshield_ledger.domain.model import (
    Allocation,
    BuyerAccount,
    CancelInvoice,
    Changes,
    InstalmentTerms,
    IssueCreditNote,
    IssueInvoice,
    RaiseDispute,
    ReceivePayment,
    Refused,
    ResolveDispute,
    fingerprint,
)
from arshield_runtime.messaging import HandlerContext, Rejected


def issue_fact(data: erp.InvoiceIssued) -> IssueInvoice:
    terms = data.contract_terms
    return IssueInvoice(
        invoice_id=data.invoice_id,
        invoice_number=data.invoice_number,
        currency=data.amount.currency,
        amount=data.amount.amount,
        issued_on=data.issued_on,
        due_on=data.due_on,
        instalments=tuple(
            InstalmentTerms(p.seq, p.due_on, p.amount.amount) for p in data.instalments
        ),
        content=fingerprint(data.model_dump(mode="json")),
        payment_terms_days=data.payment_terms_days,
        jurisdiction=terms.jurisdiction if terms else None,
        agreed_annual_rate=terms.agreed_annual_rate if terms else None,
    )


def payment_fact(data: erp.PaymentReceived) -> ReceivePayment:
    return ReceivePayment(
        payment_id=data.payment_id,
        currency=data.amount.currency,
        amount=data.amount.amount,
        received_on=data.received_on,
        allocations=tuple(Allocation(a.invoice_id, a.amount.amount) for a in data.allocations),
        content=fingerprint(data.model_dump(mode="json")),
    )


def credit_fact(data: erp.CreditNoteIssued) -> IssueCreditNote:
    return IssueCreditNote(
        credit_note_id=data.credit_note_id,
        invoice_id=data.invoice_id,
        currency=data.amount.currency,
        amount=data.amount.amount,
        issued_on=data.issued_on,
        content=fingerprint(data.model_dump(mode="json")),
    )


Operation = Callable[[BuyerAccount], Changes]


async def _apply(ctx: HandlerContext, buyer_id: str, operation: Operation) -> None:
    store = LedgerStore.of(ctx)
    account = await store.account(ctx.event.tenantid, buyer_id)
    try:
        changes = operation(account)
    except Refused as refused:
        raise Rejected(str(refused)) from refused
    store.record(account, changes)
    publish(ctx, account.buyer_id, changes)


async def on_invoice_issued(ctx: HandlerContext) -> None:
    data: erp.InvoiceIssued = ctx.event.data
    fact = issue_fact(data)
    await _apply(ctx, data.buyer_id, lambda account: account.issue(fact))


async def on_payment_received(ctx: HandlerContext) -> None:
    data: erp.PaymentReceived = ctx.event.data
    fact = payment_fact(data)
    await _apply(ctx, data.buyer_id, lambda account: account.receive_payment(fact))


async def on_credit_note_issued(ctx: HandlerContext) -> None:
    data: erp.CreditNoteIssued = ctx.event.data
    fact = credit_fact(data)
    await _apply(ctx, data.buyer_id, lambda account: account.issue_credit_note(fact))


async def on_invoice_cancelled(ctx: HandlerContext) -> None:
    data: erp.InvoiceCancelled = ctx.event.data
    fact = CancelInvoice(data.invoice_id, data.cancelled_on, data.reason)
    await _apply(ctx, data.buyer_id, lambda account: account.cancel_invoice(fact))


async def on_dispute_raised(ctx: HandlerContext) -> None:
    data: erp.DisputeRaised = ctx.event.data
    fact = RaiseDispute(
        data.dispute_id,
        data.invoice_id,
        data.disputed_amount.currency,
        data.disputed_amount.amount,
        data.raised_on,
        data.reason,
    )
    await _apply(ctx, data.buyer_id, lambda account: account.raise_dispute(fact))


async def on_dispute_resolved(ctx: HandlerContext) -> None:
    data: erp.DisputeResolved = ctx.event.data
    fact = ResolveDispute(
        data.dispute_id, data.invoice_id, data.outcome, data.resolved_on, data.credit_note_id
    )
    await _apply(ctx, data.buyer_id, lambda account: account.resolve_dispute(fact))


async def on_business_day_started(ctx: HandlerContext) -> None:
    """Find the buyers with an instalment whose next overdue announcement is due, and tick them."""
    data: clock.BusinessDayStarted = ctx.event.data
    tenant_id = ctx.event.tenantid
    store = LedgerStore.of(ctx)
    await store.flush(ctx.session)  # this batch's earlier facts must be visible to the query
    rows = await ctx.session.execute(
        sa.select(instalments.c.buyer_id)
        .where(
            instalments.c.tenant_id == tenant_id,
            instalments.c.next_alert_on <= data.business_date,
        )
        .distinct()
    )
    buyer_ids = sorted(row.buyer_id for row in rows)
    await ctx.session.execute(
        pg_insert(business_days)
        .values(tenant_id=tenant_id, business_date=data.business_date)
        .on_conflict_do_update(
            index_elements=[business_days.c.tenant_id],
            set_={
                "business_date": sa.func.greatest(business_days.c.business_date, data.business_date)
            },
        )
    )
    for account in await store.accounts_of(tenant_id, buyer_ids):
        changes = account.start_business_day(data.business_date)
        store.record(account, changes)
        publish(ctx, account.buyer_id, changes)
