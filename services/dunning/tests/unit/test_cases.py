"""The agency-case state machine: forward-only transitions and the collected total's invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arshield_dunning.domain.cases import (
    CASE_ORDER,
    AgencyCase,
    CaseRefused,
    CaseReport,
    decide_update,
    evolve_case,
)
from arshield_dunning.domain.state import Money

pytestmark = pytest.mark.unit

ON = date(2024, 5, 2)


def case(status: str = "handed_over", collected: str = "0") -> AgencyCase:
    return AgencyCase(
        case_id="C1",
        buyer_id="B1",
        agency_id="A1",
        status=status,
        amount=Decimal("1000.00"),
        currency="EUR",
        collected=Decimal(collected),
    )


def report(status: str, collected: str | None = None, currency: str = "EUR") -> CaseReport:
    money = Money(amount=Decimal(collected), currency=currency) if collected else None
    return CaseReport(status=status, collected=money, updated_on=ON)


def test_a_case_moves_forward_and_keeps_its_running_total() -> None:
    c = case()
    for status, collected in (
        ("accepted", None),
        ("collecting", "0"),
        ("payment_collected", "400"),
        ("payment_collected", "900"),
        ("closed", None),
    ):
        c = evolve_case(c, decide_update(c, report(status, collected)))
    assert (c.status, c.collected) == ("closed", Decimal("900"))


@pytest.mark.parametrize(
    ("status", "wanted", "kind"),
    [
        ("closed", "payment_collected", "closed"),
        ("collecting", "accepted", "transition"),
        ("accepted", "accepted", "transition"),
    ],
)
def test_a_case_refuses_to_go_back_or_to_reopen(status: str, wanted: str, kind: str) -> None:
    with pytest.raises(CaseRefused) as refused:
        decide_update(case(status), report(wanted, "10" if wanted == "payment_collected" else None))
    assert refused.value.kind == kind


@pytest.mark.parametrize(
    ("collected", "currency", "field"),
    [
        ("1000.01", "EUR", "collected.amount"),  # more than the case claims
        ("100", "USD", "collected.currency"),
        ("200", "EUR", "collected.amount"),  # less than the 300 already collected
    ],
)
def test_collected_amounts_keep_their_invariants(collected: str, currency: str, field: str) -> None:
    with pytest.raises(CaseRefused) as refused:
        decide_update(case("collecting", "300"), report("payment_collected", collected, currency))
    assert (refused.value.kind, refused.value.field) == ("invalid", field)


def test_payment_collected_needs_a_positive_total() -> None:
    with pytest.raises(CaseRefused) as refused:
        decide_update(case(), report("payment_collected"))
    assert refused.value.field == "collected"


@given(
    statuses=st.lists(st.sampled_from(sorted(CASE_ORDER)), max_size=8),
    amounts=st.lists(st.integers(min_value=0, max_value=1200), max_size=8),
)
def test_whatever_is_reported_the_total_never_falls_nor_exceeds_the_claim(
    statuses: list[str], amounts: list[int]
) -> None:
    c = case()
    for status, amount in zip(statuses, amounts, strict=False):
        before = c
        try:
            c = evolve_case(c, decide_update(c, report(status, str(amount))))
        except CaseRefused:
            assert c == before
            continue
        assert before.collected <= c.collected <= c.amount
        assert CASE_ORDER[c.status] >= CASE_ORDER[before.status]
