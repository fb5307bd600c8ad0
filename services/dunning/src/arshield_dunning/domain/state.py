"""The dunning state of one buyer: its profile, its invoices' timelines, its promises to pay.

A buyer is the aggregate because every fact about a buyer arrives in order on one partition, and
because statements, controller assignment and agency cases span a buyer's invoices.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from arshield_dunning.domain.policy import Action, Policy, Segment

ZERO = Decimal("0")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(Frozen):
    amount: Decimal
    currency: str


class ContractTerms(Frozen):
    jurisdiction: str
    late_interest: str = "statutory"
    agreed_annual_rate: Decimal | None = None
    signed_on: date | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None


class Reduction(Frozen):
    """A payment or credit note that lowered what the invoice claims, from `on`."""

    source_id: str
    kind: str  # payment | credit_note
    on: date
    amount: Decimal


class LedgerNote(Frozen):
    """What the ledger said the invoice still owed, from `on`."""

    on: date
    outstanding: Decimal


class DoneAction(Frozen):
    action: Action
    level: int
    on: date
    policy_version: str
    letter_id: str | None = None


class Closure(StrEnum):
    SETTLED = "settled"
    CANCELLED = "cancelled"


class InvoiceDunning(Frozen):
    """One invoice as dunning sees it. Facts that arrive before the invoice itself are kept on a
    record whose `due_on` is still None, and count once the invoice is issued."""

    invoice_id: str
    invoice_number: str | None = None
    order_id: str | None = None
    issued_on: date | None = None
    delivered_on: date | None = None
    due_on: date | None = None
    amount: Money | None = None
    terms: ContractTerms | None = None
    proof_of_delivery: str | None = None
    reductions: tuple[Reduction, ...] = ()
    ledger_outstanding: Decimal | None = None
    ledger_balances: tuple[LedgerNote, ...] = ()
    """The ledger's figures by date: it also applies payments that name no invoice."""
    closed: Closure | None = None
    closed_on: date | None = None
    open_disputes: tuple[str, ...] = ()
    promise_id: str | None = None
    evaluated_through: date | None = None
    """The last business day whose actions were considered (a paused invoice's stays behind)."""
    level: int = 0
    done: tuple[DoneAction, ...] = ()
    case_id: str | None = None
    traceparent: str | None = None
    """The trace the invoice was first tracked in: a business day's decisions about the invoice
    continue it (tracing metadata, never a reason for a decision)."""

    @property
    def known(self) -> bool:
        return self.due_on is not None and self.amount is not None

    @property
    def currency(self) -> str:
        return self.amount.currency if self.amount else ""

    @property
    def outstanding(self) -> Decimal:
        """What the invoice still claims: the ERP's own reductions, or the ledger's figure when it
        is lower (the ledger also applies payments that name no invoice)."""
        if self.amount is None:
            return ZERO
        own = self.amount.amount - sum((r.amount for r in self.reductions), ZERO)
        if self.ledger_outstanding is not None:
            own = min(own, self.ledger_outstanding)
        return max(own, ZERO)

    def principal_changes(self) -> tuple[Reduction, ...]:
        """How the principal bearing interest fell, by date: the ERP's named payments and credit
        notes, and wherever the ledger shows less owed (a payment it applied without the ERP
        naming the invoice, cash on account re-applied), the ledger's figure from its date.
        Whichever of the two facts arrives first, the other adds nothing: on each date the
        principal is the lower of the two."""
        if self.amount is None:
            return ()
        total = self.amount.amount
        days = sorted({r.on for r in self.reductions} | {n.on for n in self.ledger_balances})
        changes: list[Reduction] = []
        previous = total
        for day in days:
            own = total - sum((r.amount for r in self.reductions if r.on <= day), ZERO)
            noted = [n for n in self.ledger_balances if n.on <= day]
            principal = max(min(own, noted[-1].outstanding) if noted else own, ZERO)
            if principal != previous:
                changes.append(
                    Reduction(
                        source_id=f"principal:{day.isoformat()}",
                        kind="principal",
                        on=day,
                        amount=previous - principal,
                    )
                )
                previous = principal
        return tuple(changes)

    @property
    def is_open(self) -> bool:
        return self.known and self.closed is None

    @property
    def paused(self) -> bool:
        return bool(self.open_disputes) or self.promise_id is not None

    def has_done(self, action: Action, on: date | None = None) -> bool:
        return any(d.action is action and (on is None or d.on == on) for d in self.done)


class Promise(Frozen):
    promise_id: str
    invoice_ids: tuple[str, ...]
    promised_on: date
    grace_until: date
    amount: Money
    recorded_on: date
    recorded_by: str | None = None
    paid_since: Decimal = ZERO
    """Payments naming the promised invoices since the promise."""
    owed_when_recorded: Decimal | None = None
    """What its invoices owed when it was made: how much they fell since also counts as paid,
    so a payment the ledger applied without the ERP naming an invoice keeps the promise."""
    status: str = "active"  # active | kept | broken


class BillingContact(Frozen):
    name: str
    email: str


class BuyerDunning(Frozen):
    tenant_id: str
    buyer_id: str
    legal_name: str | None = None
    country: str | None = None
    segment: Segment = Segment.STANDARD
    """The segment the ERP registered; risk and credit events can put the buyer on watch."""
    on_watch: bool = False
    language: str = "en"
    billing_contact: BillingContact | None = None
    invoices: dict[str, InvoiceDunning] = {}
    promises: dict[str, Promise] = {}
    last_statement_on: date | None = None
    controller_assigned_on: date | None = None
    policy: Policy | None = None
    """The policy the last business day was decided under: the buyer's next wake-up is planned
    by it. None (or another segment's) means it is not known to be current: wake at the next
    tick."""

    @property
    def effective_segment(self) -> Segment:
        return Segment.WATCH if self.on_watch else self.segment

    def invoice(self, invoice_id: str) -> InvoiceDunning:
        return self.invoices.get(invoice_id) or InvoiceDunning(invoice_id=invoice_id)

    def open_invoices(self) -> list[InvoiceDunning]:
        return sorted(
            (i for i in self.invoices.values() if i.is_open and i.outstanding > 0),
            key=lambda i: (i.due_on or date.min, i.invoice_id),
        )

    def open_balance(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for inv in self.open_invoices():
            totals[inv.currency] = totals.get(inv.currency, ZERO) + inv.outstanding
        return totals
