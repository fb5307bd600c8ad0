"""Late interest and compensation for one invoice, from its dated entries (pure).

The rules live in `arshield_latepay` (shared with dunning's letters); this module only turns an
invoice's entries into the debts that library expects: one per instalment, with the unpaid amount's
changes day by day. The law of an invoice without contract terms is the one rule every service asks
(`arshield_latepay.law_of`): the tenant's own jurisdiction, or for a tenant that has not said, the
statute of its currency; the answer says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_latepay import (
    BalanceChange,
    ContractTerms,
    Debt,
    Jurisdiction,
    LatePaymentClaim,
    RateUnavailableError,
    ReferenceRates,
    late_payment_claim,
    law_of,
)
from arshield_ledger.domain.commands import TenantLaw
from arshield_ledger.domain.reports import COSTS_SETTLED, INTEREST_SETTLED, EntryRow
from arshield_ledger.domain.state import CORRECTION

__all__ = [
    "InterestAnswer",
    "InvoiceTerms",
    "TenantLaw",
    "contract_of",
    "debts",
    "invoice_interest",
]


@dataclass(frozen=True)
class InvoiceTerms:
    currency: str
    amount: Decimal
    issued_on: date
    jurisdiction: str | None
    agreed_annual_rate: Decimal | None
    signed_on: date | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None


@dataclass(frozen=True)
class InterestAnswer:
    claim: LatePaymentClaim | None
    jurisdiction_assumed: bool
    note: str
    interest_paid: Decimal = Decimal(0)
    """What payments settled of the interest before the principal (`settlement`)."""
    compensation_paid: Decimal = Decimal(0)
    """What payments settled of the fixed compensation before the principal."""
    principal_outstanding: Decimal = Decimal(0)

    @property
    def interest_owed(self) -> Decimal | None:
        """Accrued and not yet paid (it stays owed after the principal is paid in full)."""
        if self.claim is None:
            return None
        return max(Decimal(0), self.claim.interest - self.interest_paid)

    @property
    def compensation_owed(self) -> Decimal | None:
        if self.claim is None:
            return None
        return max(Decimal(0), self.claim.compensation - self.compensation_paid)


def debts(entries: Sequence[EntryRow], due_dates: dict[int, date]) -> list[Debt]:
    """One debt per instalment: its outstanding amount at the end of each day something moved.

    A credit note that corrects the invoice (named by an upheld dispute: a `correction` entry)
    reduces the instalment from its due date, as an amount never owed (DOMAIN.md, Ledger); any
    other credit note, and every payment, from its own date.
    """
    corrective = {e.ref for e in entries if e.kind == CORRECTION}

    def dated(e: EntryRow) -> date:
        if e.kind == "credit_note" and e.ref in corrective and e.seq in due_dates:
            return min(e.effective_on, due_dates[e.seq])
        return e.effective_on

    out = []
    for seq in sorted(due_dates):
        running = Decimal(0)
        changes: dict[date, Decimal] = {}
        for on, amount in sorted((dated(e), e.amount) for e in entries if e.seq == seq):
            running += amount
            changes[on] = running
        out.append(
            Debt(due_dates[seq], tuple(BalanceChange(d, v) for d, v in sorted(changes.items())))
        )
    return out


def contract_of(terms: InvoiceTerms, tenant: TenantLaw | None = None) -> ContractTerms | None:
    """The law of the invoice: its contract terms, else the one rule (`law_of`)."""
    tenant = tenant or TenantLaw()
    return law_of(
        ContractTerms(
            Jurisdiction(terms.jurisdiction),
            terms.agreed_annual_rate,
            # unknown signing date: the issue date stands in (dunning's letters do the same)
            signed_on=terms.signed_on or terms.issued_on,
            creditor_is_sme=terms.creditor_is_sme,
            debtor_is_large_or_public=terms.debtor_is_large_or_public,
        )
        if terms.jurisdiction
        else None,
        tenant.jurisdiction,
        terms.currency,
        tenant_is_sme=tenant.is_sme,
    )


def invoice_interest(
    terms: InvoiceTerms,
    entries: Sequence[EntryRow],
    due_dates: dict[int, date],
    as_of: date,
    rates: ReferenceRates,
    tenant: TenantLaw | None = None,
) -> InterestAnswer:
    tenant = tenant or TenantLaw()
    assumed = terms.jurisdiction is None
    contract = contract_of(terms, tenant)
    if contract is None:
        return InterestAnswer(
            None,
            True,
            f"no contract terms, no jurisdiction in the tenant's profile and no statutory rule "
            f"for {terms.currency}",
        )
    jurisdiction = contract.jurisdiction
    if any(e.kind == "cancelled" and e.effective_on <= as_of for e in entries):
        return InterestAnswer(None, assumed, "the invoice is cancelled")
    try:
        claim = late_payment_claim(
            terms=contract,
            currency=terms.currency,
            invoice_amount=terms.amount,
            debts=debts([e for e in entries if e.effective_on <= as_of], due_dates),
            as_of=as_of,
            rates=rates,
        )
    except RateUnavailableError as missing:
        # A rate the law needs is not in the shipped tables for that period: say so, never guess.
        return InterestAnswer(None, assumed, f"interest cannot be computed yet: {missing}")
    known = [e for e in entries if e.effective_on <= as_of]
    paid = {
        kind: -sum((e.amount for e in known if e.kind == kind), Decimal(0))
        for kind in (COSTS_SETTLED, INTEREST_SETTLED)
    }
    principal = sum((e.amount for e in known if e.seq is not None), Decimal(0))
    if not assumed:
        note = claim.basis
    elif tenant.jurisdiction is not None:
        note = f"no contract terms: the tenant's jurisdiction ({jurisdiction}) applies"
    else:
        note = (
            f"no contract terms: the statutory rule of {terms.currency} ({jurisdiction}) is assumed"
        )
    return InterestAnswer(
        claim, assumed, note, paid[INTEREST_SETTLED], paid[COSTS_SETTLED], principal
    )
