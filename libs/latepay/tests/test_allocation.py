"""The order a partial payment settles costs, interest and principal, by jurisdiction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arshield_latepay import Jurisdiction, settle

OWED = {"costs": Decimal("40.00"), "interest": Decimal("25.50"), "principal": Decimal("1000.00")}


def _split(jurisdiction: Jurisdiction, payment: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    s = settle(jurisdiction, Decimal(payment), **OWED)
    return s.costs, s.interest, s.principal, s.left


def test_germany_settles_costs_then_interest_then_principal() -> None:
    """BGB § 367 Abs. 1: 500 EUR against 40 costs, 25.50 interest and 1,000 principal settles
    40 + 25.50 and 500 - 65.50 = 434.50 of the principal."""
    assert _split(Jurisdiction.DE, "500") == (
        Decimal("40.00"),
        Decimal("25.50"),
        Decimal("434.50"),
        Decimal(0),
    )


def test_china_settles_costs_then_interest_then_principal() -> None:
    """Civil Code art. 561: 50 CNY settles the 40 costs and 10 of the 25.50 interest."""
    assert _split(Jurisdiction.CN, "50") == (
        Decimal("40.00"),
        Decimal("10"),
        Decimal(0),
        Decimal(0),
    )


def test_france_settles_interest_before_principal() -> None:
    """Code civil art. 1343-1: 500 EUR settles the 25.50 interest, then 474.50 of the principal;
    the costs, which the article does not order, come last."""
    assert _split(Jurisdiction.FR, "500") == (
        Decimal(0),
        Decimal("25.50"),
        Decimal("474.50"),
        Decimal(0),
    )


@pytest.mark.parametrize("jurisdiction", [Jurisdiction.EU, Jurisdiction.UK])
def test_elsewhere_the_principal_comes_first(jurisdiction: Jurisdiction) -> None:
    """No statutory order: 1,010 settles the 1,000 principal, then 10 of the interest."""
    assert _split(jurisdiction, "1010") == (Decimal(0), Decimal(10), Decimal("1000.00"), Decimal(0))


def test_what_exceeds_the_debt_is_left_over() -> None:
    """2,000 against 1,065.50 owed leaves 934.50 (cash on account)."""
    assert _split(Jurisdiction.DE, "2000")[3] == Decimal("934.50")


@given(
    jurisdiction=st.sampled_from(list(Jurisdiction)),
    payment=st.decimals(min_value=0, max_value=5000, places=2),
)
def test_a_payment_is_split_without_loss(jurisdiction: Jurisdiction, payment: Decimal) -> None:
    s = settle(jurisdiction, payment, **OWED)
    assert s.costs + s.interest + s.principal + s.left == payment
    assert s.costs <= OWED["costs"]
    assert s.interest <= OWED["interest"]
    assert s.principal <= OWED["principal"]
    assert s.left >= 0
