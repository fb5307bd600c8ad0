"""The simulator: deterministic per seed, and its ground truth agrees with the facts it wrote."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from arshield_cli.simulation.simulator import (
    SimulationConfig,
    financial_ratio,
    rating_grade,
    simulate,
    write_simulation,
)
from arshield_events.erp import InvoiceIssued, PaymentReceived
from arshield_events.external import InsolvencyNoticePublished

pytestmark = pytest.mark.unit
CONFIG = SimulationConfig(buyers=120, years=2, seed=3)


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    write_simulation(simulate(CONFIG), tmp_path / "a")
    write_simulation(simulate(CONFIG), tmp_path / "b")
    for name in ("erp.jsonl", "external.jsonl", "ground_truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = simulate(SimulationConfig(buyers=120, years=2, seed=4))
    assert [f.event.id for f in other.facts[:50]] != [
        f.event.id for f in simulate(CONFIG).facts[:50]
    ]


def test_facts_are_in_business_date_order_with_unique_ids() -> None:
    sim = simulate(CONFIG)
    days = [fact.on for fact in sim.facts]
    assert days == sorted(days)
    assert len({fact.event.id for fact in sim.facts}) == len(sim.facts)
    assert all(fact.event.time.date() == fact.on for fact in sim.facts)


def test_ground_truth_matches_the_facts(tmp_path: Path) -> None:
    sim = simulate(CONFIG)
    truth = {t.buyer_id: t for t in sim.truth}
    assert {t.profile for t in sim.truth} == {
        "healthy",
        "seasonal",
        "recovering",
        "deteriorating",
        "cloaking",
    }
    assert all(
        t.defaults == (t.profile in ("deteriorating", "cloaking")) or not t.defaults
        for t in sim.truth
    )
    notices = {
        f.event.subject: f.on
        for f in sim.facts
        if isinstance(f.event.data, InsolvencyNoticePublished)
    }
    assert notices == {b: t.default_on for b, t in truth.items() if t.kind == "insolvency"}
    due: dict[str, date] = {}
    paid: dict[str, float] = defaultdict(float)
    amount: dict[str, float] = {}
    payments: dict[str, list[date]] = defaultdict(list)
    for fact in sim.facts:
        data = fact.event.data
        if isinstance(data, InvoiceIssued):
            due[data.invoice_id], amount[data.invoice_id] = data.due_on, float(data.amount.amount)
        elif isinstance(data, PaymentReceived):
            payments[data.buyer_id].append(data.received_on)
            for part in data.allocations:
                paid[part.invoice_id] += float(part.amount.amount)
    for buyer, t in truth.items():
        if t.kind == "insolvency":
            assert all(on < t.default_on for on in payments[buyer])  # type: ignore[operator]
        if t.kind == "non_payment":
            unpaid = [due[i] for i in due if i.startswith(buyer) and paid[i] < amount[i] - 0.005]
            assert t.default_on == min(unpaid) + timedelta(days=90)
    document = json.loads(
        (write_simulation(sim, tmp_path) and tmp_path / "ground_truth.json").read_text()
    )
    assert len(document["buyers"]) == 120
    assert document["seed"] == 3


def test_financials_move_from_the_sound_to_the_failing_distribution() -> None:
    # At the median, equity / total assets of the sound Polish companies is 0.539, of the failing 0.258.
    assert financial_ratio("equity_ratio", 0.5, 0.0) == pytest.approx(0.539)
    assert financial_ratio("equity_ratio", 0.5, 1.0) == pytest.approx(0.258)
    assert financial_ratio("equity_ratio", 0.5, 0.5) == pytest.approx((0.539 + 0.258) / 2)
    assert rating_grade(1.0) == 1
    assert rating_grade(0.0) == 9
    assert rating_grade(0.3) == 7
