"""How each fact changes a buyer's history (pure; no scoring here)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arshield_risk_monitor.domain.commands import (
    Fact,
    NoteBalance,
    NoteFinancials,
    NoteRating,
    NoteSettlement,
    RaiseDispute,
    ReceivePayment,
    RiskRefused,
    TrackInvoice,
    VoidInvoice,
)
from arshield_risk_monitor.domain.state import Financials, History, Invoice, Rating

ZERO = Decimal(0)


def _with(history: History, invoice: Invoice) -> History:
    others = tuple(i for i in history.invoices if i.invoice_id != invoice.invoice_id)
    return history.model_copy(update={"invoices": (*others, invoice)})


def _invoice(history: History, invoice_id: str) -> Invoice:
    for invoice in history.invoices:
        if invoice.invoice_id == invoice_id:
            return invoice
    return Invoice(invoice_id=invoice_id)


def with_rating(history: History, rating: Rating) -> History:
    ratings = sorted((*history.ratings, rating), key=lambda r: r.published_on)
    return history.model_copy(update={"ratings": tuple(ratings)})


def with_financials(history: History, report: Financials) -> History:
    # the latest report is the latest reported (the signals read them as of a business date)
    reports = sorted((*history.financials, report), key=lambda f: (f.reported_on, f.period_end_on))
    return history.model_copy(update={"financials": tuple(reports[-2:])})


def receive(history: History, payment: ReceivePayment) -> History:
    """Note the payment's date, and whether it left the invoice it paid partly unpaid: the invoices
    it names, else the oldest open one. Outstanding amounts are lowered here until the ledger's own
    balance arrives (the ledger owns the receivable; its balances overwrite these)."""
    invoices = {i.invoice_id: i for i in history.invoices}
    partial = False
    if payment.allocations:
        for invoice_id, amount in payment.allocations:
            invoice = invoices.get(invoice_id)
            if invoice is None or not invoice.open:
                continue
            left = invoice.outstanding - amount
            partial = partial or left > ZERO
            invoices[invoice_id] = invoice.model_copy(update={"outstanding": max(left, ZERO)})
    else:
        remaining = payment.amount
        oldest = sorted(
            (i for i in invoices.values() if i.open and i.outstanding > ZERO),
            key=lambda i: (i.due_on, i.invoice_id),
        )
        for k, invoice in enumerate(oldest):
            if remaining <= ZERO:
                break
            paid = min(remaining, invoice.outstanding)
            if k == 0:
                partial = paid < invoice.outstanding
            remaining -= paid
            invoices[invoice.invoice_id] = invoice.model_copy(
                update={"outstanding": invoice.outstanding - paid}
            )
    last = history.last_payment_on
    return history.model_copy(
        update={
            "invoices": tuple(invoices.values()),
            "last_payment_on": payment.on if last is None else max(last, payment.on),
            "partial_payments": (*history.partial_payments, payment.on)
            if partial
            else history.partial_payments,
        }
    )


def financials_of(fact: NoteFinancials) -> Financials:
    """The ratios of a financial report; impossible figures are refused."""
    assets, equity, income = fact.total_assets, fact.equity, fact.net_income
    if assets is not None and assets < ZERO:
        raise RiskRefused(f"financials with negative total assets ({assets})")
    usable = assets is not None and assets > ZERO

    def share(part: Decimal | None) -> float | None:
        return float(part / assets) if usable and part is not None and assets else None

    return Financials(
        period_end_on=fact.period_end_on,
        reported_on=fact.on,
        equity_ratio=share(equity),
        current_ratio=None if fact.current_ratio is None else float(fact.current_ratio),
        return_on_assets=share(income),
    )


def record(history: History, fact: Fact) -> History:
    match fact:
        case TrackInvoice():
            known = _invoice(history, fact.invoice_id)
            fresh = known.due_on is None
            return _with(
                history,
                known.model_copy(
                    update={
                        "due_on": fact.due_on,
                        "amount": fact.amount,
                        "outstanding": fact.amount if fresh else known.outstanding,
                    }
                ),
            )
        case VoidInvoice():
            known = _invoice(history, fact.invoice_id)
            return _with(history, known.model_copy(update={"void": True}))
        case NoteBalance():
            known = _invoice(history, fact.invoice_id)
            return _with(history, known.model_copy(update={"outstanding": fact.outstanding}))
        case NoteSettlement():
            known = _invoice(history, fact.invoice_id)
            if known.settled_on is not None:
                return history
            return _with(history, known.model_copy(update={"settled_on": fact.on}))
        case ReceivePayment():
            return receive(history, fact)
        case RaiseDispute():
            return history.model_copy(update={"disputes": (*history.disputes, fact.on)})
        case NoteRating():
            return with_rating(history, fact.rating)
        case NoteFinancials():
            return with_financials(history, financials_of(fact))
    return history


def later(first: date | None, second: date) -> date:
    return second if first is None else max(first, second)
