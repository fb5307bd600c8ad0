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
    costs: Decimal = ZERO
    """What of a payment the invoice's law settled of the fixed compensation before the
    principal (BGB § 367, Civil Code art. 561), as the ledger applied it."""
    interest: Decimal = ZERO
    """What of a payment the invoice's law settled of the interest before the principal."""
    split: bool = False
    """Whether the law's split of a payment is decided (on the first business day that sees it)."""

    @property
    def principal(self) -> Decimal:
        """What of the reduction lowered the principal (the principal bearing interest)."""
        return self.amount - self.costs - self.interest


class LedgerNote(Frozen):
    """What the ledger said the invoice still owed, from `on`."""

    on: date
    outstanding: Decimal


class InstalmentTerms(Frozen):
    """A part of the invoice that falls due on its own date (the ERP's instalment)."""

    seq: int
    due_on: date
    amount: Decimal


class DuePart(Frozen):
    """One amount falling due on one date (an instalment, or the whole invoice as `seq` 0) and
    what of it dunning pursues, end of day by day: each `balances` entry holds from its date."""

    seq: int
    due_on: date
    amount: Decimal
    balances: tuple[LedgerNote, ...]

    @property
    def outstanding(self) -> Decimal:
        return self.balances[-1].outstanding if self.balances else self.amount


def _backdated(
    notes: list[LedgerNote], amount: Decimal, since: date, until: date
) -> list[LedgerNote]:
    """`notes` with `amount` less owed from `since` up to (not including) `until`."""
    if since >= until:
        return notes
    held = [n.outstanding for n in notes if n.on <= since]
    at_since = LedgerNote(on=since, outstanding=held[-1] if held else ZERO)
    out = [n for n in notes if n.on < since] + [at_since]
    out += [n for n in notes if since < n.on]
    return [
        LedgerNote(on=n.on, outstanding=n.outstanding - amount) if since <= n.on < until else n
        for n in out
    ]


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
    instalments: tuple[InstalmentTerms, ...] = ()
    """The instalments the invoice falls due in (none: the whole amount on `due_on`)."""
    proof_of_delivery: str | None = None
    reductions: tuple[Reduction, ...] = ()
    corrections: tuple[str, ...] = ()
    """The credit notes upheld disputes named as correcting the invoice."""
    ledger_outstanding: Decimal | None = None
    ledger_balances: tuple[LedgerNote, ...] = ()
    """The ledger's figures by date: it also applies payments that name no invoice."""
    closed: Closure | None = None
    closed_on: date | None = None
    open_disputes: tuple[str, ...] = ()
    disputed_amounts: dict[str, Decimal] = {}
    """The amount each open dispute contests (a dispute not listed contests the whole invoice)."""
    promise_id: str | None = None
    evaluated_through: date | None = None
    """The last business day whose actions were considered (a paused invoice's stays behind)."""
    level: int = 0
    level_from: date | None = None
    """The due date the level was reached for (the timeline's, when it was reached)."""
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
        own = self.amount.amount - sum((r.principal for r in self.reductions), ZERO)
        if self.ledger_outstanding is not None:
            own = min(own, self.ledger_outstanding)
        return max(own, ZERO)

    @property
    def costs_paid(self) -> Decimal:
        """What payments settled of the fixed compensation before the principal."""
        return sum((r.costs for r in self.reductions), ZERO)

    @property
    def interest_paid(self) -> Decimal:
        """What payments settled of the interest before the principal."""
        return sum((r.interest for r in self.reductions), ZERO)

    def before(self, index: int) -> InvoiceDunning:
        """The invoice as it stood when `reductions[index]` arrived: the reductions dated earlier
        (or the same day and received before it) and the ledger's figures of earlier days."""
        this = self.reductions[index]
        return self.model_copy(
            update={
                "reductions": tuple(
                    r for i, r in enumerate(self.reductions) if (r.on, i) < (this.on, index)
                ),
                "ledger_balances": tuple(n for n in self.ledger_balances if n.on < this.on),
                "ledger_outstanding": None,
            }
        )

    def known_on(self, day: date) -> InvoiceDunning:
        """The invoice with the reductions and the ledger's figures dated up to `day` (what a
        letter of that day knows: a correction dated later reaches back only from its date)."""
        return self.model_copy(
            update={
                "reductions": tuple(r for r in self.reductions if r.on <= day),
                "ledger_balances": tuple(n for n in self.ledger_balances if n.on <= day),
            }
        )

    def principal_changes(self) -> tuple[Reduction, ...]:
        """How the principal bearing interest fell, by date: the ERP's named payments and credit
        notes, and wherever the ledger shows less owed (a payment it applied without the ERP
        naming the invoice, cash on account re-applied), the ledger's figure from its date.
        Whichever of the two facts arrives first, the other adds nothing: on each date the
        principal is the lower of the two. What of a day's fall a correcting credit note explains
        is its own change, of kind `correction` (`parts` dates it back to the due date)."""
        if self.amount is None:
            return ()
        total = self.amount.amount
        days = sorted({r.on for r in self.reductions} | {n.on for n in self.ledger_balances})
        changes: list[Reduction] = []
        previous = total
        for day in days:
            own = total - sum((r.principal for r in self.reductions if r.on <= day), ZERO)
            noted = [n for n in self.ledger_balances if n.on <= day]
            principal = max(min(own, noted[-1].outstanding) if noted else own, ZERO)
            corrected = sum(
                (
                    r.amount
                    for r in self.reductions
                    if r.on == day and r.kind == "credit_note" and r.source_id in self.corrections
                ),
                ZERO,
            )
            correction = min(max(previous - principal, ZERO), corrected)
            if correction > 0:
                changes.append(
                    Reduction(
                        source_id=f"correction:{day.isoformat()}",
                        kind="correction",
                        on=day,
                        amount=correction,
                    )
                )
            if principal != previous - correction:
                changes.append(
                    Reduction(
                        source_id=f"principal:{day.isoformat()}",
                        kind="principal",
                        on=day,
                        amount=previous - correction - principal,
                    )
                )
            previous = principal
        return tuple(changes)

    @property
    def disputed(self) -> Decimal:
        """What open disputes contest, at most what is still owed."""
        if any(d not in self.disputed_amounts for d in self.open_disputes):
            return self.outstanding
        contested = sum((self.disputed_amounts[d] for d in self.open_disputes), ZERO)
        return min(contested, self.outstanding)

    @property
    def pursued(self) -> Decimal:
        """What dunning asks for: the outstanding amount less its disputed part (DOMAIN.md: the
        undisputed part of a partly disputed invoice keeps its timeline)."""
        return self.outstanding - self.disputed

    def parts(self, *, set_aside_disputed: bool = True) -> tuple[DuePart, ...]:
        """The invoice's instalments (or the invoice as one part) with what dunning pursues of
        each by date (with `set_aside_disputed` False: what the buyer owes of each, disputed or
        not, as the ledger's debts).

        Every fall of the principal (`principal_changes`) settles the parts oldest due first, as
        the ledger applies payments and credit notes, so each part's balances are the ledger's
        debt for that instalment. What a correcting credit note took off a part counts from the
        part's due date when that is earlier (DOMAIN.md, Ledger: it was never owed, so it bears
        no interest), as the ledger's `/interest` dates it. The disputed amount is then set aside
        from the earliest parts first (the reading that claims less), over the part's whole
        history: it is not claimed while contested, interest included.
        """
        if self.amount is None or self.due_on is None:
            return ()
        terms = self.instalments or (
            InstalmentTerms(seq=0, due_on=self.due_on, amount=self.amount.amount),
        )
        order = sorted(terms, key=lambda t: (t.due_on, t.seq))
        start = min([self.issued_on or self.due_on, *(t.due_on for t in order)])
        left = {t.seq: t.amount for t in order}
        history: dict[int, list[LedgerNote]] = {
            t.seq: [LedgerNote(on=start, outstanding=t.amount)] for t in order
        }
        corrected: list[tuple[InstalmentTerms, Decimal, date]] = []
        for change in self.principal_changes():
            on = max(change.on, start)
            amount = change.amount
            # a fall settles the oldest part first; a rise (a payment undone) restores the newest
            for t in order if amount > 0 else reversed(order):
                if amount == 0:
                    break
                room = left[t.seq] if amount > 0 else t.amount - left[t.seq]
                take = min(abs(amount), room)
                if take <= 0:
                    continue
                take = take if amount > 0 else -take
                left[t.seq] -= take
                amount -= take
                notes = history[t.seq]
                if notes[-1].on == on:
                    notes.pop()
                notes.append(LedgerNote(on=on, outstanding=left[t.seq]))
                if change.kind == "correction":
                    corrected.append((t, take, on))
        for t, take, on in corrected:
            history[t.seq] = _backdated(history[t.seq], take, max(min(on, t.due_on), start), on)
        aside = self.disputed if set_aside_disputed else ZERO
        parts = []
        for t in order:
            held = min(aside, left[t.seq])
            aside -= held
            balances = tuple(
                LedgerNote(on=n.on, outstanding=max(n.outstanding - held, ZERO))
                for n in history[t.seq]
            )
            parts.append(DuePart(seq=t.seq, due_on=t.due_on, amount=t.amount, balances=balances))
        return tuple(parts)

    @property
    def timeline_due_on(self) -> date | None:
        """The due date the timeline runs from: the earliest part still pursued (an instalment
        overdue since 1 February is dunned from 1 February, not from the invoice's last due
        date); the invoice's own due date once nothing is pursued."""
        pursued = [p.due_on for p in self.parts() if p.outstanding > 0]
        return min(pursued) if pursued else self.due_on

    @property
    def timeline_moved(self) -> bool:
        """Whether the instalments the level was reached for are paid and a later one is now
        pursued: its timeline then starts again from level 0."""
        due_on = self.timeline_due_on
        return (
            bool(self.instalments)
            and self.level > 0
            and self.level_from is not None
            and due_on is not None
            and due_on > self.level_from
        )

    def overdue_parts(self, as_of: date) -> tuple[DuePart, ...]:
        """The parts past due on `as_of` and still pursued."""
        return tuple(p for p in self.parts() if p.due_on < as_of and p.outstanding > 0)

    @property
    def is_open(self) -> bool:
        return self.known and self.closed is None

    @property
    def paused(self) -> bool:
        """A promise pauses the invoice; a dispute only when it contests all that is owed."""
        if self.promise_id is not None:
            return True
        return bool(self.open_disputes) and self.pursued <= 0

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
    cash_on_account: dict[str, Money] = {}
    """Cash the ledger left on the buyer's account, by the payment (or credit note) it came from."""
    unnamed_payments: dict[str, Money] = {}
    """Payments that named no invoice, by id: the ledger applied them itself."""
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

    def on_account(self, currency: str) -> Decimal:
        """The buyer's unallocated cash in `currency` (DOMAIN.md: netted in letters).

        The ledger says which cash it left on account (`PaymentUnapplied`) but not when it later
        applies it (a dispute rejected, a new invoice), so what was applied since is read from the
        ledger's balances. Cash no fact assigns to an invoice (a payment's unnamed part, what a
        payment or credit note gave an invoice beyond its amount) is either applied by the ledger,
        which shows as an invoice the ledger holds lower than its named payments and credit notes
        explain, or still on account: what is on account is that cash less those gaps, and never
        more than the ledger said it left there. A pure function of the facts known, so it does
        not depend on the order the ERP's and the ledger's facts arrived in.
        """
        left = sum(
            (m.amount for m in self.cash_on_account.values() if m.currency == currency), ZERO
        )
        if left <= 0:
            return ZERO
        free = sum(
            (m.amount for m in self.unnamed_payments.values() if m.currency == currency), ZERO
        )
        gaps = ZERO
        for inv in self.invoices.values():
            if inv.amount is None or inv.currency != currency or inv.closed is Closure.CANCELLED:
                continue
            named = inv.amount.amount - sum((r.principal for r in inv.reductions), ZERO)
            free += max(-named, ZERO)
            if inv.ledger_outstanding is not None:
                gaps += max(max(named, ZERO) - inv.ledger_outstanding, ZERO)
        return max(min(left, free - gaps), ZERO)
