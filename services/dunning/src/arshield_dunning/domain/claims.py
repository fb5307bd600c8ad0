"""What a letter claims on an overdue invoice: statutory interest and fixed compensation.

The figures come from the same rules as the ledger's (`arshield_latepay`); the domain only names the
port so it stays pure and testable, and the composition root plugs in the shared implementation.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol

from arshield_dunning.domain.state import ContractTerms, DuePart, Frozen


class Claim(Frozen):
    interest: Decimal
    compensation: Decimal
    compensation_currency: str
    annual_rate_percent: Decimal | None = None
    basis: str = ""
    """Which rule produced the figures (e.g. `EU 2011/7/EU: ECB + 8`), kept with the letter."""
    jurisdiction: str | None = None
    """The law the claim was computed under (the letter names it in the buyer's language)."""
    agreed_rate: bool = False


class PaymentSettled(Frozen):
    """What a payment settled of the costs and the interest before the principal."""

    costs: Decimal
    interest: Decimal


class ClaimCalculator(Protocol):
    def settle_payment(
        self,
        *,
        amount: Decimal,
        currency: str,
        issued_on: date | None,
        terms: ContractTerms | None,
        parts: tuple[DuePart, ...],
        payment: Decimal,
        on: date,
        costs_paid: Decimal,
        interest_paid: Decimal,
    ) -> PaymentSettled:
        """What `payment`, applied on `on` to the invoice whose instalments stood as `parts`
        before it, settled of its costs and interest before the principal: the split the ledger
        made when it applied the payment (`arshield_latepay.split_payment`, one rule for both)."""
        ...

    def claim(
        self,
        *,
        amount: Decimal,
        currency: str,
        issued_on: date | None,
        as_of: date,
        terms: ContractTerms | None,
        parts: tuple[DuePart, ...],
    ) -> Claim:
        """Interest accrued up to `as_of` on each part (instalment) from the day after its own due
        date on what of it remained unpaid, plus the invoice's fixed compensation: the ledger's
        `/interest` answer for the same invoice and day. `amount` is the whole invoice's (the UK
        fixed sum's bands); `issued_on` stands in for an unknown signing date, as in the ledger."""
        ...
