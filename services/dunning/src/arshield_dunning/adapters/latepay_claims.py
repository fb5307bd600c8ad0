"""The claim port served by `arshield_latepay`: the ledger's very rules (one implementation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arshield_dunning.domain.claims import Claim
from arshield_dunning.domain.state import ContractTerms, Reduction
from arshield_latepay import (
    BalanceChange,
    Debt,
    Jurisdiction,
    ReferenceRates,
    late_payment_claim,
)
from arshield_latepay import ContractTerms as LatepayTerms


class LatepayClaims:
    """Claims under the invoice's contract terms; invoices without terms fall under the
    deployment's default jurisdiction."""

    def __init__(self, rates: ReferenceRates, default_jurisdiction: str = "EU") -> None:
        self._rates = rates
        self._default = Jurisdiction(default_jurisdiction)

    def claim(
        self,
        *,
        amount: Decimal,
        currency: str,
        due_on: date,
        as_of: date,
        terms: ContractTerms | None,
        reductions: tuple[Reduction, ...],
    ) -> Claim:
        latepay_terms = self._terms(terms)
        balances = [BalanceChange(on=due_on, outstanding=amount)]
        owed = amount
        for reduction in sorted(reductions, key=lambda r: r.on):
            owed = max(owed - reduction.amount, Decimal(0))
            balances.append(BalanceChange(on=max(reduction.on, due_on), outstanding=owed))
        result = late_payment_claim(
            terms=latepay_terms,
            currency=currency,
            invoice_amount=amount,
            debts=[Debt(due_on=due_on, balances=tuple(balances))],
            as_of=as_of,
            rates=self._rates,
        )
        rate = result.periods[-1].annual_rate if result.periods else None
        return Claim(
            interest=result.interest,
            compensation=result.compensation,
            compensation_currency=result.compensation_currency,
            annual_rate_percent=rate,
            basis=result.basis,
        )

    def _terms(self, terms: ContractTerms | None) -> LatepayTerms:
        if terms is None:
            return LatepayTerms(jurisdiction=self._default)
        rate = terms.agreed_annual_rate if terms.late_interest == "agreed" else None
        return LatepayTerms(jurisdiction=Jurisdiction(terms.jurisdiction), agreed_annual_rate=rate)
