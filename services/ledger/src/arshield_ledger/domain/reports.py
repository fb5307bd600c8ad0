"""Answers as of a business date, computed from the dated ledger entries (pure).

Everything here takes entries already restricted to `effective_on <= as_of` (the adapters filter in
SQL) or filters them itself, so any past date is answered from the facts known for that date.

Metrics (Credit Research Foundation), per currency, over a period [from, to] of `days` days:
- credit sales: net credit sales (DOMAIN.md): invoices issued in the period, less credit notes
  issued in the period, less invoices cancelled in the period (what was left of them after their
  credit notes), each deducted on its own date; see `net_credit_sales`;
- receivables: the positive outstanding of invoices (unapplied cash is not netted against them);
- DSO (the simple, countback-free variant) = receivables at `to` / credit sales x days;
- best possible DSO = current (not past due) receivables at `to` / credit sales x days;
- average days delinquent = DSO - best possible DSO;
- CEI = (opening receivables + sales - closing receivables - written off) /
        (opening receivables + sales - closing current receivables) x 100,
  opening receivables being those at the end of the day before `from`; what was written off in
  the period (bad debt) left the receivables without being collected, so it is not counted as
  collected.
A metric whose denominator is zero is None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from arshield_events.ledger import InvoiceStatus
from arshield_ledger.domain.state import BUCKETS, ZERO, Bucket, bucket_of

TWO_PLACES = Decimal("0.01")
SALES_KINDS = ("issued", "credit_note", "credit_note_on_account", "cancelled")
"""Entry kinds whose sum over a period is its net credit sales: invoices issued (+), credit notes
(applied to the invoice, or their surplus kept on account: -) and cancellations (the invoice's
amount less its credit notes: -). A cancellation's `payments_released` is not a sale."""
PAYMENT_KINDS = ("payment", "unapplied_cash")
COSTS_CHARGED, COSTS_SETTLED = "costs_charged", "costs_settled"
INTEREST_CHARGED, INTEREST_SETTLED = "interest_charged", "interest_settled"
SETTLED_KINDS = (COSTS_SETTLED, INTEREST_SETTLED)
"""What a partial payment settled of the costs and the interest before the principal, where the
invoice's law orders it (`settlement`): paid, but no instalment moves. Each comes with its
`*_charged` entry (the claim it met), so an invoice's entries sum to the principal owed."""
WRITTEN_OFF = "written_off"
"""Entry kind of a write-off: what was left unpaid leaves the receivables as a bad debt."""


@dataclass(frozen=True)
class EntryRow:
    invoice_id: str | None
    seq: int | None
    currency: str
    effective_on: date
    kind: str
    amount: Decimal
    ref: str
    detail: str = ""


@dataclass(frozen=True)
class InstalmentBalance:
    """One instalment's outstanding amount as of a date."""

    buyer_id: str
    invoice_id: str
    seq: int
    currency: str
    due_on: date
    outstanding: Decimal
    disputed: bool = False


@dataclass
class Ageing:
    currency: str
    buckets: dict[Bucket, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    disputed: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def overdue(self) -> Decimal:
        return self.total - self.buckets["current"]


def ageing(balances: Iterable[InstalmentBalance], as_of: date) -> dict[str, Ageing]:
    """Outstanding amounts by currency and bucket (days past due as of `as_of`)."""
    reports: dict[str, Ageing] = {}
    for row in balances:
        if row.outstanding <= 0:
            continue
        report = reports.setdefault(row.currency, Ageing(row.currency))
        report.buckets[bucket_of((as_of - row.due_on).days)] += row.outstanding
        if row.disputed:
            report.disputed += row.outstanding
    return reports


@dataclass(frozen=True)
class InvoiceAsOf:
    outstanding: Decimal
    paid: Decimal
    credited: Decimal
    status: InvoiceStatus
    open_disputes: tuple[str, ...]
    settled_on: date | None
    instalments: tuple[tuple[int, date, Decimal], ...]
    """(seq, due_on, outstanding) per instalment."""
    days_late: int | None = None
    """Settled by payment: the worst instalment's days late (its last payment against its due
    date); None while open, and for an invoice credited or cancelled."""


def invoice_as_of(
    entries: Sequence[EntryRow], due_dates: dict[int, date], as_of: date
) -> InvoiceAsOf:
    """An invoice's state from its entries dated up to `as_of` (entries in recording order)."""
    by_seq: dict[int, Decimal] = dict.fromkeys(due_dates, ZERO)
    paid = credited = ZERO
    disputes: dict[str, None] = {}
    cancelled = written_off = False
    settled_on: date | None = None
    last_paid: dict[int, date] = {}
    for e in entries:
        if e.effective_on > as_of:
            continue
        if e.seq is not None:
            by_seq[e.seq] = by_seq.get(e.seq, ZERO) + e.amount
            if e.kind in PAYMENT_KINDS and e.amount < 0:
                last_paid[e.seq] = max(e.effective_on, last_paid.get(e.seq, e.effective_on))
        if e.kind in PAYMENT_KINDS or e.kind in SETTLED_KINDS or e.kind == "payments_released":
            paid -= e.amount
        elif e.kind == "credit_note":
            credited -= e.amount
        elif e.kind == "cancelled":
            cancelled = True
        elif e.kind == WRITTEN_OFF:
            written_off = True
        elif e.kind == "dispute_raised":
            disputes[e.ref] = None
        elif e.kind == "dispute_resolved":
            disputes.pop(e.ref, None)
        if e.amount < 0 and settled_on is None and sum(by_seq.values(), ZERO) <= 0:
            settled_on = e.effective_on
    outstanding = sum(by_seq.values(), ZERO)
    if cancelled:
        status: InvoiceStatus = "cancelled"
        settled_on = None
    elif written_off:
        status = "written_off"
    elif outstanding <= 0:
        status = "paid" if paid > 0 else "credited"
    elif disputes:
        status = "disputed"
    elif any(by_seq[s] > 0 and as_of > due for s, due in due_dates.items()):
        status = "overdue"
    elif paid > 0:
        status = "partially_paid"
    else:
        status = "open"
    return InvoiceAsOf(
        outstanding=outstanding,
        paid=paid,
        credited=credited,
        status=status,
        open_disputes=tuple(disputes),
        settled_on=settled_on if status == "paid" else None,
        instalments=tuple((s, due_dates[s], by_seq[s]) for s in sorted(due_dates)),
        days_late=max(
            (max(0, (on - due_dates[s]).days) for s, on in last_paid.items() if s in due_dates),
            default=None,
        )
        if status == "paid"
        else None,
    )


@dataclass(frozen=True)
class StatementLine:
    effective_on: date
    kind: str
    invoice_id: str | None
    ref: str
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Statement:
    currency: str
    opening: Decimal
    closing: Decimal
    lines: tuple[StatementLine, ...]


def statement(entries: Iterable[EntryRow], start: date, end: date) -> dict[str, Statement]:
    """Statement of account per currency: opening balance, dated movements, closing balance.

    The balance is what the buyer owes (invoices outstanding less cash held on account); cash moved
    from the account onto an invoice shows as two lines that net to zero.
    """
    opening: dict[str, Decimal] = defaultdict(lambda: ZERO)
    moves: dict[str, list[EntryRow]] = defaultdict(list)
    for e in entries:
        if e.amount == 0 or e.effective_on > end:
            continue
        if e.effective_on < start:
            opening[e.currency] += e.amount
        else:
            moves[e.currency].append(e)
    out: dict[str, Statement] = {}
    for currency in sorted(set(opening) | set(moves)):
        balance = opening[currency]
        lines: list[StatementLine] = []
        for e in sorted(moves[currency], key=lambda e: e.effective_on):
            balance += e.amount
            lines.append(
                StatementLine(e.effective_on, e.kind, e.invoice_id, e.ref, e.amount, balance)
            )
        out[currency] = Statement(currency, opening[currency], balance, tuple(lines))
    return out


def net_credit_sales(entries: Iterable[EntryRow], start: date, end: date) -> dict[str, Decimal]:
    """Net credit sales per currency over [start, end] (see `SALES_KINDS`)."""
    sales: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        if e.kind in SALES_KINDS and start <= e.effective_on <= end:
            sales[e.currency] += e.amount
    return dict(sales)


@dataclass(frozen=True)
class CollectionMetrics:
    currency: str
    days: int
    credit_sales: Decimal
    opening_receivables: Decimal
    closing_receivables: Decimal
    closing_current: Decimal
    written_off: Decimal
    dso: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None


def collection_metrics(
    *,
    currency: str,
    start: date,
    end: date,
    credit_sales: Decimal,
    opening_receivables: Decimal,
    closing_receivables: Decimal,
    closing_current: Decimal,
    written_off: Decimal = ZERO,
) -> CollectionMetrics:
    """CRF metrics from the period's totals (receivables are sums of positive outstanding).

    `credit_sales` are net credit sales; when they are not positive DSO, best possible DSO and
    ADD are None (CEI has its own denominator).
    """
    days = (end - start).days + 1
    dso = bpdso = add = cei = None
    if credit_sales > 0:
        dso = _round(closing_receivables / credit_sales * days)
        bpdso = _round(closing_current / credit_sales * days)
        add = dso - bpdso
    collectable = opening_receivables + credit_sales - closing_current
    if collectable > 0:
        collected = opening_receivables + credit_sales - closing_receivables - written_off
        cei = _round(collected / collectable * 100)
    return CollectionMetrics(
        currency,
        days,
        credit_sales,
        opening_receivables,
        closing_receivables,
        closing_current,
        written_off,
        dso,
        bpdso,
        add,
        cei,
    )


def _round(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, ROUND_HALF_UP)


def open_disputes(entries: Iterable[EntryRow], as_of: date) -> set[str]:
    """Invoices with a dispute raised and not resolved by `as_of`."""
    open_: dict[tuple[str, str], bool] = {}
    for e in entries:
        if e.effective_on > as_of or e.invoice_id is None:
            continue
        if e.kind == "dispute_raised":
            open_[(e.invoice_id, e.ref)] = True
        elif e.kind == "dispute_resolved":
            open_[(e.invoice_id, e.ref)] = False
    return {invoice_id for (invoice_id, _), is_open in open_.items() if is_open}


def instalment_balances(
    buyer_id: str, entries: Sequence[EntryRow], due_dates: dict[tuple[str, int], date], as_of: date
) -> list[InstalmentBalance]:
    """Each instalment's outstanding amount as of `as_of`, flagged when its invoice is disputed."""
    sums: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    currencies: dict[tuple[str, int], str] = {}
    for e in entries:
        if e.effective_on > as_of or e.invoice_id is None or e.seq is None:
            continue
        key = (e.invoice_id, e.seq)
        sums[key] += e.amount
        currencies[key] = e.currency
    disputed = open_disputes(entries, as_of)
    return [
        InstalmentBalance(
            buyer_id,
            invoice_id,
            seq,
            currencies[(invoice_id, seq)],
            due_dates[(invoice_id, seq)],
            amount,
            invoice_id in disputed,
        )
        for (invoice_id, seq), amount in sorted(sums.items())
    ]


def cash_on_account(entries: Iterable[EntryRow], as_of: date) -> dict[str, Decimal]:
    """Unapplied cash and credits held on the buyer's account, per currency, as of `as_of`."""
    held: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        if e.invoice_id is None and e.effective_on <= as_of:
            held[e.currency] -= e.amount
    return {currency: amount for currency, amount in held.items() if amount}
