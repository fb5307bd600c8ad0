"""The one split of a payment the ledger and dunning's letters both ask (`split_payment`):
hand-computed figures, the law named in each test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arshield_latepay import (
    BalanceChange,
    ContractTerms,
    Debt,
    Jurisdiction,
    ReferenceRates,
    Settlement,
    split_payment,
)

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()
DUE = date(2025, 1, 31)  # a Friday: no move under BGB § 193
ISSUED = date(2025, 1, 1)


def _split(
    jurisdiction: Jurisdiction | None,
    payment: str,
    on: date,
    balances: tuple[tuple[date, str], ...] = ((ISSUED, "10000"),),
    *,
    costs_paid: str = "0",
    interest_paid: str = "0",
) -> Settlement:
    debt = Debt(DUE, tuple(BalanceChange(d, D(v)) for d, v in balances))
    return split_payment(
        ContractTerms(jurisdiction) if jurisdiction is not None else None,
        D(payment),
        principal=debt.balances[-1].outstanding,
        currency="EUR",
        invoice_amount=D(10000),
        debts=[debt],
        on=on,
        rates=RATES,
        costs_paid=D(costs_paid),
        interest_paid=D(interest_paid),
    )


def _parts(s: Settlement) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return s.costs, s.interest, s.principal, s.left


def test_germany_a_partial_payment_settles_costs_then_interest_then_principal() -> None:
    """BGB § 367 Abs. 1. 10,000 EUR due 31 January 2025, 5,000 paid on 2 March 2025: interest
    1-28 February and 1-2 March = 30 days at the Basiszinssatz of 1 January 2025 (2.27 %) + 9 =
    11.27 %: 10,000 x 11.27 % x 30 / 365 = 92.6301 -> 92.63 EUR; the 40 EUR (§ 288 Abs. 5)
    first, then 92.63, then 5,000 - 132.63 = 4,867.37 of the principal (5,132.63 left)."""
    assert _parts(_split(Jurisdiction.DE, "5000", date(2025, 3, 2))) == (
        D(40),
        D("92.63"),
        D("4867.37"),
        D(0),
    )


def test_germany_a_second_payment_settles_only_what_the_first_left_unpaid() -> None:
    """BGB § 367 Abs. 1, after the split above: 1,000 EUR paid on 1 April 2025. Interest accrued
    by then: 92.6301 + 5,132.63 x 11.27 % x 30 / 365 (3 March-1 April) = 92.6301 + 47.5436 =
    140.1737 -> 140.17; 92.63 already paid leaves 47.54; the 40 EUR is paid. So 47.54 interest and
    1,000 - 47.54 = 952.46 principal."""
    split = _split(
        Jurisdiction.DE,
        "1000",
        date(2025, 4, 1),
        ((ISSUED, "10000"), (date(2025, 3, 2), "5132.63")),
        costs_paid="40",
        interest_paid="92.63",
    )
    assert _parts(split) == (D(0), D("47.54"), D("952.46"), D(0))


def test_france_settles_interest_before_principal_and_costs_last() -> None:
    """Code civil art. 1343-1: the same 5,000 EUR on 2 March 2025 under L441-10 (ECB MRO of
    1 January 2025, 3.15 %, + 10 = 13.15 %): 10,000 x 13.15 % x 30 / 365 = 108.0822 -> 108.08
    interest, then 4,891.92 principal; the 40 EUR comes last and is not reached."""
    assert _parts(_split(Jurisdiction.FR, "5000", date(2025, 3, 2))) == (
        D(0),
        D("108.08"),
        D("4891.92"),
        D(0),
    )


@pytest.mark.parametrize("jurisdiction", [Jurisdiction.EU, Jurisdiction.UK, None])
def test_no_statutory_order_sends_the_payment_to_the_principal(
    jurisdiction: Jurisdiction | None,
) -> None:
    """Directive 2011/7/EU and the UK Act order nothing (nor is anything known without a law):
    the 5,000 goes to the principal, 5,000 left."""
    assert _parts(_split(jurisdiction, "5000", date(2025, 3, 2))) == (D(0), D(0), D(5000), D(0))


def test_a_payment_that_pays_off_the_principal_goes_to_the_principal() -> None:
    """BGB § 367 Abs. 2 read as the buyer's designation: 10,000 paid on 2 March 2025 pays the
    10,000 principal; the 92.63 interest and 40 EUR stay owed (not settled by it)."""
    assert _parts(_split(Jurisdiction.DE, "10000", date(2025, 3, 2))) == (
        D(0),
        D(0),
        D(10000),
        D(0),
    )
