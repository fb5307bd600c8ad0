"""Late-payment interest and fixed compensation per invoice, by the invoice's jurisdiction.

Conventions (shared by the ledger's interest answers and dunning's letters):
- Interest runs from the day after the due date. A day `d` bears interest on what was still unpaid
  at the end of day `d - 1`, so a debt paid `n` days after its due date bears `n` days of interest.
- Simple interest, actual days over a 365-day year (the UK Act's "simple daily" rule; used for
  every jurisdiction, leap years included). Amounts are summed exactly and rounded once, half up,
  to cents.
- EU (Directive 2011/7/EU): ECB MRO rate in force on the first calendar day of each half-year
  + 8 points, the rate changing with each half-year of the delay; FR (Code de commerce L441-10):
  same reference + 10 points; DE (§ 288 Abs. 2 BGB): the Basiszinssatz of each half-year + 9
  points. A fixed 40 EUR per invoice once any interest is payable (Directive art. 6, § 288 Abs. 5
  BGB, L441-10 II), also where a contract rate replaces the statutory one.
- UK (Late Payment of Commercial Debts (Interest) Act 1998): Bank Rate in force on 31 December
  (debts overdue from 1 January to 30 June) or 30 June (overdue from 1 July to 31 December) + 8 %,
  fixed for the life of the debt; 40/70/100 GBP by the invoice amount (< 1,000, < 10,000,
  >= 10,000). A contract rate is a "substantial remedy" that displaces the Act, so no fixed sum is
  added to it.
- CN (SME Payment Regulations 2025): the agreed annual rate where the contract sets one, for an
  SME creditor not below the one-year LPR in force when the contract was signed; otherwise 0.05 %
  per day. No fixed compensation.
- Elsewhere an agreed contract rate, where the invoice carries one, replaces the statutory rate.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from arshield_events.money import round_to_minor_units
from arshield_latepay.rates import RateSeries, ReferenceRates

_YEAR_DAYS = 365
_CN_DAILY_PERCENT = Decimal("0.05")
_UK_FIXED_SUMS = ((Decimal(1000), Decimal(40)), (Decimal(10000), Decimal(70)))
_UK_FIXED_TOP = Decimal(100)
_EU_FIXED_SUM = Decimal(40)


class Jurisdiction(StrEnum):
    EU = "EU"
    DE = "DE"
    FR = "FR"
    UK = "UK"
    CN = "CN"


@dataclass(frozen=True)
class ContractTerms:
    """What the invoice's contract says about late payment."""

    jurisdiction: Jurisdiction
    agreed_annual_rate: Decimal | None = None
    """Percent per year agreed in the contract (None: statutory interest)."""
    signed_on: date | None = None
    """When the contract was signed (CN LPR floor); the ledger uses the invoice's issue date."""
    creditor_is_sme: bool = True


@dataclass(frozen=True)
class BalanceChange:
    """The unpaid amount of a debt at the end of day `on` (after that day's payments, credits)."""

    on: date
    outstanding: Decimal


@dataclass(frozen=True)
class Debt:
    """One amount falling due on one date (an invoice, or one of its instalments).

    `balances` are the unpaid amount's changes in date order; before the first one nothing is owed.
    """

    due_on: date
    balances: tuple[BalanceChange, ...]

    def outstanding_at_end_of(self, day: date) -> Decimal:
        owed = Decimal(0)
        for change in self.balances:
            if change.on > day:
                break
            owed = change.outstanding
        return owed


@dataclass(frozen=True)
class InterestPeriod:
    """A run of days with one principal and one rate."""

    due_on: date
    start: date
    end: date
    days: int
    principal: Decimal
    reference_rate: Decimal | None
    annual_rate: Decimal
    amount: Decimal
    """Interest of the period in cents (the claim's total is rounded once from exact sums)."""


@dataclass(frozen=True)
class LatePaymentClaim:
    jurisdiction: Jurisdiction
    basis: str
    currency: str
    as_of: date
    interest: Decimal
    compensation: Decimal
    compensation_currency: str
    periods: tuple[InterestPeriod, ...]
    rate_table_versions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Regime:
    basis: str
    margin: Decimal
    series: RateSeries | None
    per_half_year: bool  # reference re-fixed each half-year of the delay (else fixed once per debt)
    fixing_offset_days: int  # fixing day relative to the half-year's first day (UK: the day before)


_STATUTORY: dict[Jurisdiction, _Regime] = {
    Jurisdiction.EU: _Regime(
        "Directive 2011/7/EU art. 2(6), 3, 6: ECB MRO rate on 1 Jan/1 Jul + 8 points; 40 EUR",
        Decimal(8),
        RateSeries.ECB_MRO,
        True,
        0,
    ),
    Jurisdiction.FR: _Regime(
        "Code de commerce L441-10: ECB MRO rate on 1 Jan/1 Jul + 10 points; 40 EUR",
        Decimal(10),
        RateSeries.ECB_MRO,
        True,
        0,
    ),
    Jurisdiction.DE: _Regime(
        "BGB § 288 Abs. 2 and 5: Basiszinssatz (§ 247) + 9 points; 40 EUR",
        Decimal(9),
        RateSeries.DE_BASISZINSSATZ,
        True,
        0,
    ),
    Jurisdiction.UK: _Regime(
        "Late Payment of Commercial Debts (Interest) Act 1998: Bank Rate on 31 Dec/30 Jun + 8 %; "
        "fixed sum 40/70/100 GBP",
        Decimal(8),
        RateSeries.BOE_BANK_RATE,
        False,
        -1,
    ),
}


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _next_half_year(day: date) -> date:
    start = half_year_start(day)
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


def fixed_compensation(terms: ContractTerms, invoice_amount: Decimal) -> tuple[Decimal, str]:
    """The fixed sum owed once an invoice is paid late (amount, currency)."""
    if terms.jurisdiction in (Jurisdiction.EU, Jurisdiction.DE, Jurisdiction.FR):
        return _EU_FIXED_SUM, "EUR"
    if terms.jurisdiction is Jurisdiction.UK and terms.agreed_annual_rate is None:
        for below, amount in _UK_FIXED_SUMS:
            if invoice_amount < below:
                return amount, "GBP"
        return _UK_FIXED_TOP, "GBP"
    return Decimal(0), "GBP" if terms.jurisdiction is Jurisdiction.UK else "CNY"


def late_payment_claim(
    *,
    terms: ContractTerms,
    currency: str,
    invoice_amount: Decimal,
    debts: Sequence[Debt],
    as_of: date,
    rates: ReferenceRates,
) -> LatePaymentClaim:
    """Interest accrued up to and including `as_of`, and the fixed compensation, for one invoice."""
    periods: list[InterestPeriod] = []
    exact_total = Decimal(0)
    basis = _basis(terms)
    for debt in debts:
        for period, exact in _debt_periods(terms, debt, as_of, rates, currency):
            periods.append(period)
            exact_total += exact
    late = any(p.principal > 0 for p in periods)
    compensation, comp_currency = fixed_compensation(terms, invoice_amount)
    return LatePaymentClaim(
        jurisdiction=terms.jurisdiction,
        basis=basis,
        currency=currency,
        as_of=as_of,
        interest=round_to_minor_units(exact_total, currency),
        compensation=compensation if late else Decimal(0),
        compensation_currency=comp_currency,
        periods=tuple(periods),
        rate_table_versions=rates.versions(),
    )


def _basis(terms: ContractTerms) -> str:
    if terms.jurisdiction is Jurisdiction.CN:
        if terms.agreed_annual_rate is None:
            return "SME Payment Regulations 2025: 0.05% per day"
        floor = " (not below the one-year LPR at signing)" if terms.creditor_is_sme else ""
        return f"agreed annual rate {terms.agreed_annual_rate}%{floor}"
    if terms.agreed_annual_rate is not None:
        return f"agreed annual rate {terms.agreed_annual_rate}%"
    return _STATUTORY[terms.jurisdiction].basis


def _fixed_rate(
    terms: ContractTerms, rates: ReferenceRates
) -> tuple[Decimal | None, Decimal] | None:
    """(reference, annual rate) when the rate does not depend on the day; None otherwise."""
    if terms.jurisdiction is Jurisdiction.CN:
        if terms.agreed_annual_rate is None:
            return None, _CN_DAILY_PERCENT * _YEAR_DAYS
        if terms.creditor_is_sme and terms.signed_on is not None:
            lpr = rates.table(RateSeries.CN_LPR_1Y).rate_on(terms.signed_on)
            return lpr, max(terms.agreed_annual_rate, lpr)
        return None, terms.agreed_annual_rate
    if terms.agreed_annual_rate is not None:
        return None, terms.agreed_annual_rate
    return None


def _debt_periods(
    terms: ContractTerms, debt: Debt, as_of: date, rates: ReferenceRates, currency: str
) -> list[tuple[InterestPeriod, Decimal]]:
    start = debt.due_on + timedelta(days=1)
    if as_of < start:
        return []
    fixed = _fixed_rate(terms, rates)
    regime = None if fixed is not None else _STATUTORY[terms.jurisdiction]
    if regime is not None and not regime.per_half_year:
        assert regime.series is not None
        fixing = half_year_start(start) + timedelta(days=regime.fixing_offset_days)
        ref = rates.table(regime.series).rate_on(fixing)
        fixed = ref, ref + regime.margin
        regime = None

    # Day d bears interest on the balance at the end of d - 1: a change on day c shows from c + 1.
    cuts = {start}
    cuts.update(c.on + timedelta(days=1) for c in debt.balances if start < c.on + timedelta(days=1))
    if regime is not None:
        boundary = _next_half_year(start)
        while boundary <= as_of:
            cuts.add(boundary)
            boundary = _next_half_year(boundary)
    bounds = sorted(d for d in cuts if d <= as_of)
    bounds.append(as_of + timedelta(days=1))

    out: list[tuple[InterestPeriod, Decimal]] = []
    for seg_start, seg_next in itertools.pairwise(bounds):
        principal = debt.outstanding_at_end_of(seg_start - timedelta(days=1))
        if principal <= 0:
            continue
        if fixed is not None:
            reference, annual = fixed
        else:
            assert regime is not None
            assert regime.series is not None
            fixing = half_year_start(seg_start) + timedelta(days=regime.fixing_offset_days)
            reference = rates.table(regime.series).rate_on(fixing)
            annual = reference + regime.margin
        days = (seg_next - seg_start).days
        exact = principal * annual * days / (100 * _YEAR_DAYS)
        period = InterestPeriod(
            due_on=debt.due_on,
            start=seg_start,
            end=seg_next - timedelta(days=1),
            days=days,
            principal=principal,
            reference_rate=reference,
            annual_rate=annual,
            amount=round_to_minor_units(exact, currency),
        )
        out.append((period, exact))
    return out
