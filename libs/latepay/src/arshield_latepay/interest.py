"""Late-payment interest and fixed compensation per invoice, by the invoice's jurisdiction.

Conventions (shared by the ledger's interest answers and dunning's letters):
- The law of an invoice without contract terms is the tenant's own jurisdiction (`law_of`).
- A due date on a Saturday, Sunday or public holiday first moves to the next business day
  (`calendars`: BGB § 193 in Germany, Civil Code art. 203 in China, the reading that claims less
  elsewhere). Interest runs from the day after the (moved) due date. A day `d` bears interest on
  what was still unpaid at the end of day `d - 1`, so a debt paid `n` days after its due date bears
  `n` days of interest.
- Simple interest, actual days over a 365-day year (the UK Act's "simple daily" rule; used for
  every jurisdiction, leap years included). Amounts are summed exactly and rounded once, half up,
  to the currency's minor units.

Over 400 lines for a reason: each jurisdiction's regime, floor and fixed sum sit side by side so a
reader can compare them; the calendars and rate tables live in their own modules.
- EU (Directive 2011/7/EU): ECB MRO rate in force on the first calendar day of each half-year
  + 8 points, the rate changing with each half-year of the delay; FR (Code de commerce L441-10):
  same reference + 10 points; DE (§ 288 Abs. 2 BGB): the Basiszinssatz of each half-year + 9
  points. A fixed 40 EUR per invoice once any interest is payable (Directive art. 6, § 288 Abs. 5
  BGB, L441-10 II), also where a contract rate replaces the statutory one.
- Agreed rates and their floors, each named in the claim's basis:
  - FR (L441-10 II): not below 3x the taux d'intérêt légal for professional creditors of each
    half-year of the delay; a lower agreed rate is raised to that floor. A half-year whose legal
    rate is not in the shipped table is refused (`RateUnavailableError`), never guessed.
  - DE (§ 288 Abs. 6 BGB): an agreement excluding default interest is void, so an agreed 0 %
    falls back to the statutory rate. A positive rate below the statutory one only *limits* the
    interest, which S. 2 voids only where a court finds it grossly unfair: that is a judgment
    these rules cannot make, so the agreed rate is claimed (the reading that claims less). The
    40 EUR lump sum is owed in every case (its exclusion is presumed grossly unfair, S. 3).
  - UK (Late Payment Act 1998 ss.8-9): a contract rate displaces the Act only if it is a
    "substantial remedy". A rate below the Act's reference (Bank Rate) + 4 % is treated as not
    substantial: half the Act's 8 % margin neither compensates nor deters as s.9(1) requires, and
    Yuanda (UK) Co Ltd v WW Gear Construction Ltd [2010] EWHC 720 (TCC) held base + 0.5 % not
    substantial. Then statutory interest and the fixed sum apply; at or above it the agreed rate
    applies and no fixed sum is added.
  - Elsewhere (EU) an agreed contract rate replaces the statutory rate.
- UK (Late Payment of Commercial Debts (Interest) Act 1998): Bank Rate in force on 31 December
  (debts overdue from 1 January to 30 June) or 30 June (overdue from 1 July to 31 December) + 8 %,
  fixed for the life of the debt; 40/70/100 GBP by the debt in sterling (< 1,000, < 10,000,
  >= 10,000, s.5A). A debt in another currency is converted by the caller's `to_gbp` on the day
  statutory interest starts to run; without a conversion the lowest sum, 40 GBP, is claimed.
- CN: the SME Payment Regulations (revised 2025) art. 17 govern a state organ, public institution
  or large enterprise paying an SME late (SME status as at signing, art. 3): an agreed rate not
  below the one-year LPR in force at signing; without agreement 0.05 % per day. Outside that
  scope, without agreement, courts award the one-year LPR in force when the delay began plus
  30-50 % (Supreme People's Court interpretation on sales contract disputes, art. 18, as revised
  in 2020): the lower end, + 30 %, is claimed. Unknown parties or signing date: the reading that
  claims less (no floor, no 0.05 % a day), said in the basis. No fixed compensation.
- EU member states (`ContractTerms.member_state`, with `Jurisdiction.EU`) where the directive's
  generic rule would under- or over-claim; the due date moves by the member state's calendar:
  - NL (Art. 6:119a and 6:120(2) BW): the directive's rate (ECB MRO on 1 Jan/1 Jul + 8 points)
    and 40 EUR (Art. 6:96(4) BW), but Art. 6:119a(3) BW adds, at the end of each year of the
    delay, the interest of that year to the amount interest is computed on (yearly compounding).
    Each year runs from the day interest started, and the interest of a year is added while the
    debt is unpaid (the reading that claims less: a capitalised sum alone bears no more).
  - BE (Law of 2 August 2002 art. 5): ECB MRO rate of the half-year + 8 points, rounded up to the
    next half percentage point; 40 EUR (art. 6).
  - AT (§ 456 UGB: 9.2 points above the OeNB Basiszinssatz in force on the last day of the
    previous half-year; 40 EUR, § 458 UGB) and PL (ustawa o przeciwdziałaniu nadmiernym
    opóźnieniom w transakcjach handlowych, as amended in 2020: the NBP reference rate + 10
    points, + 8 for a public medical debtor; 40/70/100 EUR converted to PLN at the NBP rate,
    art. 10) are refused (`RateUnavailableError`): their reference rates (and PL's EUR/PLN
    rates) are not among the shipped tables, and the directive's ECB + 8 would under-claim
    (PL) or misstate (AT) the claim, so none is guessed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from arshield_events.money import round_to_minor_units
from arshield_latepay.calendars import DUE_DATE_RULE, moved_due_date
from arshield_latepay.jurisdictions import Calendar, Jurisdiction, MemberState
from arshield_latepay.rates import RateSeries, RateUnavailableError, ReferenceRates

__all__ = [
    "BalanceChange",
    "ContractTerms",
    "Debt",
    "InterestPeriod",
    "Jurisdiction",
    "LatePaymentClaim",
    "ToGbp",
    "fixed_compensation",
    "late_payment_claim",
    "law_of",
]

_YEAR_DAYS = 365
_CN_DAILY_PERCENT = Decimal("0.05")
_CN_COURT_MARKUP = Decimal("1.3")
"""LPR + 30 %: the lower end of the 30-50 % courts add without an agreed rate."""
_UK_FIXED_SUMS = ((Decimal(1000), Decimal(40)), (Decimal(10000), Decimal(70)))
_UK_FIXED_TOP = Decimal(100)
_UK_LOWEST_SUM = Decimal(40)
_UK_SUBSTANTIAL_MARGIN = Decimal(4)
"""An agreed rate below the Act's reference + 4 % is treated as not a substantial remedy."""
_FR_FLOOR_TIMES = Decimal(3)
_EU_FIXED_SUM = Decimal(40)

ToGbp = Callable[[Decimal, str, date], Decimal | None]
"""Converts (amount, currency, on) to sterling, or None when no rate is known for that day."""


@dataclass(frozen=True)
class ContractTerms:
    """What the invoice's contract says about late payment.

    The facts China's rule needs are optional; None means unknown, and the rules then take the
    reading that claims less (and say so in the claim's basis).
    """

    jurisdiction: Jurisdiction
    agreed_annual_rate: Decimal | None = None
    """Percent per year agreed in the contract (None: statutory interest)."""
    signed_on: date | None = None
    """When the contract was signed (CN: the LPR floor of an agreed rate is the LPR that day)."""
    creditor_is_sme: bool | None = None
    """The creditor was an SME when the contract was signed (CN; None: unknown)."""
    debtor_is_large_or_public: bool | None = None
    """The debtor is a large enterprise, state organ or public institution (CN; None: unknown)."""
    member_state: MemberState | None = None
    """The EU member state whose statute governs (with `Jurisdiction.EU`; None: the directive)."""

    @property
    def calendar(self) -> Calendar:
        """Whose business days move the due date."""
        return self.member_state or self.jurisdiction

    @property
    def sme_regulations_apply(self) -> bool | None:
        """Whether China's SME Payment Regulations art. 17 govern the debt (None: unknown)."""
        if self.creditor_is_sme is False or self.debtor_is_large_or_public is False:
            return False
        if self.creditor_is_sme and self.debtor_is_large_or_public:
            return True
        return None


_LAW_OF_CURRENCY = {"EUR": Jurisdiction.EU, "GBP": Jurisdiction.UK, "CNY": Jurisdiction.CN}
"""Where a tenant has not said its jurisdiction: the statute of the invoice's currency."""


def law_of(
    terms: ContractTerms | None,
    tenant_jurisdiction: Jurisdiction | str | None,
    currency: str | None = None,
    *,
    tenant_is_sme: bool | None = None,
) -> ContractTerms | None:
    """The one rule for the law of an invoice, asked by every service: its contract terms; without
    them the tenant's own jurisdiction (its profile, `TenantProfiled`) with statutory interest;
    for a tenant that has not said, the statute of the invoice's currency (EUR: the EU directive,
    GBP: the UK Act, CNY: China). None: no rule is known (e.g. a USD invoice of such a tenant)."""
    if terms is not None:
        return terms
    if tenant_jurisdiction is not None:
        return ContractTerms(Jurisdiction(tenant_jurisdiction), creditor_is_sme=tenant_is_sme)
    jurisdiction = _LAW_OF_CURRENCY.get(currency or "")
    return None if jurisdiction is None else ContractTerms(jurisdiction)


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
    series: RateSeries


_STATUTORY: dict[Jurisdiction, _Regime] = {
    Jurisdiction.EU: _Regime(
        "Directive 2011/7/EU art. 2(6), 3, 6: ECB MRO rate on 1 Jan/1 Jul + 8 points; 40 EUR",
        Decimal(8),
        RateSeries.ECB_MRO,
    ),
    Jurisdiction.FR: _Regime(
        "Code de commerce L441-10: ECB MRO rate on 1 Jan/1 Jul + 10 points; 40 EUR",
        Decimal(10),
        RateSeries.ECB_MRO,
    ),
    Jurisdiction.DE: _Regime(
        "BGB § 288 Abs. 2 and 5: Basiszinssatz (§ 247) + 9 points; 40 EUR",
        Decimal(9),
        RateSeries.DE_BASISZINSSATZ,
    ),
}
_UK_BASIS = (
    "Late Payment of Commercial Debts (Interest) Act 1998: Bank Rate on 31 Dec/30 Jun + 8 %; "
    "fixed sum 40/70/100 GBP"
)
_UK_MARGIN = Decimal(8)

_Rate = tuple[Decimal | None, Decimal, str | None]
"""(reference rate, annual rate, a note for the basis or None) for one run of days."""


@dataclass(frozen=True)
class _Plan:
    """How one debt's interest is computed: the rate of a run of days starting on a given day."""

    notes: tuple[str, ...]
    rate_from: Callable[[date], _Rate]
    refixed_per_half_year: bool
    uk_act_applies: bool = False
    compounds_yearly: bool = False
    """NL (Art. 6:119a(3) BW): each year's interest is added to the principal at its end."""


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _next_half_year(day: date) -> date:
    start = half_year_start(day)
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


def _constant(reference: Decimal | None, annual: Decimal, note: str | None = None) -> _Rate:
    return reference, annual, note


def _uk_reference(start: date, rates: ReferenceRates) -> Decimal:
    """Bank Rate on 31 Dec / 30 Jun before the half-year in which the debt became overdue."""
    fixing = half_year_start(start) - timedelta(days=1)
    return rates.table(RateSeries.BOE_BANK_RATE).rate_on(fixing)


def _plan(terms: ContractTerms, start: date, rates: ReferenceRates) -> _Plan:
    """The rule for a debt whose interest starts on `start` (the day after the moved due date)."""
    agreed = terms.agreed_annual_rate
    if terms.jurisdiction is Jurisdiction.CN:
        return _cn_plan(terms, start, rates)
    if terms.jurisdiction is Jurisdiction.UK:
        return _uk_plan(agreed, start, rates)
    if terms.jurisdiction is Jurisdiction.EU and terms.member_state is not None:
        return _member_state_plan(terms.member_state, agreed, rates)
    regime = _STATUTORY[terms.jurisdiction]

    def statutory(day: date) -> _Rate:
        reference = rates.table(regime.series).rate_on(half_year_start(day))
        return reference, reference + regime.margin, None

    if agreed is None:
        return _Plan((regime.basis,), statutory, True)
    if terms.jurisdiction is Jurisdiction.DE:
        if agreed == 0:
            note = (
                "agreed annual rate 0% excludes default interest, void under BGB § 288 Abs. 6 S. 1:"
                f" {regime.basis}"
            )
            return _Plan((note,), statutory, True)
        note = (
            f"agreed annual rate {agreed}%; BGB § 288 Abs. 6: a rate limiting default interest is"
            " void only where a court finds it grossly unfair, so the agreed rate is claimed;"
            " the 40 EUR lump sum (§ 288 Abs. 5) cannot be excluded and is owed"
        )
        return _Plan((note,), lambda _day: _constant(None, agreed), False)
    if terms.jurisdiction is Jurisdiction.FR:
        return _fr_plan(agreed, rates)
    return _Plan((f"agreed annual rate {agreed}%",), lambda _day: _constant(None, agreed), False)


_NL_BASIS = (
    "Art. 6:119a and 6:120(2) BW: ECB MRO rate on 1 Jan/1 Jul + 8 points, each year's interest"
    " added to the principal at its end (Art. 6:119a(3)); 40 EUR (Art. 6:96(4))"
)
_BE_BASIS = (
    "Law of 2 August 2002 art. 5, 6: ECB MRO rate on 1 Jan/1 Jul + 8 points, rounded up to the"
    " next half point; 40 EUR"
)
_REFUSED = {
    MemberState.AT: (
        "§ 456 UGB: 9.2 points above the OeNB Basiszinssatz of the previous half-year's last day;"
        " the OeNB Basiszinssatz table is not shipped, so the claim is not computed"
    ),
    MemberState.PL: (
        "ustawa o przeciwdziałaniu nadmiernym opóźnieniom w transakcjach handlowych (as amended in"
        " 2020): NBP reference rate + 10 points (+ 8 for a public medical debtor), compensation"
        " 40/70/100 EUR in PLN at the NBP rate; neither the NBP reference-rate table nor the"
        " EUR/PLN rates are shipped, so the claim is not computed"
    ),
}
_HALF_POINT = Decimal("0.5")


def _member_state_plan(state: MemberState, agreed: Decimal | None, rates: ReferenceRates) -> _Plan:
    refused = _REFUSED.get(state)
    if refused is not None:
        raise RateUnavailableError(refused)
    ecb = rates.table(RateSeries.ECB_MRO)
    if state is MemberState.NL:

        def nl(day: date) -> _Rate:
            reference = ecb.rate_on(half_year_start(day))
            return reference, reference + 8, None

        if agreed is not None:
            # Art. 6:119a(3) compounds the statutory interest; an agreed rate's compounding is the
            # contract's to say, so none is claimed (the reading that claims less).
            note = f"agreed annual rate {agreed}%, not compounded (Art. 6:119a(3) BW is statutory)"
            return _Plan((note,), lambda _day: _constant(None, agreed), False)
        return _Plan((_NL_BASIS,), nl, True, compounds_yearly=True)

    def be(day: date) -> _Rate:
        reference = ecb.rate_on(half_year_start(day))
        halves = ((reference + 8) / _HALF_POINT).to_integral_value(rounding=ROUND_CEILING)
        return reference, halves * _HALF_POINT, None

    if agreed is not None:
        return _Plan(
            (f"agreed annual rate {agreed}%",), lambda _day: _constant(None, agreed), False
        )
    return _Plan((_BE_BASIS,), be, True)


def _fr_plan(agreed: Decimal, rates: ReferenceRates) -> _Plan:
    def floored(day: date) -> _Rate:
        try:
            legal = rates.table(RateSeries.FR_TAUX_LEGAL_PRO).rate_for_half_year(day)
        except RateUnavailableError as missing:
            raise RateUnavailableError(
                f"the agreed-rate floor of Code de commerce L441-10 II (3x the taux d'intérêt"
                f" légal) cannot be checked for {day.isoformat()}: {missing}"
            ) from missing
        floor = _FR_FLOOR_TIMES * legal
        if agreed < floor:
            return legal, floor, f"raised to {floor}% (3 x {legal}%) where below it"
        return legal, agreed, None

    note = (
        f"agreed annual rate {agreed}%, not below 3x the taux d'intérêt légal (professional"
        " creditors) of each half-year (Code de commerce L441-10 II); 40 EUR"
    )
    return _Plan((note,), floored, True)


def _uk_plan(agreed: Decimal | None, start: date, rates: ReferenceRates) -> _Plan:
    reference = _uk_reference(start, rates)
    statutory = reference + _UK_MARGIN
    if agreed is None:
        return _Plan((_UK_BASIS,), lambda _day: _constant(reference, statutory), False, True)
    threshold = reference + _UK_SUBSTANTIAL_MARGIN
    if agreed < threshold:
        note = (
            f"agreed annual rate {agreed}% is below Bank Rate {reference}% + 4 = {threshold}%:"
            f" not a substantial remedy (Late Payment Act 1998 ss. 8-9), so {_UK_BASIS}"
        )
        return _Plan((note,), lambda _day: _constant(reference, statutory), False, True)
    note = (
        f"agreed annual rate {agreed}%, a substantial remedy (at least Bank Rate {reference}% + 4,"
        " Late Payment Act 1998 ss. 8-9): the Act and its fixed sum do not apply"
    )
    return _Plan((note,), lambda _day: _constant(reference, agreed), False)


_CN_ART17 = "SME Payment Regulations 2025 art. 17"
_CN_COURTS = "SPC interpretation on sales contract disputes art. 18"


def _cn_plan(terms: ContractTerms, start: date, rates: ReferenceRates) -> _Plan:
    agreed = terms.agreed_annual_rate
    applies = terms.sme_regulations_apply
    lpr = rates.table(RateSeries.CN_LPR_1Y)
    unknown = (
        f"whether {_CN_ART17} applies (an SME creditor, a large-enterprise or public debtor) is"
        " unknown"
    )
    if agreed is not None:
        if applies is True and terms.signed_on is not None:
            floor = lpr.rate_on(terms.signed_on)
            note = (
                f"agreed annual rate {agreed}%, not below the one-year LPR at signing on"
                f" {terms.signed_on.isoformat()} ({floor}%, {_CN_ART17})"
            )
            if agreed < floor:
                note += f": raised to {floor}%"
            return _Plan((note,), lambda _day: _constant(floor, max(agreed, floor)), False)
        if applies is True:
            note = (
                f"agreed annual rate {agreed}%; the signing date is unknown, so the LPR floor of"
                f" {_CN_ART17} is not applied"
            )
        elif applies is None:
            note = f"agreed annual rate {agreed}%; {unknown}, so its LPR floor is not applied"
        else:
            note = f"agreed annual rate {agreed}%"
        return _Plan((note,), lambda _day: _constant(None, agreed), False)
    if applies is True:
        note = f"{_CN_ART17}: a large enterprise or public body paying an SME late, 0.05% per day"
        annual = _CN_DAILY_PERCENT * _YEAR_DAYS
        return _Plan((note,), lambda _day: _constant(None, annual), False)
    reference = lpr.rate_on(start)
    court_rate = reference * _CN_COURT_MARKUP
    if applies is None:
        note = f"no agreed rate; {unknown}, so its 0.05% per day is not claimed"
    else:
        note = f"no agreed rate and {_CN_ART17} does not apply"
    note += (
        f": one-year LPR when the delay began ({reference}%) + 30% = {court_rate.normalize()}%, the"
        f" lower end of the 30-50% courts add ({_CN_COURTS})"
    )
    return _Plan((note,), lambda _day: _constant(reference, court_rate), False)


def _uk_fixed_sum(
    debt_amount: Decimal, currency: str, on: date | None, to_gbp: ToGbp | None
) -> tuple[Decimal, str | None]:
    """The Act's fixed sum (s.5A) by the debt in sterling, and a note when it was not in GBP."""
    note: str | None = None
    sterling = debt_amount
    if currency != "GBP":
        converted = to_gbp(debt_amount, currency, on) if to_gbp is not None and on else None
        if converted is None:
            return _UK_LOWEST_SUM, (
                f"debt in {currency} and no sterling conversion: the lowest fixed sum, 40 GBP,"
                " is claimed (s.5A bands are in sterling)"
            )
        sterling = converted
        note = f"debt of {debt_amount} {currency} = {sterling} GBP on {on} for the s.5A bands"
    for below, amount in _UK_FIXED_SUMS:
        if sterling < below:
            return amount, note
    return _UK_FIXED_TOP, note


def fixed_compensation(
    terms: ContractTerms,
    invoice_amount: Decimal,
    *,
    currency: str = "GBP",
    on: date | None = None,
    to_gbp: ToGbp | None = None,
) -> tuple[Decimal, str]:
    """The fixed sum owed once an invoice is paid late (amount, currency).

    UK: the bands apply to the debt in sterling; `currency` is the invoice's (GBP by default, as
    before this parameter existed), `to_gbp` converts it on `on` (the day statutory interest
    starts), and without a conversion the lowest sum, 40 GBP, is owed. An agreed rate is taken as
    displacing the Act here; `late_payment_claim` checks whether it is a substantial remedy.
    """
    if terms.jurisdiction in (Jurisdiction.EU, Jurisdiction.DE, Jurisdiction.FR):
        return _EU_FIXED_SUM, "EUR"
    if terms.jurisdiction is Jurisdiction.UK and terms.agreed_annual_rate is None:
        return _uk_fixed_sum(invoice_amount, currency, on, to_gbp)[0], "GBP"
    return Decimal(0), "GBP" if terms.jurisdiction is Jurisdiction.UK else "CNY"


def late_payment_claim(
    *,
    terms: ContractTerms,
    currency: str,
    invoice_amount: Decimal,
    debts: Sequence[Debt],
    as_of: date,
    rates: ReferenceRates,
    to_gbp: ToGbp | None = None,
) -> LatePaymentClaim:
    """Interest accrued up to and including `as_of`, and the fixed compensation, for one invoice.

    `to_gbp` converts a non-sterling debt for the UK fixed-sum bands (see `fixed_compensation`).
    Raises `RateUnavailableError` when a rate the rule needs is not in the tables (never guessed).
    """
    periods: list[InterestPeriod] = []
    exact_total = Decimal(0)
    notes: dict[str, None] = {}  # ordered sets: the rule's notes, then the due dates moved
    moves: dict[str, None] = {}
    uk_act_applies = False
    late_from: date | None = None
    for debt in debts:
        due = moved_due_date(terms.calendar, debt.due_on)
        if due != debt.due_on:
            moves[
                f"due date {debt.due_on.isoformat()} is not a business day, moved to"
                f" {due.isoformat()} ({DUE_DATE_RULE[terms.calendar]})"
            ] = None
        start = due + timedelta(days=1)
        if as_of < start:
            continue
        plan = _plan(terms, start, rates)
        notes.update(dict.fromkeys(plan.notes))
        debt_periods = _debt_periods(plan, debt, start, as_of, currency)
        for period, exact, note in debt_periods:
            periods.append(period)
            exact_total += exact
            if note is not None:
                notes[note] = None
        if any(p.principal > 0 for p, _, _ in debt_periods):
            uk_act_applies = uk_act_applies or plan.uk_act_applies
            late_from = start if late_from is None else min(late_from, start)
    late = late_from is not None
    compensation, comp_currency = fixed_compensation(terms, invoice_amount)
    if terms.jurisdiction is Jurisdiction.UK:
        compensation = Decimal(0)
        if late and uk_act_applies:
            compensation, note = _uk_fixed_sum(invoice_amount, currency, late_from, to_gbp)
            if note is not None:
                notes[note] = None
    if not notes:
        notes[_no_claim_basis(terms, rates, as_of)] = None
    notes.update(moves)
    return LatePaymentClaim(
        jurisdiction=terms.jurisdiction,
        basis="; ".join(notes),
        currency=currency,
        as_of=as_of,
        interest=round_to_minor_units(exact_total, currency),
        compensation=compensation if late else Decimal(0),
        compensation_currency=comp_currency,
        periods=tuple(periods),
        rate_table_versions=rates.versions(),
    )


def _years_after(start: date, years: int) -> date:
    """The same day `years` later (29 February: 1 March when that year has none)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def _no_claim_basis(terms: ContractTerms, rates: ReferenceRates, as_of: date) -> str:
    """The basis of a claim with no debt overdue yet: the rule as it would start the next day."""
    try:
        return "; ".join(_plan(terms, as_of + timedelta(days=1), rates).notes)
    except RateUnavailableError:
        return f"no debt overdue on {as_of.isoformat()}"


def _debt_periods(
    plan: _Plan, debt: Debt, start: date, as_of: date, currency: str
) -> list[tuple[InterestPeriod, Decimal, str | None]]:
    # Day d bears interest on the balance at the end of d - 1: a change on day c shows from c + 1.
    cuts = {start}
    cuts.update(c.on + timedelta(days=1) for c in debt.balances if start < c.on + timedelta(days=1))
    if plan.refixed_per_half_year:
        boundary = _next_half_year(start)
        while boundary <= as_of:
            cuts.add(boundary)
            boundary = _next_half_year(boundary)
    anniversaries = set()
    if plan.compounds_yearly:
        years = 1
        while (anniversary := _years_after(start, years)) <= as_of:
            anniversaries.add(anniversary)
            years += 1
        cuts.update(anniversaries)
    bounds = sorted(d for d in cuts if d <= as_of)
    bounds.append(as_of + timedelta(days=1))

    out: list[tuple[InterestPeriod, Decimal, str | None]] = []
    capitalised = this_year = Decimal(0)
    for seg_start, seg_next in itertools.pairwise(bounds):
        if seg_start in anniversaries:  # Art. 6:119a(3) BW: the year's interest joins the principal
            capitalised += this_year
            this_year = Decimal(0)
        principal = debt.outstanding_at_end_of(seg_start - timedelta(days=1))
        if principal <= 0:
            continue
        principal += capitalised
        reference, annual, note = plan.rate_from(seg_start)
        days = (seg_next - seg_start).days
        exact = principal * annual * days / (100 * _YEAR_DAYS)
        this_year += exact
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
        out.append((period, exact, note))
    return out
