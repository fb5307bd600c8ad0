"""The main job: the IBM receivables history replayed through the running platform agrees, invoice
by invoice and quarter by quarter, with what the CSV alone implies."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from harness import Row, Tenant, get_all

from arshield_cli.importers.receivables_csv import load_countries
from arshield_cli.reading import tenant_events
from arshield_events import topics

pytestmark = pytest.mark.e2e
AGEING_DATES = [
    date(2012, 3, 31),
    date(2012, 8, 15),
    date(2012, 12, 31),
    date(2013, 6, 30),
    date(2013, 11, 20),
]
QUARTERS = [
    (date(y, m, 1), (date(y + (m + 2) // 12, (m + 2) % 12 + 1, 1) - timedelta(days=1)))
    for y in (2012, 2013)
    for m in (1, 4, 7, 10)
]
CURRENCY = {code: place.currency for code, place in load_countries().items()}


def bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    return "61-90" if days_past_due <= 90 else "90+"


def expected_ageing(rows: list[Row], as_of: date) -> dict[str, dict[str, Decimal]]:
    ageing: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        if row.issued <= as_of < row.settled:
            ageing[CURRENCY[row.country]][bucket((as_of - row.due).days)] += row.amount
    return ageing


def receivables(
    rows: list[Row], as_of: date, currency: str, *, current_only: bool = False
) -> Decimal:
    return sum(
        (
            r.amount
            for r in rows
            if CURRENCY[r.country] == currency
            and r.issued <= as_of < r.settled
            and (not current_only or as_of <= r.due)
        ),
        Decimal(0),
    )


def test_every_invoice_is_settled_as_late_as_the_file_says(
    baseline: Tenant, rows: list[Row]
) -> None:
    with baseline.client("ledger") as ledger:
        invoices = {i["invoice_id"]: i for i in get_all(ledger, "/v1/invoices")}
    assert len(invoices) == len(rows)
    wrong = {
        r.invoice: (invoices[r.invoice]["days_late"], r.days_late)
        for r in rows
        if invoices[r.invoice]["days_late"] != r.days_late
    }
    assert not wrong, f"days late differ (ledger, file): {dict(list(wrong.items())[:10])}"
    assert all(invoices[r.invoice]["status"] == "paid" for r in rows)


@pytest.mark.parametrize("as_of", AGEING_DATES, ids=str)
def test_ageing_as_of_past_dates_matches_the_file(
    baseline: Tenant, rows: list[Row], as_of: date
) -> None:
    with baseline.client("ledger") as ledger:
        answer = ledger.get("/v1/portfolio/ageing", params={"as_of": as_of.isoformat()}).json()
    expected = expected_ageing(rows, as_of)
    got = {
        c["ageing"]["currency"]: {
            b: Decimal(v["amount"]) for b, v in c["ageing"]["buckets"].items()
        }
        for c in answer["currencies"]
    }
    for currency, buckets in expected.items():
        for name in ("current", "1-30", "31-60", "61-90", "90+"):
            assert got.get(currency, {}).get(name, Decimal(0)) == buckets.get(name, Decimal(0)), (
                f"{currency} {name} as of {as_of}"
            )


@pytest.mark.parametrize(("start", "end"), QUARTERS, ids=lambda d: str(d))
def test_dso_and_cei_per_quarter_match_the_file(
    baseline: Tenant, rows: list[Row], start: date, end: date
) -> None:
    with baseline.client("ledger") as ledger:
        answer = ledger.get(
            "/v1/metrics/dso", params={"from": start.isoformat(), "to": end.isoformat()}
        )
    assert answer.status_code == 200, answer.text
    metrics = {m["currency"]: m for m in answer.json()["metrics"]}
    days = (end - start).days + 1
    for currency in sorted(set(CURRENCY.values())):
        sales = sum(
            (
                r.amount
                for r in rows
                if CURRENCY[r.country] == currency and start <= r.issued <= end
            ),
            Decimal(0),
        )
        if not sales:
            continue
        closing = receivables(rows, end, currency)
        closing_current = receivables(rows, end, currency, current_only=True)
        opening = receivables(rows, start - timedelta(days=1), currency)
        dso = closing / sales * days
        best = closing_current / sales * days
        cei = (opening + sales - closing) / (opening + sales - closing_current) * 100
        got = metrics[currency]
        assert abs(Decimal(got["dso"]) - dso) < Decimal("0.01"), f"DSO {currency}"
        assert abs(Decimal(got["best_possible_dso"]) - best) < Decimal("0.01"), f"BPDSO {currency}"
        assert abs(Decimal(got["average_days_delinquent"]) - (dso - best)) < Decimal("0.02")
        assert abs(Decimal(got["cei_percent"]) - cei) < Decimal("0.01"), f"CEI {currency}"


WATCH_FROM_GRADE = 7
"""Dunning's default: a buyer risk-monitor downgrades to this grade or worse moves to the watch
cycle (a critical alert too)."""


def test_dunning_counts_follow_the_default_policy(baseline: Tenant, rows: list[Row]) -> None:
    """An action for day D fires when the invoice is known and still unpaid and not paused when
    D's tick is consumed; a day's facts follow its tick, and a dispute pauses its invoice. The
    buyers risk-monitor moved to the watch cycle follow that shorter cycle instead: the counts
    below are those of every other buyer, exactly."""
    from arshield_cli.stack import StackSettings

    bootstrap = StackSettings().kafka_bootstrap
    risk = asyncio.run(tenant_events(bootstrap, topics.RISK, baseline.name))
    watched = {
        e.data.buyer_id
        for e in risk
        if (type(e.data).__name__ == "BuyerDowngraded" and e.data.to_grade >= WATCH_FROM_GRADE)
        or (type(e.data).__name__ == "RiskAlertRaised" and e.data.level == "critical")
    }
    standard = {r.invoice for r in rows if r.buyer not in watched}
    assert standard, "every buyer went on watch"
    events = [
        e
        for e in asyncio.run(tenant_events(bootstrap, topics.DUNNING, baseline.name))
        if getattr(e.data, "invoice_id", None) in standard
    ]
    kinds = Counter(type(e.data).__name__ for e in events)
    levels = Counter(e.data.level for e in events if type(e.data).__name__ == "DunningLevelReached")
    assert len({e.id for e in events}) == len({(e.id, e.type) for e in events})
    rows = [r for r in rows if r.invoice in standard]

    def unpaid_on_tick(row: Row, day: date) -> bool:
        return row.issued < day <= row.settled

    def paused_on_tick(row: Row, day: date) -> bool:
        return row.disputed and min(row.due, row.settled) < day <= row.settled

    def fires(row: Row, day: date) -> bool:
        return unpaid_on_tick(row, day) and not paused_on_tick(row, day)

    assert kinds["PaymentReminderSent"] == sum(fires(r, r.due - timedelta(days=15)) for r in rows)
    assert levels["first_overdue_notice"] == sum(fires(r, r.due + timedelta(days=1)) for r in rows)
    assert levels["formal_notice"] == sum(fires(r, r.due + timedelta(days=30)) for r in rows)
    assert levels["agency_handover"] == sum(fires(r, r.due + timedelta(days=60)) for r in rows) == 0
