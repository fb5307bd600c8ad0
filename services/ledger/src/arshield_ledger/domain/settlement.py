"""What a partial payment settles before the principal, where the invoice's law orders it (pure).

BGB § 367 Abs. 1 and Civil Code art. 561 send a payment that does not settle the whole debt first
to the costs (the fixed compensation), then to the interest accrued up to its day, last to the
principal; Code civil art. 1343-1 sends it to the interest before the principal (costs last:
`arshield_latepay.settle`). The directive and the UK Act order nothing: the principal comes first.

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
    Jurisdiction,
    RateUnavailableError,
    ReferenceRates,
    late_payment_claim,
    settle,
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
    "Owed",
    "PartHistory",
    "orders_principal_last",
    "owed_before_principal",
    "shipped_rates",
]

ZERO = Decimal(0)


@cache
def shipped_rates() -> ReferenceRates:
    """The reference-rate tables shipped with `arshield_latepay`, loaded once."""
    return ReferenceRates.shipped()


def orders_principal_last(jurisdiction: Jurisdiction) -> bool:
    """Whether the law sends a partial payment to something before the principal."""
    one = Decimal(1)
    return settle(jurisdiction, one, costs=ZERO, interest=one, principal=one).interest > 0


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


@dataclass(frozen=True)
class Owed:
    """What the law puts before the principal of a partial payment, still unpaid on its day."""

    jurisdiction: Jurisdiction
    costs: Decimal
    interest: Decimal


def owed_before_principal(
    terms: InvoiceTerms,
    parts: Sequence[PartHistory],
    costs_paid: Decimal,
    interest_paid: Decimal,
    on: date,
    tenant: TenantLaw,
    rates: ReferenceRates,
) -> Owed | None:
    """The costs and the interest accrued up to and including `on`, less what earlier payments
    settled of them; None where the law orders nothing (the principal first), no law is known,
    or a rate it needs is not in the tables."""
    contract = contract_of(terms, tenant)
    if contract is None or not orders_principal_last(contract.jurisdiction):
        return None
    if not all(p.complete for p in parts):
        return None
    try:
        claim = late_payment_claim(
            terms=contract,
            currency=terms.currency,
            invoice_amount=terms.amount,
            debts=[p.debt(terms.issued_on) for p in parts],
            as_of=on,
            rates=rates,
        )
    except RateUnavailableError:
        return None
    # Only a fixed sum in the invoice's own currency is settled from its payments.
    costs = claim.compensation if claim.compensation_currency == terms.currency else ZERO
    return Owed(
        contract.jurisdiction,
        max(ZERO, costs - costs_paid),
        max(ZERO, claim.interest - interest_paid),
    )
