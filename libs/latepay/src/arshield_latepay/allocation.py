"""Which part of a debt a partial payment settles first: costs, interest or the principal.

Where the law orders it, a payment that does not settle the whole debt goes:
- DE, BGB § 367 Abs. 1: first to the costs, then to the interest, last to the principal.
- CN, Civil Code art. 561 (unless the parties agreed otherwise): first to the costs of enforcing
  the claim, then to the interest, last to the principal.
- FR, Code civil art. 1343-1 al. 1: a partial payment goes to the interest before the principal.
  The article says nothing of costs, so they come last (the reading that claims less: the
  principal bearing interest falls first).
Elsewhere (the EU directive, the UK Act) no rule orders it: the principal first, which stops
interest soonest (the reading that claims less).

Costs are the fixed compensation and recovery costs claimed on the invoice; interest what has
accrued up to the payment's day (`late_payment_claim` as of that day).

`split_payment` is the one rule the ledger (when it applies a payment) and dunning (when its letters
claim interest on what a payment left of the principal) both ask: it decides what the law puts
before the principal on the payment's day, and then `settle`s. A payment that pays off the
principal still owed is the buyer's designation of the principal (BGB § 367 Abs. 2 lets the
creditor refuse it, not re-allocate it; the same reading, the one that claims less, in FR and CN):
it goes to the principal, and the interest and compensation stay owed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_latepay.interest import ContractTerms, Debt, late_payment_claim
from arshield_latepay.jurisdictions import Jurisdiction
from arshield_latepay.rates import RateUnavailableError, ReferenceRates

__all__ = ["ALLOCATION_RULE", "Settlement", "orders_principal_last", "settle", "split_payment"]

_COSTS, _INTEREST, _PRINCIPAL = "costs", "interest", "principal"

_ORDER: dict[Jurisdiction, tuple[str, str, str]] = {
    Jurisdiction.DE: (_COSTS, _INTEREST, _PRINCIPAL),
    Jurisdiction.CN: (_COSTS, _INTEREST, _PRINCIPAL),
    Jurisdiction.FR: (_INTEREST, _PRINCIPAL, _COSTS),
}
_PRINCIPAL_FIRST = (_PRINCIPAL, _INTEREST, _COSTS)

ALLOCATION_RULE: dict[Jurisdiction, str] = {
    Jurisdiction.DE: "BGB § 367 Abs. 1: costs, then interest, then principal",
    Jurisdiction.CN: "Civil Code art. 561: costs, then interest, then principal",
    Jurisdiction.FR: "Code civil art. 1343-1: interest before principal; costs last",
    Jurisdiction.EU: "no statutory order: principal first",
    Jurisdiction.UK: "no statutory order: principal first",
}
"""The rule each jurisdiction's allocation follows (named in an answer's basis)."""


@dataclass(frozen=True)
class Settlement:
    """What a payment settled of each part, and what of it was left over (cash on account)."""

    costs: Decimal
    interest: Decimal
    principal: Decimal
    left: Decimal
    rule: str


def settle(
    jurisdiction: Jurisdiction,
    payment: Decimal,
    *,
    costs: Decimal,
    interest: Decimal,
    principal: Decimal,
) -> Settlement:
    """Split `payment` over what is owed, in the order the jurisdiction's law sets."""
    if payment < 0 or min(costs, interest, principal) < 0:
        raise ValueError("a payment and the amounts it settles are not negative")
    owed = {_COSTS: costs, _INTEREST: interest, _PRINCIPAL: principal}
    paid = dict.fromkeys(owed, Decimal(0))
    left = payment
    for part in _ORDER.get(jurisdiction, _PRINCIPAL_FIRST):
        take = min(left, owed[part])
        paid[part] = take
        left -= take
    return Settlement(
        costs=paid[_COSTS],
        interest=paid[_INTEREST],
        principal=paid[_PRINCIPAL],
        left=left,
        rule=ALLOCATION_RULE[jurisdiction],
    )


_ZERO = Decimal(0)


def orders_principal_last(jurisdiction: Jurisdiction) -> bool:
    """Whether the law sends a partial payment to something before the principal."""
    one = Decimal(1)
    return settle(jurisdiction, one, costs=_ZERO, interest=one, principal=one).interest > 0


def split_payment(
    law: ContractTerms | None,
    payment: Decimal,
    *,
    principal: Decimal,
    currency: str,
    invoice_amount: Decimal,
    debts: Sequence[Debt],
    on: date,
    rates: ReferenceRates,
    costs_paid: Decimal = _ZERO,
    interest_paid: Decimal = _ZERO,
) -> Settlement:
    """What `payment`, applied to one invoice on `on`, settles of its costs, its interest and its
    `principal` still owed (the amount `debts` show unpaid before it).

    `debts` are the invoice's instalments as they stood before the payment; `costs_paid` and
    `interest_paid` what earlier payments already settled of the compensation and the interest.
    The costs and the interest accrued up to and including `on`, less those, are settled first
    where the law orders it; the principal comes first where no law is known, the law orders
    nothing, the payment pays off the principal still owed, or a rate the law needs is not in the
    tables (never guessed). Only a fixed sum in the invoice's own currency is settled from its
    payments.
    """
    principal_first = Settlement(
        costs=_ZERO,
        interest=_ZERO,
        principal=min(payment, principal),
        left=payment - min(payment, principal),
        rule=ALLOCATION_RULE[law.jurisdiction] if law is not None else "no law: principal first",
    )
    if (
        law is None
        or payment <= 0
        or payment >= principal
        or not orders_principal_last(law.jurisdiction)
    ):
        return principal_first
    try:
        claim = late_payment_claim(
            terms=law,
            currency=currency,
            invoice_amount=invoice_amount,
            debts=debts,
            as_of=on,
            rates=rates,
        )
    except RateUnavailableError:
        return principal_first
    costs = claim.compensation if claim.compensation_currency == currency else _ZERO
    return settle(
        law.jurisdiction,
        payment,
        costs=max(_ZERO, costs - costs_paid),
        interest=max(_ZERO, claim.interest - interest_paid),
        principal=principal,
    )
