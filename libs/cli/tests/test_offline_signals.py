"""The offline signals and scorecard arithmetic on a hand-made buyer."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from arshield_cli.simulation.scorecard import Scorecard
from arshield_cli.simulation.signals import histories
from arshield_events.envelope import Payload, envelope
from arshield_events.erp import Allocation, DisputeRaised, InvoiceIssued, PaymentReceived
from arshield_events.external import BuyerFinancialsReported, BuyerRatingPublished
from arshield_events.money import Money

pytestmark = pytest.mark.unit


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def fact(data: Payload, n: int) -> Any:
    return envelope(
        data,
        id=f"e{n}",
        source="test",
        subject="B",
        tenantid="t",
        time=datetime.combine(date(2024, 1, 1), time(9), tzinfo=UTC),
    )


def invoice(number: str, issued: date, due: date, amount: str) -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=number,
        invoice_number=number,
        buyer_id="B",
        issued_on=issued,
        due_on=due,
        amount=eur(amount),
        payment_terms_days=(due - issued).days,
    )


def payment(pid: str, on: date, amount: str, invoice_id: str | None = None) -> PaymentReceived:
    allocations = (Allocation(invoice_id=invoice_id, amount=eur(amount)),) if invoice_id else ()
    return PaymentReceived(
        payment_id=pid, buyer_id="B", amount=eur(amount), received_on=on, allocations=allocations
    )


FACTS = [
    invoice("I1", date(2024, 1, 1), date(2024, 1, 31), "100.00"),
    invoice("I2", date(2024, 2, 1), date(2024, 3, 2), "300.00"),
    payment("P1", date(2024, 2, 10), "100.00", "I1"),  # 10 days late, settles I1
    payment("P2", date(2024, 3, 2), "100.00"),  # unallocated: oldest open (I2), partly
    DisputeRaised(
        dispute_id="D1",
        invoice_id="I2",
        buyer_id="B",
        disputed_amount=eur("200.00"),
        reason="short delivery",
        raised_on=date(2024, 3, 5),
    ),
    BuyerRatingPublished(buyer_id="B", provider_id="r", grade=3, published_on=date(2023, 1, 1)),
    BuyerRatingPublished(buyer_id="B", provider_id="r", grade=5, published_on=date(2024, 2, 1)),
    BuyerFinancialsReported(
        buyer_id="B",
        provider_id="f",
        period_end_on=date(2022, 12, 31),
        equity=eur("400.00"),
        total_assets=eur("1000.00"),
        reported_on=date(2023, 4, 1),
    ),
    BuyerFinancialsReported(
        buyer_id="B",
        provider_id="f",
        period_end_on=date(2023, 12, 31),
        equity=eur("250.00"),
        total_assets=eur("1000.00"),
        net_income=eur("-50.00"),
        current_ratio=Decimal("0.9"),
        reported_on=date(2024, 3, 1),
    ),
]


def test_signals_as_of_a_day() -> None:
    history = histories(fact(data, n) for n, data in enumerate(FACTS))["B"]
    s = history.signals(date(2024, 3, 12))
    # Due in the last 90 days: I1 (100, 10 days late) and I2 (300, unpaid, 10 days past due).
    assert s["dbt_90d"] == pytest.approx(10.0)
    assert s["dbt_trend"] == pytest.approx(0.0)
    assert s["late_share_12m"] == 1.0  # I1, the one settled, late
    assert s["partial_payments_90d"] == 1.0  # P2 left I2 partly unpaid
    assert s["disputes_90d"] == 1.0
    assert s["days_since_payment"] == 10.0  # last payment 2 March, I2 past due
    assert s["overdue_days"] == 10.0  # I2, due 2 March, the oldest open invoice past due
    assert s["external_grade"] == 5.0
    assert s["external_grade_change_12m"] == 2.0  # from the 3 in force a year before
    assert s["equity_ratio"] == pytest.approx(0.25)
    assert s["current_ratio"] == pytest.approx(0.9)
    assert s["return_on_assets"] == pytest.approx(-0.05)
    assert s["equity_trend"] == pytest.approx(-0.15)
    # Before anything fell due, nothing is past due and there is no days-beyond-terms figure.
    early = history.signals(date(2024, 1, 15))
    assert early["dbt_90d"] is None
    assert early["days_since_payment"] == 0.0
    assert early["overdue_days"] == 0.0
    # The naive rule trips when I2 is 30 days overdue (1 April).
    assert history.naive_trip() == date(2024, 4, 1)


def test_scorecard_arithmetic() -> None:
    card = Scorecard(
        {
            "version": "t",
            "base_points": 600,
            "factors": [
                {
                    "signal": "dbt_90d",
                    "missing_points": 0,
                    "bins": [
                        {"upper": 1.0, "points": 35},
                        {"upper": 10.0, "points": 10},
                        {"upper": None, "points": -80},
                    ],
                },
            ],
            "calibration": {"intercept": -4.2, "slope": -0.018, "reference_points": 600},
            "master_scale": [0.0003, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 1.0],
        }
    )
    # 10.0 is not below the second bin's upper bound: the last bin, 600 - 80 = 520.
    score = card.score({"dbt_90d": 10.0})
    assert score.points == 520
    # PD = 1 / (1 + exp(4.2 - 0.018 * 80)) = 1 / (1 + exp(2.76)) = 0.0595: grade 8.
    assert score.pd == pytest.approx(0.05952, abs=1e-4)
    assert score.grade == 8
    assert card.score({"dbt_90d": None}).points == 600
    assert card.score({"dbt_90d": 0.5}).factors == {"dbt_90d": 35}


def test_offline_alerts_apply_the_service_rules_and_their_persistence() -> None:
    from arshield_cli.simulation.offline import offline_alerts
    from arshield_risk_monitor.domain.scorecard import AlertThresholds

    card = Scorecard(
        {
            "version": "t",
            "base_points": 600,
            "factors": [],
            "calibration": {"intercept": -4.2, "slope": -0.018, "reference_points": 600},
            "master_scale": [0.0003, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 1.0],
        }
    )
    rated = BuyerRatingPublished(
        buyer_id="B", provider_id="r", grade=8, published_on=date(2024, 1, 5)
    )
    found = histories([fact(rated, 1)])
    start, end = date(2024, 1, 1), date(2024, 3, 1)
    # an external grade of 8 is a warning rule from 5 January; it must hold 10 days (warning)
    # and 3 days (watch, which the warning rule implies) before the level is in force
    rules = AlertThresholds(warning_after_days=10, watch_after_days=3)
    risk = offline_alerts(found, card, start, end, rules=rules)
    assert risk.first_watch == {"B": date(2024, 1, 8)}
    assert risk.first_warning == {"B": date(2024, 1, 15)}
    at_once = offline_alerts(found, card, start, end, rules=AlertThresholds())
    assert at_once.first_warning == {"B": date(2024, 1, 5)}
