"""The claim port served by `arshield_latepay`: the ledger's very rules (one implementation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_dunning.domain.claims import Claim, PaymentSettled
from arshield_dunning.domain.state import ContractTerms, DuePart
from arshield_latepay import (
    BalanceChange,
    Debt,
    Jurisdiction,
    RateUnavailableError,
    ReferenceRates,
    late_payment_claim,
    law_of,
    split_payment,
)
from arshield_latepay import ContractTerms as LatepayTerms


@dataclass(frozen=True)
class LatepayClaims:
    """Claims under the invoice's law as the one rule decides it (`arshield_latepay.law_of`): its
    contract terms, else the tenant's jurisdiction (its profile), else its currency's statute.
    `for_tenant` binds a tenant's profile for its business day."""

    rates: ReferenceRates
    tenant_jurisdiction: str | None = None
    tenant_is_sme: bool | None = None

    def for_tenant(self, jurisdiction: str | None, is_sme: bool | None) -> LatepayClaims:
        return LatepayClaims(self.rates, jurisdiction, is_sme)

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
        law = law_of(
            self._terms(terms, issued_on),
            self.tenant_jurisdiction,
            currency,
            tenant_is_sme=self.tenant_is_sme,
        )
        if law is None:
            return Claim(
                interest=Decimal(0),
                compensation=Decimal(0),
                compensation_currency=currency,
                basis=f"no statutory late-payment rule is known for {currency} without contract "
                "terms or the tenant's jurisdiction",
            )
        debts = _debts(parts)
        try:
            result = late_payment_claim(
                terms=law,
                currency=currency,
                invoice_amount=amount,
                debts=debts,
                as_of=as_of,
                rates=self.rates,
            )
        except RateUnavailableError as missing:
            # The ledger answers "interest cannot be computed yet" for the same invoice: the letter
            # claims the principal alone and says why, never a guessed rate.
            return Claim(
                interest=Decimal(0),
                compensation=Decimal(0),
                compensation_currency=currency,
                basis=f"interest cannot be computed yet: {missing}",
            )
        rate = result.periods[-1].annual_rate if result.periods else None
        return Claim(
            interest=result.interest,
            compensation=result.compensation,
            compensation_currency=result.compensation_currency,
            annual_rate_percent=rate,
            basis=result.basis,
            jurisdiction=law.jurisdiction.value,
            agreed_rate=law.agreed_annual_rate is not None,
        )

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
        law = law_of(
            self._terms(terms, issued_on),
            self.tenant_jurisdiction,
            currency,
            tenant_is_sme=self.tenant_is_sme,
        )
        split = split_payment(
            law,
            payment,
            principal=sum((p.outstanding for p in parts), Decimal(0)),
            currency=currency,
            invoice_amount=amount,
            debts=_debts(parts),
            on=on,
            rates=self.rates,
            costs_paid=costs_paid,
            interest_paid=interest_paid,
        )
        return PaymentSettled(costs=split.costs, interest=split.interest)

    @staticmethod
    def _terms(terms: ContractTerms | None, issued_on: date | None) -> LatepayTerms | None:
        if terms is None:
            return None
        rate = terms.agreed_annual_rate if terms.late_interest == "agreed" else None
        return LatepayTerms(
            jurisdiction=Jurisdiction(terms.jurisdiction),
            agreed_annual_rate=rate,
            # unknown signing date: the issue date stands in, as the ledger's `/interest` does
            signed_on=terms.signed_on or issued_on,
            creditor_is_sme=terms.creditor_is_sme,
            debtor_is_large_or_public=terms.debtor_is_large_or_public,
        )


def _debts(parts: tuple[DuePart, ...]) -> list[Debt]:
    """One debt per instalment, each with its own due date: the ledger's debts for the invoice."""
    return [
        Debt(
            due_on=part.due_on,
            balances=tuple(
                BalanceChange(on=n.on, outstanding=n.outstanding) for n in part.balances
            ),
        )
        for part in parts
    ]
