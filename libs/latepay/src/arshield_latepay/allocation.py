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
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arshield_latepay.jurisdictions import Jurisdiction

__all__ = ["ALLOCATION_RULE", "Settlement", "settle"]

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
