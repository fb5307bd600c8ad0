"""The receivables sub-ledger of one buyer: invoices, instalments, cash, credit notes, disputes.

`BuyerAccount` is the aggregate: every ERP fact about one buyer is applied to it in log order
(Kafka keys by tenant and buyer, so one buyer's facts arrive in order). Each operation first
validates (and raises `Refused` before changing anything), then changes the account and returns
`Changes`: the dated ledger entries for the time-travel read models, the facts to publish, and the
judgement calls taken.

Rules taken here (documented judgement calls, each recorded as an `Anomaly` where it happens):
- A payment applies to the invoices it names (capped at their outstanding amount), the rest oldest
  due date first over open, undisputed invoices in the payment's currency; what is left stays on the
  account as unapplied cash and is applied to the next invoice in that currency that arrives.
- A fact naming an invoice not yet known (payment allocation, credit note, cancellation, dispute) is
  kept and applied when the invoice arrives, dated no earlier than the invoice's issue date.
- A credit note may not exceed the invoice's amount less earlier credit notes; what exceeds the
  outstanding amount (the invoice was already paid) stays on the account as a credit.
- Cancelling an invoice with cash applied releases that cash to the account.
- Cash on account (unapplied payments, credit-note surpluses, released cash) never waits while an
  open, undisputed invoice in its currency could take it: every operation ends by applying it
  oldest due date first (an invoice arriving, a dispute resolved, a credit note leaving a surplus,
  a cancellation releasing cash). Each application is dated when both the cash and the invoice
  existed (a payment reduces the principal from the day it arrived), so an invoice that cash on
  account covers is never announced overdue.
- An invoice closed without any payment (credit notes only) is `credited`, not `paid`: it is not
  settled by payment and has no days late. An invoice settled by payment is as late as its worst
  instalment, each instalment measured by the last payment against it.
- A credit note named by an upheld dispute (`DisputeResolved.credit_note_id`) corrects the invoice:
  a `correction` entry (amount 0) marks it, and interest treats its amount as never owed.
- A disputed invoice stays in the receivables, flagged; it is not chosen for unallocated cash and is
  not announced overdue while disputed (dunning pauses on a dispute anyway).
- Overdue is decided by business-day ticks: an instalment is announced once when it becomes overdue
  and again on crossing into 31-60, 61-90 and 90+ (a tick that skips buckets announces the current).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from arshield_events.ledger import InvoiceStatus

ZERO = Decimal(0)
CORRECTION = "correction"
"""Entry kind (amount 0) naming a credit note that corrects its invoice (an upheld dispute)."""

Bucket = Literal["current", "1-30", "31-60", "61-90", "90+"]
BUCKETS: tuple[Bucket, ...] = ("current", "1-30", "31-60", "61-90", "90+")
# First day past due of each overdue level (1: 1-30 ... 4: 90+).
LEVEL_STARTS = (1, 31, 61, 91)


class Refused(Exception):  # noqa: N818 - a verdict on the input, not a program error
    """The fact is refused (bad input); the account is unchanged."""


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


# ---------------------------------------------------------------------------------------------
# Facts in (the application maps the public events to these)


@dataclass(frozen=True)
class InstalmentTerms:
    seq: int
    due_on: date
    amount: Decimal


@dataclass(frozen=True)
class IssueInvoice:
    invoice_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    issued_on: date
    due_on: date
    instalments: tuple[InstalmentTerms, ...]
    content: str
    """Fingerprint of the whole InvoiceIssued payload."""
    payment_terms_days: int = 0
    jurisdiction: str | None = None
    agreed_annual_rate: Decimal | None = None


@dataclass(frozen=True)
class Allocation:
    invoice_id: str
    amount: Decimal


@dataclass(frozen=True)
class ReceivePayment:
    payment_id: str
    currency: str
    amount: Decimal
    received_on: date
    allocations: tuple[Allocation, ...]
    content: str


@dataclass(frozen=True)
class IssueCreditNote:
    credit_note_id: str
    invoice_id: str
    currency: str
    amount: Decimal
    issued_on: date
    content: str


@dataclass(frozen=True)
class CancelInvoice:
    invoice_id: str
    cancelled_on: date
    reason: str


@dataclass(frozen=True)
class RaiseDispute:
    dispute_id: str
    invoice_id: str
    currency: str
    amount: Decimal
    raised_on: date
    reason: str


@dataclass(frozen=True)
class ResolveDispute:
    dispute_id: str
    invoice_id: str
    outcome: str
    resolved_on: date
    credit_note_id: str | None = None
    """The credit note that corrects the invoice when the dispute is upheld."""


PendingFact = IssueCreditNote | CancelInvoice | RaiseDispute | ResolveDispute


# ---------------------------------------------------------------------------------------------
# What comes out


@dataclass(frozen=True)
class Entry:
    """A dated movement of the buyer's receivable (amount > 0: the buyer owes more).

    `invoice_id` None is the buyer's unapplied cash; kinds with amount 0 are non-monetary facts in
    an invoice's history (dispute raised/resolved, overdue announced).
    """

    entry_no: int
    invoice_id: str | None
    seq: int | None
    currency: str
    effective_on: date
    kind: str
    amount: Decimal
    ref: str
    detail: str = ""


@dataclass(frozen=True)
class BalanceChanged:
    invoice_id: str
    outstanding: Decimal
    currency: str
    status: InvoiceStatus
    changed_on: date


@dataclass(frozen=True)
class Settled:
    invoice_id: str
    settled_on: date
    days_late: int
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Unapplied:
    payment_id: str
    amount: Decimal
    currency: str
    received_on: date


@dataclass(frozen=True)
class Overdue:
    invoice_id: str
    seq: int | None
    due_on: date
    outstanding: Decimal
    currency: str
    days_overdue: int
    bucket: Bucket
    as_of: date


@dataclass(frozen=True)
class Anomaly:
    anomaly_no: int
    kind: str
    occurred_on: date
    invoice_id: str | None
    ref: str
    detail: str


@dataclass
class Changes:
    entries: list[Entry] = field(default_factory=list)
    balances: list[BalanceChanged] = field(default_factory=list)
    settled: list[Settled] = field(default_factory=list)
    unapplied: list[Unapplied] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    invoices: set[str] = field(default_factory=set)
    """Invoices whose state changed (for the read-model upserts)."""

    @property
    def empty(self) -> bool:
        return not (self.entries or self.anomalies or self.invoices)


# ---------------------------------------------------------------------------------------------
# State


@dataclass
class Instalment:
    seq: int
    """0 for an invoice without instalments (the whole invoice falls due at once)."""
    due_on: date
    amount: Decimal
    outstanding: Decimal
    alerted: int = 0
    """The overdue level last announced (0 none, 1..4 for 1-30 ... 90+)."""
    paid_on: date | None = None
    """The date of the last payment applied to this instalment (credit notes do not count)."""

    @property
    def days_late(self) -> int | None:
        """Days beyond the due date of the last payment against it; None when nothing was paid."""
        if self.paid_on is None:
            return None
        return max(0, (self.paid_on - self.due_on).days)

    def note_payment(self, on: date) -> None:
        self.paid_on = on if self.paid_on is None else max(self.paid_on, on)

    def next_alert_on(self) -> date | None:
        if self.outstanding <= 0 or self.alerted >= len(LEVEL_STARTS):
            return None
        return self.due_on + timedelta(days=LEVEL_STARTS[self.alerted])


@dataclass
class Invoice:
    invoice_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    issued_on: date
    due_on: date
    content: str
    instalments: list[Instalment]
    payment_terms_days: int = 0
    jurisdiction: str | None = None
    agreed_annual_rate: Decimal | None = None
    paid: Decimal = ZERO
    credited: Decimal = ZERO
    cancelled_on: date | None = None
    disputes: dict[str, Decimal] = field(default_factory=dict)
    settled_on: date | None = None
    status: InvoiceStatus = "open"

    @property
    def outstanding(self) -> Decimal:
        return sum((i.outstanding for i in self.instalments), ZERO)

    @property
    def days_late(self) -> int | None:
        """For an invoice settled by payment: its worst instalment's days late, else None."""
        if self.settled_on is None or self.status != "paid":
            return None
        late = [d for d in (p.days_late for p in self.instalments) if d is not None]
        if not late:  # a snapshot from before payment dates were kept per instalment
            return max(0, (self.settled_on - self.due_on).days)
        return max(late)

    @property
    def open(self) -> bool:
        return self.cancelled_on is None and self.outstanding > 0

    def derive_status(self) -> InvoiceStatus:
        if self.cancelled_on is not None:
            return "cancelled"
        if self.outstanding <= 0:
            return "paid" if self.paid > 0 else "credited"
        if self.disputes:
            return "disputed"
        if any(i.outstanding > 0 and i.alerted > 0 for i in self.instalments):
            return "overdue"
        if self.paid > 0:
            return "partially_paid"
        return "open"

    def public_seq(self, instalment: Instalment) -> int | None:
        return instalment.seq or None


@dataclass
class Cash:
    """Money on the account not (yet) applied to an invoice."""

    ref: str
    kind: Literal["payment", "credit_note", "released"]
    received_on: date
    amount: Decimal
    earmarked_for: str | None = None
    """The invoice the payer named, not yet known to the ledger."""


@dataclass
class BuyerAccount:
    tenant_id: str
    buyer_id: str
    invoices: dict[str, Invoice] = field(default_factory=dict)
    cash: dict[str, list[Cash]] = field(default_factory=dict)
    pending: dict[str, list[PendingFact]] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    """Fingerprints of payments and credit notes by id, to refuse a conflicting re-use of an id."""
    resolved_early: dict[str, str] = field(default_factory=dict)
    """Dispute resolutions that arrived before their dispute (dispute id -> outcome)."""
    resolved: dict[str, str] = field(default_factory=dict)
    """Disputes raised and resolved (id -> outcome): a repeated fact about them is a no-op."""
    entry_no: int = 0
    anomaly_no: int = 0

    # -- helpers ------------------------------------------------------------------------------
    def unapplied(self, currency: str) -> Decimal:
        return sum((c.amount for c in self.cash.get(currency, [])), ZERO)

    def outstanding(self, currency: str) -> Decimal:
        return sum(
            (
                inv.outstanding
                for inv in self.invoices.values()
                if inv.currency == currency and inv.open
            ),
            ZERO,
        )

    def _entry(
        self,
        changes: Changes,
        invoice_id: str | None,
        seq: int | None,
        currency: str,
        on: date,
        kind: str,
        amount: Decimal,
        ref: str,
        detail: str = "",
    ) -> None:
        self.entry_no += 1
        changes.entries.append(
            Entry(self.entry_no, invoice_id, seq, currency, on, kind, amount, ref, detail)
        )
        if invoice_id is not None:
            changes.invoices.add(invoice_id)

    def _anomaly(
        self, changes: Changes, kind: str, on: date, invoice_id: str | None, ref: str, detail: str
    ) -> None:
        self.anomaly_no += 1
        changes.anomalies.append(Anomaly(self.anomaly_no, kind, on, invoice_id, ref, detail))

    def _check_seen(self, fact_id: str, content: str, what: str) -> bool:
        """True when the fact was applied before (identical); refuses a conflicting re-use."""
        known = self.seen.get(fact_id)
        if known is None:
            return False
        if known != content:
            raise Refused(f"{what} {fact_id} was already received with different content")
        return True

    def _watch(self, *invoice_ids: str) -> dict[str, tuple[Decimal, InvoiceStatus]]:
        return {
            i: (self.invoices[i].outstanding, self.invoices[i].status)
            for i in invoice_ids
            if i in self.invoices
        }

    def _close(
        self, changes: Changes, before: dict[str, tuple[Decimal, InvoiceStatus]], on: date
    ) -> None:
        """Re-derive statuses of touched invoices; report balance changes and settlements."""
        for invoice_id in sorted(changes.invoices):
            inv = self.invoices[invoice_id]
            inv.status = inv.derive_status()
            # Only payment settles; an invoice closed by credit notes alone is `credited`.
            if inv.status == "paid" and inv.settled_on is None:
                inv.settled_on = max(
                    (
                        e.effective_on
                        for e in changes.entries
                        if e.invoice_id == invoice_id and e.amount < 0
                    ),
                    default=max(on, inv.issued_on),
                )
                changes.settled.append(
                    Settled(invoice_id, inv.settled_on, inv.days_late or 0, inv.paid, inv.currency)
                )
            if before.get(invoice_id) != (inv.outstanding, inv.status):
                changes.balances.append(
                    BalanceChanged(invoice_id, inv.outstanding, inv.currency, inv.status, on)
                )

    def _reduce(
        self,
        changes: Changes,
        inv: Invoice,
        amount: Decimal,
        on: date,
        kind: str,
        ref: str,
    ) -> Decimal:
        """Reduce the instalments oldest due first by up to `amount`; returns the part used."""
        left = amount
        effective = max(on, inv.issued_on)
        paying = kind in ("payment", "unapplied_cash")
        for part in sorted(inv.instalments, key=lambda i: (i.due_on, i.seq)):
            if left <= 0:
                break
            take = min(left, part.outstanding)
            if take <= 0:
                continue
            part.outstanding -= take
            left -= take
            if paying:
                part.note_payment(effective)
            self._entry(
                changes, inv.invoice_id, part.seq, inv.currency, effective, kind, -take, ref
            )
        used = amount - left
        if paying:
            inv.paid += used
        return used

    # -- operations ---------------------------------------------------------------------------
    def issue(self, fact: IssueInvoice) -> Changes:
        changes = Changes()
        known = self.invoices.get(fact.invoice_id)
        if known is not None:
            if known.content == fact.content:
                return changes
            raise Refused(f"invoice {fact.invoice_id} was already issued with different content")
        parts = [Instalment(p.seq, p.due_on, p.amount, p.amount) for p in fact.instalments] or [
            Instalment(0, fact.due_on, fact.amount, fact.amount)
        ]
        inv = Invoice(
            fact.invoice_id,
            fact.invoice_number,
            fact.currency,
            fact.amount,
            fact.issued_on,
            fact.due_on,
            fact.content,
            parts,
            fact.payment_terms_days,
            fact.jurisdiction,
            fact.agreed_annual_rate,
        )
        self.invoices[fact.invoice_id] = inv
        before: dict[str, tuple[Decimal, InvoiceStatus]] = {fact.invoice_id: (ZERO, "open")}
        for part in parts:
            self._entry(
                changes,
                inv.invoice_id,
                part.seq,
                inv.currency,
                inv.issued_on,
                "issued",
                part.amount,
                inv.invoice_id,
            )
        for pending in self.pending.pop(fact.invoice_id, []):
            self._apply_pending(changes, inv, pending)
        self._apply_cash(changes, inv)
        for currency in sorted(self.cash):  # cash named for it in another currency is freed
            self._sweep(changes, currency)
        self._close(changes, before, fact.issued_on)
        return changes

    def _apply_pending(self, changes: Changes, inv: Invoice, fact: PendingFact) -> None:
        try:
            if isinstance(fact, IssueCreditNote):
                self._credit(changes, inv, fact)
            elif isinstance(fact, CancelInvoice):
                self._cancel(changes, inv, fact)
            elif isinstance(fact, RaiseDispute):
                self._raise(changes, inv, fact)
            else:
                self._resolve(changes, inv, fact)
        except Refused as refused:
            # The invoice itself is fine; the earlier fact that does not fit it is set aside.
            on = max(inv.issued_on, _fact_date(fact))
            self._anomaly(
                changes, "pending_fact_refused", on, inv.invoice_id, _fact_ref(fact), str(refused)
            )

    def _apply_cash(self, changes: Changes, inv: Invoice) -> None:
        """Apply to a newly arrived invoice the cash earmarked for it (the rest: `_sweep`)."""
        purse = self.cash.get(inv.currency, [])
        for cash in list(purse):
            if cash.earmarked_for == inv.invoice_id:
                self._use_cash(changes, inv, cash)
        for currency, others in self.cash.items():
            for cash in others:
                if currency != inv.currency and cash.earmarked_for == inv.invoice_id:
                    cash.earmarked_for = None
                    self._anomaly(
                        changes,
                        "currency_mismatch",
                        max(cash.received_on, inv.issued_on),
                        inv.invoice_id,
                        cash.ref,
                        f"{cash.amount} {currency} named invoice {inv.invoice_id} in "
                        f"{inv.currency}; "
                        "kept on account",
                    )
        left = [c for c in purse if c.amount > 0]
        if left:
            self.cash[inv.currency] = left
        else:
            self.cash.pop(inv.currency, None)

    def _use_cash(self, changes: Changes, inv: Invoice, cash: Cash) -> None:
        on = max(cash.received_on, inv.issued_on)
        if cash.earmarked_for is not None and cash.amount > inv.outstanding:
            self._anomaly(
                changes,
                "allocation_exceeds_outstanding",
                on,
                inv.invoice_id,
                cash.ref,
                f"{cash.amount} named for {inv.invoice_id}, {inv.outstanding} outstanding; "
                "the rest stays on account",
            )
        cash.earmarked_for = None
        used = self._reduce(changes, inv, cash.amount, on, "unapplied_cash", cash.ref)
        if used > 0:
            cash.amount -= used
            self._entry(
                changes,
                None,
                None,
                inv.currency,
                on,
                "cash_applied",
                used,
                cash.ref,
                inv.invoice_id,
            )

    def _sweep(self, changes: Changes, currency: str) -> None:
        """Apply unearmarked cash on account to open, undisputed instalments, oldest due first.

        Each application is dated when both existed (the cash's date, or the invoice's issue date
        if later): a payment reduces the principal from the day it arrived, even if the ledger
        could only apply it later (the invoice was disputed, then the dispute rejected).
        """
        purse = [c for c in self.cash.get(currency, []) if c.earmarked_for is None]
        if not purse:
            return
        parts = sorted(
            (
                (part.due_on, inv.issued_on, inv.invoice_id, part.seq, inv, part)
                for inv in self.invoices.values()
                if inv.currency == currency and inv.open and not inv.disputes
                for part in inv.instalments
                if part.outstanding > 0
            ),
            key=lambda row: row[:4],
        )
        for _due, _issued, _id, _seq, inv, part in parts:
            for cash in purse:
                take = min(cash.amount, part.outstanding)
                if take <= 0:
                    continue
                on = max(cash.received_on, inv.issued_on)
                part.outstanding -= take
                part.note_payment(on)
                inv.paid += take
                cash.amount -= take
                self._entry(
                    changes,
                    inv.invoice_id,
                    part.seq,
                    currency,
                    on,
                    "unapplied_cash",
                    -take,
                    cash.ref,
                )
                self._entry(
                    changes,
                    None,
                    None,
                    currency,
                    on,
                    "cash_applied",
                    take,
                    cash.ref,
                    inv.invoice_id,
                )
        left = [c for c in self.cash[currency] if c.amount > 0]
        if left:
            self.cash[currency] = left
        else:
            del self.cash[currency]

    def _keep_cash(
        self,
        changes: Changes,
        currency: str,
        ref: str,
        kind: Literal["payment", "credit_note", "released"],
        on: date,
        amount: Decimal,
        earmarked_for: str | None,
    ) -> None:
        self.cash.setdefault(currency, []).append(Cash(ref, kind, on, amount, earmarked_for))
        self._entry(
            changes,
            None,
            None,
            currency,
            on,
            f"{kind}_on_account",
            -amount,
            ref,
            earmarked_for or "",
        )

    def receive_payment(self, fact: ReceivePayment) -> Changes:
        changes = Changes()
        if self._check_seen(fact.payment_id, fact.content, "payment"):
            return changes
        for part in fact.allocations:
            named = self.invoices.get(part.invoice_id)
            if named is not None and named.currency != fact.currency:
                raise Refused(
                    f"payment {fact.payment_id} in {fact.currency} names invoice "
                    f"{part.invoice_id} in {named.currency}"
                )
        self.seen[fact.payment_id] = fact.content
        on = fact.received_on
        touched = [a.invoice_id for a in fact.allocations]
        touched += [
            i for i, inv in self.invoices.items() if inv.currency == fact.currency and inv.open
        ]
        before = self._watch(*touched)
        left = fact.amount
        for part in fact.allocations:
            inv = self.invoices.get(part.invoice_id)
            if inv is None:
                self._keep_cash(
                    changes,
                    fact.currency,
                    fact.payment_id,
                    "payment",
                    on,
                    part.amount,
                    part.invoice_id,
                )
                self._anomaly(
                    changes,
                    "payment_before_invoice",
                    on,
                    part.invoice_id,
                    fact.payment_id,
                    f"{part.amount} {fact.currency} kept for invoice {part.invoice_id} until it "
                    "arrives",
                )
                left -= part.amount
                continue
            if inv.cancelled_on is not None:
                self._anomaly(
                    changes,
                    "payment_to_cancelled_invoice",
                    on,
                    inv.invoice_id,
                    fact.payment_id,
                    f"{part.amount} named for cancelled invoice {inv.invoice_id}; applied as "
                    "unallocated cash",
                )
                continue
            used = self._reduce(changes, inv, part.amount, on, "payment", fact.payment_id)
            if used < part.amount:
                self._anomaly(
                    changes,
                    "allocation_exceeds_outstanding",
                    on,
                    inv.invoice_id,
                    fact.payment_id,
                    f"{part.amount} named for {inv.invoice_id}, {used} applied; the rest applied "
                    "as unallocated cash",
                )
            left -= used
        if left > 0:
            left = self._oldest_first(changes, fact.currency, left, on, fact.payment_id)
        if left > 0:
            self._keep_cash(changes, fact.currency, fact.payment_id, "payment", on, left, None)
            changes.unapplied.append(Unapplied(fact.payment_id, left, fact.currency, on))
            self._anomaly(
                changes,
                "unapplied_cash",
                on,
                None,
                fact.payment_id,
                f"{left} {fact.currency} matched no open invoice; kept on account",
            )
        self._close(changes, before, on)
        return changes

    def _oldest_first(
        self, changes: Changes, currency: str, amount: Decimal, on: date, ref: str
    ) -> Decimal:
        parts = sorted(
            (
                (part.due_on, inv.issued_on, inv.invoice_id, part.seq, inv, part)
                for inv in self.invoices.values()
                if inv.currency == currency and inv.open and not inv.disputes
                for part in inv.instalments
                if part.outstanding > 0
            ),
            key=lambda row: row[:4],
        )
        left = amount
        for _due, _issued, _id, _seq, inv, part in parts:
            if left <= 0:
                break
            take = min(left, part.outstanding)
            part.outstanding -= take
            part.note_payment(max(on, inv.issued_on))
            inv.paid += take
            left -= take
            self._entry(
                changes,
                inv.invoice_id,
                part.seq,
                currency,
                max(on, inv.issued_on),
                "payment",
                -take,
                ref,
            )
        return left

    def issue_credit_note(self, fact: IssueCreditNote) -> Changes:
        changes = Changes()
        if self._check_seen(fact.credit_note_id, fact.content, "credit note"):
            return changes
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self.seen[fact.credit_note_id] = fact.content
            self._defer(changes, fact, fact.issued_on)
            return changes
        self._check_credit(inv, fact)
        self.seen[fact.credit_note_id] = fact.content
        before = self._watch(inv.invoice_id)
        self._credit(changes, inv, fact)
        self._sweep(changes, inv.currency)
        self._close(changes, before, fact.issued_on)
        return changes

    def _check_credit(self, inv: Invoice, fact: IssueCreditNote) -> None:
        if fact.currency != inv.currency:
            raise Refused(
                f"credit note {fact.credit_note_id} in {fact.currency} for invoice "
                f"{inv.invoice_id} in {inv.currency}"
            )
        if inv.cancelled_on is not None:
            raise Refused(
                f"credit note {fact.credit_note_id} for cancelled invoice {inv.invoice_id}"
            )
        creditable = inv.amount - inv.credited
        if fact.amount > creditable:
            raise Refused(
                f"credit note {fact.credit_note_id} of {fact.amount} exceeds the {creditable} "
                f"{inv.currency} still creditable on invoice {inv.invoice_id}"
            )

    def _credit(self, changes: Changes, inv: Invoice, fact: IssueCreditNote) -> None:
        self._check_credit(inv, fact)
        inv.credited += fact.amount
        used = self._reduce(
            changes, inv, fact.amount, fact.issued_on, "credit_note", fact.credit_note_id
        )
        changes.invoices.add(inv.invoice_id)
        excess = fact.amount - used
        if excess > 0:
            on = max(fact.issued_on, inv.issued_on)
            self._keep_cash(
                changes, inv.currency, fact.credit_note_id, "credit_note", on, excess, None
            )
            changes.unapplied.append(Unapplied(fact.credit_note_id, excess, inv.currency, on))
            self._anomaly(
                changes,
                "credit_exceeds_outstanding",
                on,
                inv.invoice_id,
                fact.credit_note_id,
                f"{excess} {inv.currency} of the credit note exceeds what was outstanding; kept on "
                "account",
            )

    def _defer(self, changes: Changes, fact: PendingFact, on: date) -> None:
        waiting = self.pending.setdefault(fact.invoice_id, [])
        if fact in waiting:
            return
        waiting.append(fact)
        self._anomaly(
            changes,
            "fact_before_invoice",
            on,
            fact.invoice_id,
            _fact_ref(fact),
            f"{type(fact).__name__} for unknown invoice {fact.invoice_id} kept until it arrives",
        )

    def cancel_invoice(self, fact: CancelInvoice) -> Changes:
        changes = Changes()
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._defer(changes, fact, fact.cancelled_on)
            return changes
        if inv.cancelled_on is not None:
            return changes
        before = self._watch(inv.invoice_id)
        self._cancel(changes, inv, fact)
        self._sweep(changes, inv.currency)
        self._close(changes, before, fact.cancelled_on)
        return changes

    def _cancel(self, changes: Changes, inv: Invoice, fact: CancelInvoice) -> None:
        if inv.cancelled_on is not None:
            return
        on = max(fact.cancelled_on, inv.issued_on)
        # Cash applied to the invoice goes back to the account, then the remainder is reversed.
        # A credit note's surplus already sits on the account: the buyer gets back what was paid.
        released = min(inv.paid, inv.amount - inv.credited)
        for part in inv.instalments:
            if part.outstanding > 0:
                self._entry(
                    changes,
                    inv.invoice_id,
                    part.seq,
                    inv.currency,
                    on,
                    "cancelled",
                    -part.outstanding,
                    inv.invoice_id,
                    fact.reason,
                )
            part.outstanding = ZERO
        if released > 0:
            self._entry(
                changes,
                inv.invoice_id,
                None,
                inv.currency,
                on,
                "payments_released",
                released,
                inv.invoice_id,
            )
            self._entry(
                changes,
                inv.invoice_id,
                None,
                inv.currency,
                on,
                "cancelled",
                -released,
                inv.invoice_id,
                fact.reason,
            )
            self._keep_cash(changes, inv.currency, inv.invoice_id, "released", on, released, None)
            self._anomaly(
                changes,
                "cancelled_after_payment",
                on,
                inv.invoice_id,
                inv.invoice_id,
                f"{released} {inv.currency} paid on the cancelled invoice kept on account",
            )
            inv.paid = ZERO
        inv.cancelled_on = on
        inv.settled_on = None  # a cancelled invoice was never settled (as the as-of answers say)
        changes.invoices.add(inv.invoice_id)

    def raise_dispute(self, fact: RaiseDispute) -> Changes:
        changes = Changes()
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._defer(changes, fact, fact.raised_on)
            return changes
        if fact.currency != inv.currency:
            raise Refused(
                f"dispute {fact.dispute_id} in {fact.currency} on invoice {inv.invoice_id} in "
                f"{inv.currency}"
            )
        before = self._watch(inv.invoice_id)
        self._raise(changes, inv, fact)
        self._close(changes, before, fact.raised_on)
        return changes

    def _raise(self, changes: Changes, inv: Invoice, fact: RaiseDispute) -> None:
        if fact.currency != inv.currency:
            raise Refused(f"dispute {fact.dispute_id} is not in the invoice's currency")
        on = max(fact.raised_on, inv.issued_on)
        if fact.dispute_id in inv.disputes or fact.dispute_id in self.resolved:
            return
        outcome = self.resolved_early.pop(fact.dispute_id, None)
        self._entry(
            changes,
            inv.invoice_id,
            None,
            inv.currency,
            on,
            "dispute_raised",
            ZERO,
            fact.dispute_id,
            f"{fact.amount} {fact.currency}: {fact.reason}",
        )
        if outcome is not None:
            self._entry(
                changes,
                inv.invoice_id,
                None,
                inv.currency,
                on,
                "dispute_resolved",
                ZERO,
                fact.dispute_id,
                outcome,
            )
            self.resolved[fact.dispute_id] = outcome
            return
        inv.disputes[fact.dispute_id] = fact.amount

    def resolve_dispute(self, fact: ResolveDispute) -> Changes:
        changes = Changes()
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._defer(changes, fact, fact.resolved_on)
            return changes
        before = self._watch(inv.invoice_id)
        self._resolve(changes, inv, fact)
        self._sweep(changes, inv.currency)
        self._close(changes, before, fact.resolved_on)
        return changes

    def _resolve(self, changes: Changes, inv: Invoice, fact: ResolveDispute) -> None:
        on = max(fact.resolved_on, inv.issued_on)
        if fact.dispute_id in self.resolved:
            return
        if fact.dispute_id not in inv.disputes:
            if fact.dispute_id not in self.resolved_early:
                self.resolved_early[fact.dispute_id] = fact.outcome
                self._mark_correction(changes, inv, fact, on)
                self._anomaly(
                    changes,
                    "resolution_before_dispute",
                    on,
                    inv.invoice_id,
                    fact.dispute_id,
                    f"dispute {fact.dispute_id} resolved ({fact.outcome}) before it was raised",
                )
            return
        del inv.disputes[fact.dispute_id]
        self.resolved[fact.dispute_id] = fact.outcome
        self._entry(
            changes,
            inv.invoice_id,
            None,
            inv.currency,
            on,
            "dispute_resolved",
            ZERO,
            fact.dispute_id,
            fact.outcome,
        )
        self._mark_correction(changes, inv, fact, on)

    def _mark_correction(
        self, changes: Changes, inv: Invoice, fact: ResolveDispute, on: date
    ) -> None:
        """An upheld dispute names the credit note that corrects the invoice (in either order)."""
        if fact.outcome != "upheld" or fact.credit_note_id is None:
            return
        self._entry(
            changes,
            inv.invoice_id,
            None,
            inv.currency,
            on,
            CORRECTION,
            ZERO,
            fact.credit_note_id,
            fact.dispute_id,
        )

    def start_business_day(self, business_date: date) -> Changes:
        """Announce instalments that became overdue or crossed into a later bucket by this date."""
        changes = Changes()
        watched = [i for i, inv in self.invoices.items() if inv.open and not inv.disputes]
        before = self._watch(*watched)
        # Accounts kept before cash on account was swept after every fact are settled here, so
        # cash on account never lets an invoice it covers be announced overdue.
        for currency in sorted(self.cash):
            self._sweep(changes, currency)
        for invoice_id in sorted(watched):
            inv = self.invoices[invoice_id]
            for part in sorted(inv.instalments, key=lambda i: (i.due_on, i.seq)):
                if part.outstanding <= 0:
                    continue
                days = (business_date - part.due_on).days
                level = overdue_level(days)
                if level <= part.alerted:
                    continue
                part.alerted = level
                bucket = BUCKETS[level]
                changes.overdue.append(
                    Overdue(
                        invoice_id,
                        inv.public_seq(part),
                        part.due_on,
                        part.outstanding,
                        inv.currency,
                        days,
                        bucket,
                        business_date,
                    )
                )
                self._entry(
                    changes,
                    invoice_id,
                    part.seq,
                    inv.currency,
                    business_date,
                    "overdue",
                    ZERO,
                    invoice_id,
                    bucket,
                )
        self._close(changes, before, business_date)
        return changes


def _fact_date(fact: PendingFact) -> date:
    if isinstance(fact, IssueCreditNote):
        return fact.issued_on
    if isinstance(fact, CancelInvoice):
        return fact.cancelled_on
    if isinstance(fact, RaiseDispute):
        return fact.raised_on
    return fact.resolved_on


def _fact_ref(fact: PendingFact) -> str:
    if isinstance(fact, IssueCreditNote):
        return fact.credit_note_id
    if isinstance(fact, (RaiseDispute, ResolveDispute)):
        return fact.dispute_id
    return fact.invoice_id
