"""A buyer's receivables sub-ledger as frozen state: invoices, instalments, cash on account, facts
waiting for their invoice, and the counters that number its entries and anomalies.

The kernel stores it as JSON (`pydantic.TypeAdapter(BuyerLedger)`); `evolve` derives each new state
from the previous one and a domain event. The few rules a state answers about itself (what is
outstanding, how late, which status, when the next overdue announcement falls due) are functions
here, shared with the working copy `decide` computes on.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from arshield_events.ledger import InvoiceStatus
from arshield_ledger.domain.commands import PendingFact

ZERO = Decimal(0)
CORRECTION = "correction"
"""Entry kind (amount 0) naming a credit note that corrects its invoice (an upheld dispute)."""

Bucket = Literal["current", "1-30", "31-60", "61-90", "90+"]
BUCKETS: tuple[Bucket, ...] = ("current", "1-30", "31-60", "61-90", "90+")
# First day past due of each overdue level (1: 1-30 ... 4: 90+).
LEVEL_STARTS = (1, 31, 61, 91)
CashKind = Literal["payment", "credit_note", "released"]


def bucket_of(days_past_due: int) -> Bucket:
    if days_past_due <= 0:
        return "current"
    return BUCKETS[overdue_level(days_past_due)]


def overdue_level(days_past_due: int) -> int:
    """0 when not past due, else 1 (1-30), 2 (31-60), 3 (61-90), 4 (90+)."""
    return sum(1 for start in LEVEL_STARTS if days_past_due >= start)


def fingerprint(content: dict[str, Any]) -> str:
    """A stable digest of a fact's content, to tell an identical re-send from a conflicting one."""
    text = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- the rules a state answers (for the frozen state and decide's working copy alike) ----------


class InstalmentLike(Protocol):
    @property
    def due_on(self) -> date: ...
    @property
    def outstanding(self) -> Decimal: ...
    @property
    def alerted(self) -> int: ...
    @property
    def paid_on(self) -> date | None: ...


class InvoiceLike(Protocol):
    @property
    def due_on(self) -> date: ...
    @property
    def paid(self) -> Decimal: ...
    @property
    def cancelled_on(self) -> date | None: ...
    @property
    def written_off_on(self) -> date | None: ...
    @property
    def settled_on(self) -> date | None: ...
    @property
    def status(self) -> InvoiceStatus: ...
    @property
    def disputes(self) -> dict[str, Decimal]: ...
    @property
    def parts(self) -> tuple[InstalmentLike, ...]: ...


def instalment_days_late(part: InstalmentLike) -> int | None:
    """Days beyond the due date of the last payment against it; None when nothing was paid."""
    if part.paid_on is None:
        return None
    return max(0, (part.paid_on - part.due_on).days)


def next_alert_on(part: InstalmentLike) -> date | None:
    """When the instalment's next overdue announcement falls due (None: no more)."""
    if part.outstanding <= 0 or part.alerted >= len(LEVEL_STARTS):
        return None
    return part.due_on + timedelta(days=LEVEL_STARTS[part.alerted])


def invoice_outstanding(inv: InvoiceLike) -> Decimal:
    return sum((i.outstanding for i in inv.parts), ZERO)


def invoice_days_late(inv: InvoiceLike) -> int | None:
    """For an invoice settled by payment: its worst instalment's days late, else None."""
    if inv.settled_on is None or inv.status != "paid":
        return None
    late = [d for d in (instalment_days_late(p) for p in inv.parts) if d is not None]
    if not late:  # a state from before payment dates were kept per instalment
        return max(0, (inv.settled_on - inv.due_on).days)
    return max(late)


def derive_status(inv: InvoiceLike) -> InvoiceStatus:
    if inv.cancelled_on is not None:
        return "cancelled"
    if inv.written_off_on is not None:
        return "written_off"
    if invoice_outstanding(inv) <= 0:
        return "paid" if inv.paid > 0 else "credited"
    if inv.disputes:
        return "disputed"
    if any(i.outstanding > 0 and i.alerted > 0 for i in inv.parts):
        return "overdue"
    if inv.paid > 0:
        return "partially_paid"
    return "open"


# -- the frozen state ---------------------------------------------------------------------------

_FROZEN = ConfigDict(frozen=True)


class InstalmentState(BaseModel):
    model_config = _FROZEN

    seq: int
    """0 for an invoice without instalments (the whole invoice falls due at once)."""
    due_on: date
    amount: Decimal
    outstanding: Decimal
    alerted: int = 0
    """The overdue level last announced (0 none, 1..4 for 1-30 ... 90+)."""
    paid_on: date | None = None
    """The date of the last payment applied to this instalment (credit notes do not count)."""
    moves: tuple[tuple[date, Decimal], ...] = ()
    """Every movement of the outstanding amount after issue (effective date, signed amount), in
    posting order: the history the interest a partial payment meets is computed on."""

    @property
    def days_late(self) -> int | None:
        return instalment_days_late(self)

    def next_alert_on(self) -> date | None:
        return next_alert_on(self)


class InvoiceState(BaseModel):
    model_config = _FROZEN

    invoice_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    issued_on: date
    due_on: date
    content: str
    """Fingerprint of the whole InvoiceIssued payload."""
    instalments: tuple[InstalmentState, ...]
    payment_terms_days: int = 0
    jurisdiction: str | None = None
    agreed_annual_rate: Decimal | None = None
    signed_on: date | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None
    paid: Decimal = ZERO
    credited: Decimal = ZERO
    cancelled_on: date | None = None
    written_off_on: date | None = None
    disputes: dict[str, Decimal] = {}
    settled_on: date | None = None
    status: InvoiceStatus = "open"
    costs_paid: Decimal = ZERO
    """What payments settled of the fixed compensation before the principal (BGB § 367 ...)."""
    interest_paid: Decimal = ZERO
    """What payments settled of the late interest before the principal."""
    credit_moves: tuple[tuple[str, int, date, Decimal], ...] = ()
    """What each credit note took off each instalment (credit note, instalment, date, amount)."""
    corrections: tuple[str, ...] = ()
    """The credit notes upheld disputes named as correcting the invoice."""

    @property
    def parts(self) -> tuple[InstalmentState, ...]:
        return self.instalments

    @property
    def outstanding(self) -> Decimal:
        return invoice_outstanding(self)

    @property
    def days_late(self) -> int | None:
        return invoice_days_late(self)

    @property
    def open(self) -> bool:
        return self.cancelled_on is None and self.outstanding > 0


class CashOnAccount(BaseModel):
    """Money on the account not (yet) applied to an invoice."""

    model_config = _FROZEN

    cash_no: int
    """The number of the entry that put it on the account (its identity)."""
    ref: str
    kind: CashKind
    received_on: date
    amount: Decimal
    earmarked_for: str | None = None
    """The invoice the payer named, not yet known to the ledger."""


class BuyerLedger(BaseModel):
    """One buyer's receivables sub-ledger (the kernel keys it by tenant and buyer)."""

    model_config = _FROZEN

    invoices: dict[str, InvoiceState] = {}
    cash: dict[str, tuple[CashOnAccount, ...]] = {}
    pending: dict[str, tuple[PendingFact, ...]] = {}
    """Facts naming an invoice not yet known, by that invoice."""
    seen: dict[str, str] = {}
    """Fingerprints of payments and credit notes by id, to refuse a conflicting re-use of an id."""
    resolved_early: dict[str, str] = {}
    """Dispute resolutions that arrived before their dispute (dispute id -> outcome)."""
    resolved: dict[str, str] = {}
    """Disputes raised and resolved (id -> outcome): a repeated fact about them is a no-op."""
    entry_no: int = 0
    anomaly_no: int = 0
    tenant_jurisdiction: str | None = None
    tenant_is_sme: bool | None = None
    law_adopted: bool = False
    """The tenant's law was given (`AdoptTenantLaw`, or a business day that read it)."""

    def unapplied(self, currency: str) -> Decimal:
        return sum((c.amount for c in self.cash.get(currency, ())), ZERO)

    def wake_on(self) -> date | None:
        """The earliest date an instalment's next overdue announcement falls due."""
        return min(
            (
                alert
                for inv in self.invoices.values()
                if inv.cancelled_on is None
                for part in inv.instalments
                if (alert := part.next_alert_on()) is not None
            ),
            default=None,
        )
