"""What a partial payment settles before the principal, where the invoice's law orders it (pure).

BGB § 367 Abs. 1 and Civil Code art. 561 send a payment that does not settle the whole debt first
to the costs (the fixed compensation), then to the interest accrued up to its day, last to the
principal; Code civil art. 1343-1 sends it to the interest before the principal (costs last).
The directive and the UK Act order nothing: the principal comes first. The rule is
`arshield_latepay.split_payment`, which dunning's letters ask too (one law, one figure); this
module only gives it the invoice's law and its instalments' history.

The split is decided when the payment is applied (`decide`), so the instalments' outstanding
amounts, the overdue announcements, `InvoiceSettled` and every read model carry the principal the
law says is still owed; what went to costs and interest is posted as a pair of entries with no
instalment (`*_charged` +x, `*_settled` -x: the claim met and the money that met it), so an
invoice's entries still sum to its principal owed.

A payment is partial when it leaves principal unpaid. One that pays off the principal still owed
(the buyer paid the invoice, and the creditor's ERP booked it against it) is read as the buyer's
designation of the principal, which a creditor who accepts it is bound by (BGB § 367 Abs. 2 lets
the creditor refuse such a payment, not re-allocate it); the same reading is taken in FR and CN,
as the one that claims less. The invoice is then paid, and its interest and compensation stay
owed (the `/interest` answer). An invoice paid in one payment (every invoice of the IBM replay)
is therefore applied exactly as before.

Decided once, at the payment: a fact learned later and dated earlier (a corrective credit note,
a corrected rate table) does not re-open a split already made, as a creditor's receipt would not.
A rate the law needs that is not in the tables leaves the payment to the principal (never
guessed), and so does an instalment whose history a state kept before this rule does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from arshield_latepay import (
    BalanceChange,
    Debt,
    ReferenceRates,
    Settlement,
    split_payment,
)
from arshield_ledger.domain.commands import TenantLaw
from arshield_ledger.domain.interest import InvoiceTerms, contract_of
from arshield_ledger.domain.reports import (
    COSTS_CHARGED,
    COSTS_SETTLED,
    INTEREST_CHARGED,
    INTEREST_SETTLED,
    SETTLED_KINDS,
)

__all__ = [
    "COSTS_CHARGED",
    "COSTS_SETTLED",
    "INTEREST_CHARGED",
    "INTEREST_SETTLED",
    "SETTLED_KINDS",
    "PartHistory",
    "corrected_moves",
    "shipped_rates",
    "split",
]

ZERO = Decimal(0)


@cache
def shipped_rates() -> ReferenceRates:
    """The reference-rate tables shipped with `arshield_latepay`, loaded once."""
    return ReferenceRates.shipped()


@dataclass(frozen=True)
class PartHistory:
    """One instalment as the decider knows it: its amount and every movement since issue."""

    due_on: date
    amount: Decimal
    moves: tuple[tuple[date, Decimal], ...]
    outstanding: Decimal

    @property
    def complete(self) -> bool:
        """Whether the moves account for the outstanding amount (a state kept before moves were
        recorded lacks its history: its interest is not known, so nothing is split)."""
        return self.amount + sum((m for _, m in self.moves), ZERO) == self.outstanding

    def debt(self, issued_on: date) -> Debt:
        running = self.amount
        changes = {issued_on: running}
        for on, amount in sorted(self.moves, key=lambda move: move[0]):
            running += amount
            changes[on] = running
        return Debt(self.due_on, tuple(BalanceChange(d, v) for d, v in sorted(changes.items())))


def corrected_moves(
    seq: int,
    due_on: date,
    moves: Sequence[tuple[date, Decimal]],
    credit_moves: Sequence[tuple[str, int, date, Decimal]],
    corrections: Sequence[str],
) -> tuple[tuple[date, Decimal], ...]:
    """An instalment's moves with what correcting credit notes took off it dated back to its due
    date where that is earlier (DOMAIN.md, Ledger: never owed, so it bore no interest), as the
    `/interest` answer dates them (`interest.debts`)."""
    out = list(moves)
    for credit_note, part, on, amount in credit_moves:
        if part != seq or credit_note not in corrections or (on, amount) not in out:
            continue
        out[out.index((on, amount))] = (min(on, due_on), amount)
    return tuple(out)


def split(
    terms: InvoiceTerms,
    parts: Sequence[PartHistory],
    offered: Decimal,
    *,
    costs_paid: Decimal,
    interest_paid: Decimal,
    on: date,
    tenant: TenantLaw,
    rates: ReferenceRates,
) -> Settlement | None:
    """What `offered` (money for the invoice, applied on `on`) settles of its costs, interest and
    principal under the invoice's law (`split_payment`); None where an instalment's history is
    not known (nothing is split)."""
    if not all(p.complete for p in parts):
        return None
    return split_payment(
        contract_of(terms, tenant),
        offered,
        principal=sum((p.outstanding for p in parts), ZERO),
        currency=terms.currency,
        invoice_amount=terms.amount,
        debts=[p.debt(terms.issued_on) for p in parts],
        on=on,
        rates=rates,
        costs_paid=costs_paid,
        interest_paid=interest_paid,
    )
