"""`decide(state, command) -> events`: the receivables rules of one buyer (pure).

`decide` computes on a working copy of the state (mutable, thrown away) and records, at every
change it makes, the domain event that says what happened; `evolve` applies those events to the
frozen state, so the kernel's state is derived from the events alone (a test checks that it equals
the working copy after every decision). A refused fact raises `Refused` before any event.

This module is over 400 lines for a reason: it is one aggregate's rules, each operation sharing the
same few helpers (reduce, sweep, close), kept together so they read as one consistent set.

Rules taken here (documented judgement calls, each recorded as an anomaly where it happens):
- A payment applies to the invoices it names (capped at their outstanding amount), the rest oldest
  due date first over open, undisputed invoices in the payment's currency; what is left stays on the
  account as unapplied cash and is applied to the next invoice in that currency that arrives.
- A fact naming an invoice not yet known (payment allocation, credit note, cancellation, dispute) is
  kept and applied when the invoice arrives, dated no earlier than the invoice's issue date.
- A credit note may not exceed the invoice's amount less earlier credit notes; what exceeds the
  outstanding amount (the invoice was already paid) stays on the account as a credit.
- Cancelling an invoice with cash applied releases that cash to the account.
- Writing an invoice off (a bad debt) takes what is left unpaid out of the receivables; what was
  paid stays paid. A payment naming it afterwards is a recovery, applied as unallocated cash.
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
- A disputed invoice stays in the receivables, flagged; it is not chosen for unallocated cash. It is
  announced overdue like any other, flagged `disputed`: the credit insurer must hear of it (the
  notification deadline runs regardless), while dunning pauses on a dispute by its own rule.
- A payment that leaves an invoice's principal unpaid goes first to the costs and the interest
  accrued up to its day where the invoice's law orders it (BGB § 367, Code civil art. 1343-1,
  Civil Code art. 561: `settlement`); one that pays off the principal still owed settles it. The
  law is the invoice's contract terms, else the tenant's (`AdoptTenantLaw`, refreshed by each
  business day), else the statute of its currency.
- Overdue is decided by business-day ticks: an instalment is announced once when it becomes overdue
  and again on crossing into 31-60, 61-90 and 90+ (a tick that skips buckets announces the current).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arshield_events.ledger import InvoiceStatus
from arshield_latepay import ReferenceRates
from arshield_ledger.domain.commands import (
    AdoptTenantLaw,
    CancelInvoice,
    Command,
    InstalmentTerms,
    IssueCreditNote,
    IssueInvoice,
    PendingFact,
    RaiseDispute,
    ReceivePayment,
    ResolveDispute,
    TenantLaw,
    WriteOffInvoice,
)
from arshield_ledger.domain.events import (
    Anomaly,
    AnomalyRecorded,
    CashDrawn,
    CashExhausted,
    CashReleasedFromEarmark,
    DeferredFactsTaken,
    DisputeClosed,
    DisputeOpened,
    Entry,
    EntryPosted,
    Event,
    FactAccepted,
    FactDeferred,
    InstalmentAnnouncedOverdue,
    InvoiceBalanceChanged,
    InvoiceCancelled,
    InvoiceCredited,
    InvoiceRecorded,
    InvoiceSettled,
    InvoiceWrittenOff,
    PaymentLeftUnapplied,
    ResolutionHeld,
    TenantLawAdopted,
)
from arshield_ledger.domain.evolve import MOVES_INSTALMENT
from arshield_ledger.domain.interest import InvoiceTerms
from arshield_ledger.domain.settlement import (
    COSTS_CHARGED,
    COSTS_SETTLED,
    INTEREST_CHARGED,
    INTEREST_SETTLED,
    PartHistory,
    corrected_moves,
    shipped_rates,
)
from arshield_ledger.domain.settlement import split as settle_split
from arshield_ledger.domain.state import (
    BUCKETS,
    CORRECTION,
    ZERO,
    BuyerLedger,
    CashKind,
    derive_status,
    instalment_days_late,
    invoice_days_late,
    invoice_outstanding,
    overdue_level,
)


class Refused(Exception):  # noqa: N818 - a verdict on the input, not a program error
    """The fact is refused (bad input); the state is unchanged and no event is decided."""


def decide(
    state: BuyerLedger, command: Command, rates: ReferenceRates | None = None
) -> list[Event]:
    """The events that `command` means for the buyer in `state` (none: nothing changes);
    `rates`: the reference rates a partial payment's interest is computed with (the shipped
    tables by default)."""
    return work(state, command, rates).events


def work(state: BuyerLedger, command: Command, rates: ReferenceRates | None = None) -> Account:
    """The working copy after `command`, with the events it recorded (tests compare it with the
    state `evolve` derives from those events)."""
    account = Account.of(state)
    account.rates = rates or shipped_rates()
    if isinstance(command, AdoptTenantLaw):
        account.adopt_law(command.law)
    elif isinstance(command, IssueInvoice):
        account.issue(command)
    elif isinstance(command, ReceivePayment):
        account.receive_payment(command)
    elif isinstance(command, IssueCreditNote):
        account.issue_credit_note(command)
    elif isinstance(command, CancelInvoice):
        account.cancel_invoice(command)
    elif isinstance(command, WriteOffInvoice):
        account.write_off(command)
    elif isinstance(command, RaiseDispute):
        account.raise_dispute(command)
    elif isinstance(command, ResolveDispute):
        account.resolve_dispute(command)
    else:
        if command.law is not None:
            account.adopt_law(command.law)
        account.start_business_day(command.business_date)
    return account


# -- the working copy ---------------------------------------------------------------------------


@dataclass
class Instalment:
    seq: int
    due_on: date
    amount: Decimal
    outstanding: Decimal
    alerted: int = 0
    paid_on: date | None = None
    moves: list[tuple[date, Decimal]] = field(default_factory=list)

    @property
    def days_late(self) -> int | None:
        return instalment_days_late(self)

    def note_payment(self, on: date) -> None:
        self.paid_on = on if self.paid_on is None else max(self.paid_on, on)


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
    signed_on: date | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None
    written_off_on: date | None = None
    costs_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    credit_moves: list[tuple[str, int, date, Decimal]] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)

    @property
    def terms(self) -> InvoiceTerms:
        return InvoiceTerms(
            self.currency,
            self.amount,
            self.issued_on,
            self.jurisdiction,
            self.agreed_annual_rate,
            self.signed_on,
            self.creditor_is_sme,
            self.debtor_is_large_or_public,
        )

    @property
    def parts(self) -> tuple[Instalment, ...]:
        return tuple(self.instalments)

    @property
    def outstanding(self) -> Decimal:
        return invoice_outstanding(self)

    @property
    def days_late(self) -> int | None:
        return invoice_days_late(self)

    @property
    def open(self) -> bool:
        return self.cancelled_on is None and self.outstanding > 0


@dataclass
class Cash:
    cash_no: int
    ref: str
    kind: CashKind
    received_on: date
    amount: Decimal
    earmarked_for: str | None = None


@dataclass
class Account:
    """A mutable working copy of a `BuyerLedger` that records the events of its changes."""

    invoices: dict[str, Invoice] = field(default_factory=dict)
    cash: dict[str, list[Cash]] = field(default_factory=dict)
    pending: dict[str, list[PendingFact]] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    resolved_early: dict[str, str] = field(default_factory=dict)
    resolved: dict[str, str] = field(default_factory=dict)
    entry_no: int = 0
    anomaly_no: int = 0
    tenant_jurisdiction: str | None = None
    tenant_is_sme: bool | None = None
    law_adopted: bool = False
    rates: ReferenceRates | None = field(default=None, compare=False)
    events: list[Event] = field(default_factory=list, compare=False)
    entries: list[Entry] = field(default_factory=list, compare=False)
    touched: set[str] = field(default_factory=set, compare=False)
    """Invoices whose state changed in this decision."""

    @classmethod
    def of(cls, state: BuyerLedger) -> Account:
        return cls(
            invoices={
                i: Invoice(
                    inv.invoice_id,
                    inv.invoice_number,
                    inv.currency,
                    inv.amount,
                    inv.issued_on,
                    inv.due_on,
                    inv.content,
                    [
                        Instalment(
                            p.seq,
                            p.due_on,
                            p.amount,
                            p.outstanding,
                            p.alerted,
                            p.paid_on,
                            list(p.moves),
                        )
                        for p in inv.instalments
                    ],
                    inv.payment_terms_days,
                    inv.jurisdiction,
                    inv.agreed_annual_rate,
                    inv.paid,
                    inv.credited,
                    inv.cancelled_on,
                    dict(inv.disputes),
                    inv.settled_on,
                    inv.status,
                    signed_on=inv.signed_on,
                    creditor_is_sme=inv.creditor_is_sme,
                    debtor_is_large_or_public=inv.debtor_is_large_or_public,
                    written_off_on=inv.written_off_on,
                    costs_paid=inv.costs_paid,
                    interest_paid=inv.interest_paid,
                    credit_moves=list(inv.credit_moves),
                    corrections=list(inv.corrections),
                )
                for i, inv in state.invoices.items()
            },
            cash={
                currency: [Cash(**c.model_dump()) for c in purse]
                for currency, purse in state.cash.items()
            },
            pending={i: list(facts) for i, facts in state.pending.items()},
            seen=dict(state.seen),
            resolved_early=dict(state.resolved_early),
            resolved=dict(state.resolved),
            entry_no=state.entry_no,
            anomaly_no=state.anomaly_no,
            tenant_jurisdiction=state.tenant_jurisdiction,
            tenant_is_sme=state.tenant_is_sme,
            law_adopted=state.law_adopted,
        )

    def unapplied(self, currency: str) -> Decimal:
        return sum((c.amount for c in self.cash.get(currency, [])), ZERO)

    # -- helpers ------------------------------------------------------------------------------
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
        entry = Entry(self.entry_no, invoice_id, seq, currency, on, kind, amount, ref, detail)
        self.entries.append(entry)
        self.events.append(EntryPosted(entry))
        if invoice_id is not None:
            self.touched.add(invoice_id)
            if kind == CORRECTION:
                self.invoices[invoice_id].corrections.append(ref)
            if kind == "credit_note" and seq is not None:
                self.invoices[invoice_id].credit_moves.append((ref, seq, on, amount))
            if seq is not None and kind in MOVES_INSTALMENT:
                for part in self.invoices[invoice_id].instalments:
                    if part.seq == seq:
                        part.moves.append((on, amount))

    def adopt_law(self, law: TenantLaw) -> None:
        """The tenant's law in force (for invoices without contract terms) from now on."""
        if self.law_adopted and (self.tenant_jurisdiction, self.tenant_is_sme) == (
            law.jurisdiction,
            law.is_sme,
        ):
            return
        self.tenant_jurisdiction, self.tenant_is_sme = law.jurisdiction, law.is_sme
        self.law_adopted = True
        self.events.append(TenantLawAdopted(law.jurisdiction, law.is_sme))

    def _settle_first(self, inv: Invoice, offered: Decimal, on: date, ref: str) -> Decimal:
        """What of `offered` (money for `inv`, applied on `on`) settles costs and interest before
        the principal (`settlement`): posted as `*_charged` / `*_settled` pairs and counted as
        paid. Zero where the law orders nothing, or `offered` pays off the principal owed."""
        if offered <= 0 or offered >= inv.outstanding or not inv.open:
            return ZERO
        split = settle_split(
            inv.terms,
            [
                PartHistory(
                    p.due_on,
                    p.amount,
                    corrected_moves(p.seq, p.due_on, p.moves, inv.credit_moves, inv.corrections),
                    p.outstanding,
                )
                for p in inv.instalments
            ],
            offered,
            costs_paid=inv.costs_paid,
            interest_paid=inv.interest_paid,
            on=on,
            tenant=TenantLaw(self.tenant_jurisdiction, self.tenant_is_sme),
            rates=self.rates or shipped_rates(),
        )
        if split is None:
            return ZERO
        for amount, charged, settled in (
            (split.costs, COSTS_CHARGED, COSTS_SETTLED),
            (split.interest, INTEREST_CHARGED, INTEREST_SETTLED),
        ):
            if amount <= 0:
                continue
            self._entry(inv.invoice_id, None, inv.currency, on, charged, amount, ref, split.rule)
            self._entry(inv.invoice_id, None, inv.currency, on, settled, -amount, ref, split.rule)
        inv.costs_paid += split.costs
        inv.interest_paid += split.interest
        inv.paid += split.costs + split.interest
        return split.costs + split.interest

    def _anomaly(self, kind: str, on: date, invoice_id: str | None, ref: str, detail: str) -> None:
        self.anomaly_no += 1
        anomaly = Anomaly(self.anomaly_no, kind, on, invoice_id, ref, detail)
        self.events.append(AnomalyRecorded(anomaly))

    def _accept(self, fact_id: str, content: str) -> None:
        self.seen[fact_id] = content
        self.events.append(FactAccepted(fact_id, content))

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

    def _close(self, before: dict[str, tuple[Decimal, InvoiceStatus]], on: date) -> None:
        """Re-derive statuses of touched invoices; report balance changes and settlements."""
        for invoice_id in sorted(self.touched):
            inv = self.invoices[invoice_id]
            inv.status = derive_status(inv)
            # Only payment settles; an invoice closed by credit notes alone is `credited`.
            if inv.status == "paid" and inv.settled_on is None:
                inv.settled_on = max(
                    (
                        e.effective_on
                        for e in self.entries
                        if e.invoice_id == invoice_id and e.amount < 0
                    ),
                    default=max(on, inv.issued_on),
                )
                self.events.append(
                    InvoiceSettled(
                        invoice_id, inv.settled_on, inv.days_late or 0, inv.paid, inv.currency
                    )
                )
            if before.get(invoice_id) != (inv.outstanding, inv.status):
                self.events.append(
                    InvoiceBalanceChanged(invoice_id, inv.outstanding, inv.currency, inv.status, on)
                )

    def _reduce(
        self,
        inv: Invoice,
        amount: Decimal,
        on: date,
        kind: str,
        ref: str,
    ) -> Decimal:
        """Reduce the instalments oldest due first by up to `amount`; returns the part used."""
        effective = max(on, inv.issued_on)
        paying = kind in ("payment", "unapplied_cash")
        first = self._settle_first(inv, amount, effective, ref) if paying else ZERO
        left = amount - first
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
            self._entry(inv.invoice_id, part.seq, inv.currency, effective, kind, -take, ref)
        if paying:
            inv.paid += amount - first - left
        return amount - left

    # -- operations ---------------------------------------------------------------------------
    def issue(self, fact: IssueInvoice) -> None:
        known = self.invoices.get(fact.invoice_id)
        if known is not None:
            if known.content == fact.content:
                return
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
            signed_on=fact.signed_on,
            creditor_is_sme=fact.creditor_is_sme,
            debtor_is_large_or_public=fact.debtor_is_large_or_public,
        )
        self.invoices[fact.invoice_id] = inv
        self.events.append(
            InvoiceRecorded(
                fact.invoice_id,
                fact.invoice_number,
                fact.currency,
                fact.amount,
                fact.issued_on,
                fact.due_on,
                fact.content,
                tuple(InstalmentTerms(p.seq, p.due_on, p.amount) for p in parts),
                fact.payment_terms_days,
                fact.jurisdiction,
                fact.agreed_annual_rate,
                signed_on=fact.signed_on,
                creditor_is_sme=fact.creditor_is_sme,
                debtor_is_large_or_public=fact.debtor_is_large_or_public,
            )
        )
        before: dict[str, tuple[Decimal, InvoiceStatus]] = {fact.invoice_id: (ZERO, "open")}
        for part in parts:
            self._entry(
                inv.invoice_id,
                part.seq,
                inv.currency,
                inv.issued_on,
                "issued",
                part.amount,
                inv.invoice_id,
            )
        waiting = self.pending.pop(fact.invoice_id, [])
        if waiting:
            self.events.append(DeferredFactsTaken(fact.invoice_id))
        for pending in waiting:
            self._apply_pending(inv, pending)
        self._apply_cash(inv)
        for currency in sorted(self.cash):  # cash named for it in another currency is freed
            self._sweep(currency)
        self._close(before, fact.issued_on)
        return

    def _apply_pending(self, inv: Invoice, fact: PendingFact) -> None:
        try:
            if isinstance(fact, IssueCreditNote):
                self._credit(inv, fact)
            elif isinstance(fact, CancelInvoice):
                self._cancel(inv, fact)
            elif isinstance(fact, WriteOffInvoice):
                self._write_off(inv, fact)
            elif isinstance(fact, RaiseDispute):
                self._raise(inv, fact)
            else:
                self._resolve(inv, fact)
        except Refused as refused:
            # The invoice itself is fine; the earlier fact that does not fit it is set aside.
            on = max(inv.issued_on, _fact_date(fact))
            self._anomaly("pending_fact_refused", on, inv.invoice_id, _fact_ref(fact), str(refused))

    def _apply_cash(self, inv: Invoice) -> None:
        """Apply to a newly arrived invoice the cash earmarked for it (the rest: `_sweep`)."""
        purse = self.cash.get(inv.currency, [])
        for cash in list(purse):
            if cash.earmarked_for == inv.invoice_id:
                self._use_cash(inv, cash)
        for currency, others in self.cash.items():
            for cash in others:
                if currency != inv.currency and cash.earmarked_for == inv.invoice_id:
                    cash.earmarked_for = None
                    self.events.append(CashReleasedFromEarmark(currency, cash.cash_no))
                    self._anomaly(
                        "currency_mismatch",
                        max(cash.received_on, inv.issued_on),
                        inv.invoice_id,
                        cash.ref,
                        f"{cash.amount} {currency} named invoice {inv.invoice_id} in "
                        f"{inv.currency}; "
                        "kept on account",
                    )
        self._drop_exhausted(inv.currency)

    def _use_cash(self, inv: Invoice, cash: Cash) -> None:
        on = max(cash.received_on, inv.issued_on)
        if cash.earmarked_for is not None and cash.amount > inv.outstanding:
            self._anomaly(
                "allocation_exceeds_outstanding",
                on,
                inv.invoice_id,
                cash.ref,
                f"{cash.amount} named for {inv.invoice_id}, {inv.outstanding} outstanding; "
                "the rest stays on account",
            )
        if cash.earmarked_for is not None:
            cash.earmarked_for = None
            self.events.append(CashReleasedFromEarmark(inv.currency, cash.cash_no))
        used = self._reduce(inv, cash.amount, on, "unapplied_cash", cash.ref)
        if used > 0:
            cash.amount -= used
            self.events.append(CashDrawn(inv.currency, cash.cash_no, used))
            self._entry(
                None,
                None,
                inv.currency,
                on,
                "cash_applied",
                used,
                cash.ref,
                inv.invoice_id,
            )

    def _sweep(self, currency: str) -> None:
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
                if cash.amount <= 0 or part.outstanding <= 0:
                    continue
                on = max(cash.received_on, inv.issued_on)
                first = self._settle_first(inv, cash.amount, on, cash.ref)
                take = min(cash.amount - first, part.outstanding)
                drawn = first + max(take, ZERO)
                if drawn <= 0:
                    continue
                cash.amount -= drawn
                self.events.append(CashDrawn(currency, cash.cash_no, drawn))
                if take > 0:
                    part.outstanding -= take
                    part.note_payment(on)
                    inv.paid += take
                    self._entry(
                        inv.invoice_id,
                        part.seq,
                        currency,
                        on,
                        "unapplied_cash",
                        -take,
                        cash.ref,
                    )
                self._entry(
                    None,
                    None,
                    currency,
                    on,
                    "cash_applied",
                    drawn,
                    cash.ref,
                    inv.invoice_id,
                )
        self._drop_exhausted(currency)

    def _drop_exhausted(self, currency: str) -> None:
        purse = self.cash.get(currency)
        if purse is None:
            return
        for cash in purse:
            if cash.amount <= 0:
                self.events.append(CashExhausted(currency, cash.cash_no))
        left = [c for c in purse if c.amount > 0]
        if left:
            self.cash[currency] = left
        else:
            del self.cash[currency]

    def _keep_cash(
        self,
        currency: str,
        ref: str,
        kind: CashKind,
        on: date,
        amount: Decimal,
        earmarked_for: str | None,
    ) -> None:
        """Put cash on the account (its `*_on_account` entry numbers it and says it all)."""
        self._entry(
            None,
            None,
            currency,
            on,
            f"{kind}_on_account",
            -amount,
            ref,
            earmarked_for or "",
        )
        cash = Cash(self.entry_no, ref, kind, on, amount, earmarked_for)
        self.cash.setdefault(currency, []).append(cash)

    def receive_payment(self, fact: ReceivePayment) -> None:
        if self._check_seen(fact.payment_id, fact.content, "payment"):
            return
        for part in fact.allocations:
            named = self.invoices.get(part.invoice_id)
            if named is not None and named.currency != fact.currency:
                raise Refused(
                    f"payment {fact.payment_id} in {fact.currency} names invoice "
                    f"{part.invoice_id} in {named.currency}"
                )
        self._accept(fact.payment_id, fact.content)
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
                    fact.currency,
                    fact.payment_id,
                    "payment",
                    on,
                    part.amount,
                    part.invoice_id,
                )
                self._anomaly(
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
                    "payment_to_cancelled_invoice",
                    on,
                    inv.invoice_id,
                    fact.payment_id,
                    f"{part.amount} named for cancelled invoice {inv.invoice_id}; applied as "
                    "unallocated cash",
                )
                continue
            if inv.written_off_on is not None:
                self._anomaly(
                    "payment_to_written_off_invoice",
                    on,
                    inv.invoice_id,
                    fact.payment_id,
                    f"{part.amount} named for {inv.invoice_id}, written off on "
                    f"{inv.written_off_on}: a recovery, applied as unallocated cash",
                )
                continue
            used = self._reduce(inv, part.amount, on, "payment", fact.payment_id)
            if used < part.amount:
                self._anomaly(
                    "allocation_exceeds_outstanding",
                    on,
                    inv.invoice_id,
                    fact.payment_id,
                    f"{part.amount} named for {inv.invoice_id}, {used} applied; the rest applied "
                    "as unallocated cash",
                )
            left -= used
        if left > 0:
            left = self._oldest_first(fact.currency, left, on, fact.payment_id)
        if left > 0:
            self._keep_cash(fact.currency, fact.payment_id, "payment", on, left, None)
            self.events.append(PaymentLeftUnapplied(fact.payment_id, left, fact.currency, on))
            self._anomaly(
                "unapplied_cash",
                on,
                None,
                fact.payment_id,
                f"{left} {fact.currency} matched no open invoice; kept on account",
            )
        self._close(before, on)
        return

    def _oldest_first(self, currency: str, amount: Decimal, on: date, ref: str) -> Decimal:
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
            left -= self._settle_first(inv, left, max(on, inv.issued_on), ref)
            if left <= 0:
                break
            take = min(left, part.outstanding)
            if take <= 0:
                continue
            part.outstanding -= take
            part.note_payment(max(on, inv.issued_on))
            inv.paid += take
            left -= take
            self._entry(
                inv.invoice_id,
                part.seq,
                currency,
                max(on, inv.issued_on),
                "payment",
                -take,
                ref,
            )
        return left

    def issue_credit_note(self, fact: IssueCreditNote) -> None:
        if self._check_seen(fact.credit_note_id, fact.content, "credit note"):
            return
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._accept(fact.credit_note_id, fact.content)
            self._defer(fact, fact.issued_on)
            return
        self._check_credit(inv, fact)
        self._accept(fact.credit_note_id, fact.content)
        before = self._watch(inv.invoice_id)
        self._credit(inv, fact)
        self._sweep(inv.currency)
        self._close(before, fact.issued_on)
        return

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

    def _credit(self, inv: Invoice, fact: IssueCreditNote) -> None:
        self._check_credit(inv, fact)
        inv.credited += fact.amount
        self.events.append(InvoiceCredited(inv.invoice_id, fact.credit_note_id, fact.amount))
        used = self._reduce(inv, fact.amount, fact.issued_on, "credit_note", fact.credit_note_id)
        self.touched.add(inv.invoice_id)
        excess = fact.amount - used
        if excess > 0:
            on = max(fact.issued_on, inv.issued_on)
            self._keep_cash(inv.currency, fact.credit_note_id, "credit_note", on, excess, None)
            self.events.append(PaymentLeftUnapplied(fact.credit_note_id, excess, inv.currency, on))
            self._anomaly(
                "credit_exceeds_outstanding",
                on,
                inv.invoice_id,
                fact.credit_note_id,
                f"{excess} {inv.currency} of the credit note exceeds what was outstanding; kept on "
                "account",
            )

    def _defer(self, fact: PendingFact, on: date) -> None:
        waiting = self.pending.setdefault(fact.invoice_id, [])
        if fact in waiting:
            return
        waiting.append(fact)
        self.events.append(FactDeferred(fact))
        self._anomaly(
            "fact_before_invoice",
            on,
            fact.invoice_id,
            _fact_ref(fact),
            f"{type(fact).__name__} for unknown invoice {fact.invoice_id} kept until it arrives",
        )

    def cancel_invoice(self, fact: CancelInvoice) -> None:
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._defer(fact, fact.cancelled_on)
            return
        if inv.cancelled_on is not None:
            return
        before = self._watch(inv.invoice_id)
        self._cancel(inv, fact)
        self._sweep(inv.currency)
        self._close(before, fact.cancelled_on)
        return

    def _cancel(self, inv: Invoice, fact: CancelInvoice) -> None:
        if inv.cancelled_on is not None:
            return
        on = max(fact.cancelled_on, inv.issued_on)
        # Cash applied to the invoice goes back to the account, then the remainder is reversed.
        # A credit note's surplus already sits on the account: the buyer gets back what was paid.
        released = min(inv.paid, inv.amount - inv.credited)
        self._clear(inv, on, "cancelled", fact.reason)
        if released > 0:
            self._entry(
                inv.invoice_id,
                None,
                inv.currency,
                on,
                "payments_released",
                released,
                inv.invoice_id,
            )
            self._entry(
                inv.invoice_id,
                None,
                inv.currency,
                on,
                "cancelled",
                -released,
                inv.invoice_id,
                fact.reason,
            )
            self._keep_cash(inv.currency, inv.invoice_id, "released", on, released, None)
            self._anomaly(
                "cancelled_after_payment",
                on,
                inv.invoice_id,
                inv.invoice_id,
                f"{released} {inv.currency} paid on the cancelled invoice kept on account",
            )
            inv.paid = ZERO
        inv.cancelled_on = on
        inv.settled_on = None  # a cancelled invoice was never settled (as the as-of answers say)
        self.events.append(InvoiceCancelled(inv.invoice_id, on))
        self.touched.add(inv.invoice_id)

    def write_off(self, fact: WriteOffInvoice) -> None:
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._defer(fact, fact.written_off_on)
            return
        before = self._watch(inv.invoice_id)
        self._write_off(inv, fact)
        self._close(before, fact.written_off_on)

    def _write_off(self, inv: Invoice, fact: WriteOffInvoice) -> None:
        """What is left unpaid leaves the receivables as a bad debt; what was paid stays paid."""
        if inv.written_off_on is not None or inv.cancelled_on is not None:
            return
        on = max(fact.written_off_on, inv.issued_on)
        if inv.outstanding <= 0:
            self._anomaly(
                "write_off_of_closed_invoice",
                on,
                inv.invoice_id,
                inv.invoice_id,
                f"nothing left to write off on a {inv.status} invoice: {fact.reason}",
            )
            return
        self._clear(inv, on, "written_off", fact.reason)
        inv.written_off_on = on
        self.events.append(InvoiceWrittenOff(inv.invoice_id, on))
        self.touched.add(inv.invoice_id)

    def _clear(self, inv: Invoice, on: date, kind: str, reason: str) -> None:
        """Every instalment's outstanding amount taken off by an entry of `kind`."""
        for part in inv.instalments:
            if part.outstanding > 0:
                self._entry(
                    inv.invoice_id,
                    part.seq,
                    inv.currency,
                    on,
                    kind,
                    -part.outstanding,
                    inv.invoice_id,
                    reason,
                )
            part.outstanding = ZERO

    def raise_dispute(self, fact: RaiseDispute) -> None:
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._defer(fact, fact.raised_on)
            return
        if fact.currency != inv.currency:
            raise Refused(
                f"dispute {fact.dispute_id} in {fact.currency} on invoice {inv.invoice_id} in "
                f"{inv.currency}"
            )
        before = self._watch(inv.invoice_id)
        self._raise(inv, fact)
        self._close(before, fact.raised_on)
        return

    def _raise(self, inv: Invoice, fact: RaiseDispute) -> None:
        if fact.currency != inv.currency:
            raise Refused(f"dispute {fact.dispute_id} is not in the invoice's currency")
        on = max(fact.raised_on, inv.issued_on)
        if fact.dispute_id in inv.disputes or fact.dispute_id in self.resolved:
            return
        outcome = self.resolved_early.pop(fact.dispute_id, None)
        self._entry(
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
            self.events.append(
                DisputeClosed(inv.invoice_id, fact.dispute_id, outcome, resolution_was_held=True)
            )
            return
        inv.disputes[fact.dispute_id] = fact.amount
        self.events.append(DisputeOpened(inv.invoice_id, fact.dispute_id, fact.amount))

    def resolve_dispute(self, fact: ResolveDispute) -> None:
        inv = self.invoices.get(fact.invoice_id)
        if inv is None:
            self._defer(fact, fact.resolved_on)
            return
        before = self._watch(inv.invoice_id)
        self._resolve(inv, fact)
        self._sweep(inv.currency)
        self._close(before, fact.resolved_on)
        return

    def _resolve(self, inv: Invoice, fact: ResolveDispute) -> None:
        on = max(fact.resolved_on, inv.issued_on)
        if fact.dispute_id in self.resolved:
            return
        if fact.dispute_id not in inv.disputes:
            if fact.dispute_id not in self.resolved_early:
                self.resolved_early[fact.dispute_id] = fact.outcome
                self.events.append(ResolutionHeld(fact.dispute_id, fact.outcome))
                self._mark_correction(inv, fact, on)
                self._anomaly(
                    "resolution_before_dispute",
                    on,
                    inv.invoice_id,
                    fact.dispute_id,
                    f"dispute {fact.dispute_id} resolved ({fact.outcome}) before it was raised",
                )
            return
        del inv.disputes[fact.dispute_id]
        self.resolved[fact.dispute_id] = fact.outcome
        self.events.append(DisputeClosed(inv.invoice_id, fact.dispute_id, fact.outcome))
        self._entry(
            inv.invoice_id,
            None,
            inv.currency,
            on,
            "dispute_resolved",
            ZERO,
            fact.dispute_id,
            fact.outcome,
        )
        self._mark_correction(inv, fact, on)

    def _mark_correction(self, inv: Invoice, fact: ResolveDispute, on: date) -> None:
        """An upheld dispute names the credit note that corrects the invoice (in either order)."""
        if fact.outcome != "upheld" or fact.credit_note_id is None:
            return
        self._entry(
            inv.invoice_id,
            None,
            inv.currency,
            on,
            CORRECTION,
            ZERO,
            fact.credit_note_id,
            fact.dispute_id,
        )

    def start_business_day(self, business_date: date) -> None:
        """Announce instalments that became overdue or crossed into a later bucket by this date."""
        watched = [i for i, inv in self.invoices.items() if inv.open]
        before = self._watch(*watched)
        # Accounts kept before cash on account was swept after every fact are settled here, so
        # cash on account never lets an invoice it covers be announced overdue.
        for currency in sorted(self.cash):
            self._sweep(currency)
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
                self.events.append(
                    InstalmentAnnouncedOverdue(
                        invoice_id,
                        part.seq,
                        part.due_on,
                        part.outstanding,
                        inv.currency,
                        days,
                        bucket,
                        level,
                        business_date,
                        disputed=bool(inv.disputes),
                    )
                )
                self._entry(
                    invoice_id,
                    part.seq,
                    inv.currency,
                    business_date,
                    "overdue",
                    ZERO,
                    invoice_id,
                    bucket,
                )
        self._close(before, business_date)


def _fact_date(fact: PendingFact) -> date:
    if isinstance(fact, IssueCreditNote):
        return fact.issued_on
    if isinstance(fact, CancelInvoice):
        return fact.cancelled_on
    if isinstance(fact, WriteOffInvoice):
        return fact.written_off_on
    if isinstance(fact, RaiseDispute):
        return fact.raised_on
    return fact.resolved_on


def _fact_ref(fact: PendingFact) -> str:
    if isinstance(fact, IssueCreditNote):
        return fact.credit_note_id
    if isinstance(fact, (RaiseDispute, ResolveDispute)):
        return fact.dispute_id
    return fact.invoice_id
