"""The buyer aggregate to and from its JSON snapshot (`buyer_accounts.state`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from arshield_ledger.domain.model import (
    BuyerAccount,
    CancelInvoice,
    Cash,
    Instalment,
    Invoice,
    IssueCreditNote,
    PendingFact,
    RaiseDispute,
    ResolveDispute,
)

_PENDING = {
    "credit": IssueCreditNote,
    "cancel": CancelInvoice,
    "dispute": RaiseDispute,
    "resolve": ResolveDispute,
}
_PENDING_TAG = {cls: tag for tag, cls in _PENDING.items()}
_DATES = {"issued_on", "cancelled_on", "raised_on", "resolved_on"}
_AMOUNTS = {"amount"}


def _d(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _s(value: object) -> str | None:
    return None if value is None else str(value)


def dump(account: BuyerAccount) -> dict[str, Any]:
    return {
        "invoices": [_dump_invoice(inv) for inv in account.invoices.values()],
        "cash": {
            currency: [
                [c.ref, c.kind, c.received_on.isoformat(), str(c.amount), c.earmarked_for]
                for c in purse
            ]
            for currency, purse in account.cash.items()
            if purse
        },
        "pending": {
            invoice_id: [_dump_pending(f) for f in facts]
            for invoice_id, facts in account.pending.items()
        },
        "seen": account.seen,
        "resolved_early": account.resolved_early,
        "resolved": account.resolved,
        "entry_no": account.entry_no,
        "anomaly_no": account.anomaly_no,
    }


def load(tenant_id: str, buyer_id: str, state: dict[str, Any]) -> BuyerAccount:
    account = BuyerAccount(
        tenant_id,
        buyer_id,
        seen=dict(state["seen"]),
        resolved_early=dict(state["resolved_early"]),
        resolved=dict(state["resolved"]),
        entry_no=state["entry_no"],
        anomaly_no=state["anomaly_no"],
    )
    for raw in state["invoices"]:
        inv = _load_invoice(raw)
        account.invoices[inv.invoice_id] = inv
    for currency, purse in state["cash"].items():
        account.cash[currency] = [
            Cash(ref, kind, date.fromisoformat(on), Decimal(amount), earmarked)
            for ref, kind, on, amount, earmarked in purse
        ]
    for invoice_id, facts in state["pending"].items():
        account.pending[invoice_id] = [_load_pending(f) for f in facts]
    return account


def _dump_invoice(inv: Invoice) -> dict[str, Any]:
    return {
        "id": inv.invoice_id,
        "number": inv.invoice_number,
        "currency": inv.currency,
        "amount": str(inv.amount),
        "issued_on": inv.issued_on.isoformat(),
        "due_on": inv.due_on.isoformat(),
        "content": inv.content,
        "parts": [
            [
                p.seq,
                p.due_on.isoformat(),
                str(p.amount),
                str(p.outstanding),
                p.alerted,
                _s(p.paid_on),
            ]
            for p in inv.instalments
        ],
        "terms": [inv.payment_terms_days, inv.jurisdiction, _s(inv.agreed_annual_rate)],
        "paid": str(inv.paid),
        "credited": str(inv.credited),
        "cancelled_on": _s(inv.cancelled_on),
        "disputes": {k: str(v) for k, v in inv.disputes.items()},
        "settled_on": _s(inv.settled_on),
        "status": inv.status,
    }


def _load_invoice(raw: dict[str, Any]) -> Invoice:
    terms_days, jurisdiction, rate = raw["terms"]
    return Invoice(
        invoice_id=raw["id"],
        invoice_number=raw["number"],
        currency=raw["currency"],
        amount=Decimal(raw["amount"]),
        issued_on=date.fromisoformat(raw["issued_on"]),
        due_on=date.fromisoformat(raw["due_on"]),
        content=raw["content"],
        instalments=[_load_instalment(part) for part in raw["parts"]],
        payment_terms_days=terms_days,
        jurisdiction=jurisdiction,
        agreed_annual_rate=None if rate is None else Decimal(rate),
        paid=Decimal(raw["paid"]),
        credited=Decimal(raw["credited"]),
        cancelled_on=_d(raw["cancelled_on"]),
        disputes={k: Decimal(v) for k, v in raw["disputes"].items()},
        settled_on=_d(raw["settled_on"]),
        status=raw["status"],
    )


def _load_instalment(raw: list[Any]) -> Instalment:
    """A snapshot's instalment; one written before payment dates were kept has five fields."""
    seq, due, amount, left, alerted, *rest = raw
    paid_on = _d(rest[0]) if rest else None
    return Instalment(
        seq, date.fromisoformat(due), Decimal(amount), Decimal(left), alerted, paid_on
    )


def _dump_pending(fact: PendingFact) -> dict[str, Any]:
    body = {
        name: (
            value.isoformat()
            if isinstance(value, date)
            else _s(value)
            if name in _AMOUNTS
            else value
        )
        for name, value in vars(fact).items()
    }
    return {"kind": _PENDING_TAG[type(fact)], **body}


def _load_pending(raw: dict[str, Any]) -> PendingFact:
    body = dict(raw)
    cls = _PENDING[body.pop("kind")]
    for name in body:
        if name in _DATES:
            body[name] = date.fromisoformat(body[name])
        elif name in _AMOUNTS:
            body[name] = Decimal(body[name])
    return cls(**body)  # type: ignore[no-any-return]
