"""The order credit check with hand-computed figures: default policy, grade 5 (unrated), no cover:
limit = min(grade cap 200,000, 0 + appetite 50,000) = 50,000 EUR; the tolerance is 110 %."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.check import CheckRequest, check
from arshield_credit_assessment.domain.events import DecisionMade, OrderOpened
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY
from arshield_credit_assessment.domain.review import Terms
from arshield_credit_assessment.domain.state import BuyerCredit

from .factories import DAY, REVIEWER, D, buyer, of, run

pytestmark = pytest.mark.unit

INVOICE = c.TrackInvoice("i1", "EUR", D(20_000), DAY + timedelta(days=45), None, DAY, None)
ORDER = c.PlaceOrder("o1", D(10_000), "EUR", DAY, None, None, "order-o1")


def ask(amount: str, currency: str = "EUR", terms: int | None = None, order: str = "o9") -> Any:
    return CheckRequest(f"order-{order}", order, D(amount), currency, terms, DAY)


def exposed() -> BuyerCredit:
    """Exposure 30,000 EUR: an open invoice of 20,000 and an open order of 10,000."""
    state = buyer(INVOICE, ORDER)
    assert state.exposure("EUR") == D(30_000)
    return state


def test_within_the_limit_is_approved() -> None:
    decision = check(exposed(), DEFAULT_POLICY, ask("15000"))
    assert decision.decision == "approved"
    assert (decision.credit_limit, decision.exposure_before, decision.exposure_after) == (
        D(50_000),
        D(30_000),
        D(45_000),
    )
    assert decision.reason_codes == ("within_limit",)
    assert decision.policy_version == "credit-v0"


def test_above_the_limit_within_110_percent_is_referred_and_beyond_it_declined() -> None:
    referred = check(exposed(), DEFAULT_POLICY, ask("22000"))  # 52,000 <= 55,000
    assert (referred.decision, referred.reason_codes) == ("referred", ("within_tolerance",))
    declined = check(exposed(), DEFAULT_POLICY, ask("25000.01"))  # 55,000.01 > 55,000
    assert (declined.decision, declined.reason_codes) == ("declined", ("over_limit",))
    edge = check(exposed(), DEFAULT_POLICY, ask("25000"))  # exactly 110 %
    assert edge.decision == "referred"


def test_an_unknown_buyer_is_declined() -> None:
    decision = check(BuyerCredit("t1", "nobody"), DEFAULT_POLICY, ask("1"))
    assert (decision.decision, decision.reason_codes) == ("declined", ("unknown_buyer",))
    assert decision.credit_limit is None


def test_another_currency_than_the_limit_is_referred_with_the_reason() -> None:
    decision = check(exposed(), DEFAULT_POLICY, ask("100", "USD"))
    assert (decision.decision, decision.reason_codes) == ("referred", ("currency_mismatch",))
    assert "order in USD, the credit limit is in EUR" in decision.reasons[0]
    assert (decision.credit_limit, decision.exposure_before) == (None, D(0))


def test_grade_7_is_referred_and_a_sale_past_half_the_limit_needs_security() -> None:
    state = buyer(c.NoteGrade(7, "payment stop", DAY))
    # grade 7: cap 50,000, appetite 10,000 -> limit 10,000; half of it 5,000
    small = check(state, DEFAULT_POLICY, ask("4000"))
    assert small.reason_codes == ("grade_referral",)
    large = check(state, DEFAULT_POLICY, ask("6000"))
    assert large.reason_codes == ("grade_referral", "security_required")


def test_grades_9_and_10_sell_on_prepayment_only() -> None:
    state = buyer(c.NoteGrade(9, "distress", DAY))
    decision = check(state, DEFAULT_POLICY, ask("1"))
    assert decision.decision == "declined"
    assert decision.reason_codes[0] == "prepayment_only"


def test_a_hold_declines_with_credit_hold_and_stop_supply_with_its_own_code() -> None:
    held, _ = run(exposed(), c.NoteBalance("i1", "EUR", D(20_000), DAY, days_overdue=31))
    assert check(held, DEFAULT_POLICY, ask("1")).reason_codes == ("credit_hold",)
    stopped = buyer(c.PlaceHold("stop_supply", "insurer: MEP expired", DAY))
    assert check(stopped, DEFAULT_POLICY, ask("1")).reason_codes == ("stop_supply",)
    insolvent = buyer(c.PlaceHold("insolvency", "notice", DAY, insolvent=True))
    assert check(insolvent, DEFAULT_POLICY, ask("1")).reason_codes == ("insolvency",)


def test_terms_beyond_the_grade_an_alert_and_failing_contract_terms_are_referred() -> None:
    state = exposed()
    assert check(state, DEFAULT_POLICY, ask("100", terms=60)).reason_codes == (
        "terms_exceed_grade",
    )
    alerted, _ = run(state, c.NoteAlert("watch", "days_beyond_terms_rising: +12", DAY))
    assert check(alerted, DEFAULT_POLICY, ask("100")).reason_codes == ("risk_alert",)
    review = REVIEWER.review(Terms("FR", 90, D(100), DAY), ("FR",))
    failing = replace(ask("100"), review=review)
    decision = check(state, DEFAULT_POLICY, failing)
    assert decision.decision == "referred"
    assert decision.reason_codes == ("contract_terms",)
    assert "payment_terms_limit" in decision.reasons[0]


def test_the_same_order_gets_the_same_decision_until_a_fact_changes() -> None:
    state = exposed()
    first, again = (
        check(state, DEFAULT_POLICY, ask("15000")),
        check(state, DEFAULT_POLICY, ask("15000")),
    )
    assert first == again
    changed, _ = run(state, c.NoteGrade(4, "better", DAY))  # the limit stays 50,000
    assert check(changed, DEFAULT_POLICY, ask("15000")).decision_id == first.decision_id
    moved, _ = run(state, c.NoteBalance("i1", "EUR", D(5_000), DAY))  # exposure changed
    assert check(moved, DEFAULT_POLICY, ask("15000")).decision_id != first.decision_id


def test_an_order_placed_on_the_log_is_decided_without_counting_itself_twice() -> None:
    state, events = run(buyer(INVOICE), ORDER)
    (decision,) = of(events, DecisionMade)
    assert of(events, OrderOpened)
    assert (decision.decision.exposure_before, decision.decision.exposure_after) == (
        D(20_000),
        D(30_000),
    )
    # an invoice for the order closes it: the exposure is the invoice, not both
    state, _ = run(
        state, c.TrackInvoice("i2", "EUR", D(10_000), DAY + timedelta(days=45), "o1", DAY, None)
    )
    assert (state.exposure("EUR"), state.open_orders("EUR")) == (D(30_000), D(0))
    state, _ = run(state, c.PlaceOrder("o2", D(1_000), "EUR", DAY, None, None, "order-o2"))
    state, _ = run(state, c.CancelOrder("o2"))
    assert state.exposure("EUR") == D(30_000)


def test_an_order_invoiced_in_part_stays_open_for_the_rest() -> None:
    """Order o1 of 10,000 beside invoice i1 of 20,000 (exposure 30,000). Invoice i2 of 4,000 for
    o1: receivables 24,000, o1 open for 10,000 - 4,000 = 6,000, exposure still 30,000. The same
    invoice again changes nothing; invoice i3 of 6,000 invoices the rest and closes o1; an
    over-invoiced order closes too (nothing left open, not a negative order)."""
    due = DAY + timedelta(days=45)
    part = c.TrackInvoice("i2", "EUR", D(4_000), due, "o1", DAY, None)
    state, _ = run(exposed(), part)
    assert state.orders["o1"].amount == D(6_000)
    assert (state.exposure("EUR"), state.open_orders("EUR")) == (D(30_000), D(6_000))
    again, _ = run(state, part)
    assert again.orders["o1"].amount == D(6_000)
    rest, _ = run(state, c.TrackInvoice("i3", "EUR", D(6_000), due, "o1", DAY, None))
    assert "o1" not in rest.orders
    assert (rest.exposure("EUR"), rest.open_orders("EUR")) == (D(30_000), D(0))
    over, _ = run(exposed(), c.TrackInvoice("i4", "EUR", D(12_000), due, "o1", DAY, None))
    assert "o1" not in over.orders
    assert over.exposure("EUR") == D(32_000)  # 20,000 + 12,000 invoiced, no order left
