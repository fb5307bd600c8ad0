"""The early warning, black box: a simulated buyer whose hidden health falls towards an insolvency.
The platform sees only what a real portfolio shows (its invoices and how they are paid, its ratings
and financial statements), and the history is replayed up to the day before the insolvency notice:
risk-monitor must already have downgraded it to a watch grade, and dunning must have moved it to
the watch cycle, before it defaults."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from harness import Tenant, new_tenant, replay

from arshield_cli.reading import tenant_events
from arshield_cli.simulation.simulator import BuyerTruth, SimulationConfig, simulate
from arshield_cli.stack import StackSettings
from arshield_events import topics

pytestmark = pytest.mark.e2e

SEED, BUYER = 1, "B00005"
"""Seed 1's fifth buyer: `deteriorating`, insolvent on 2024-10-24 (the simulator's ground truth)."""
WATCH_FROM_GRADE = 7
"""Dunning's default: a downgrade to this grade or worse moves the buyer to the watch cycle."""


@pytest.fixture(scope="module")
def deteriorating(services: StackSettings) -> tuple[Tenant, BuyerTruth, list[Any]]:
    tenant = new_tenant(services, "early")
    sim = simulate(SimulationConfig(buyers=20, years=2, seed=SEED, tenant=tenant.name))
    (truth,) = [t for t in sim.truth if t.buyer_id == BUYER]
    assert truth.profile == "deteriorating"
    assert truth.default_on is not None
    before = truth.default_on - timedelta(days=1)
    facts = [
        f for f in sim.facts if getattr(f.event.data, "buyer_id", None) == BUYER and f.on <= before
    ]
    replay(services, tenant.name, facts, to=before)
    risk = asyncio.run(tenant_events(services.kafka_bootstrap, topics.RISK, tenant.name))
    return tenant, truth, risk


def test_risk_monitor_downgrades_the_buyer_to_a_watch_grade_before_it_defaults(
    deteriorating: tuple[Tenant, BuyerTruth, list[Any]],
) -> None:
    _, truth, risk = deteriorating
    assert truth.default_on is not None
    downgrades = [
        e.data
        for e in risk
        if type(e.data).__name__ == "BuyerDowngraded" and e.data.buyer_id == BUYER
    ]
    to_watch = [d for d in downgrades if d.to_grade >= WATCH_FROM_GRADE]
    assert to_watch, f"no downgrade to grade {WATCH_FROM_GRADE}+ before the default: {downgrades}"
    assert to_watch[0].downgraded_on < truth.default_on
    assert not [e for e in risk if type(e.data).__name__ == "BuyerInsolvent"]


def test_dunning_moves_the_buyer_to_the_watch_cycle_before_it_defaults(
    deteriorating: tuple[Tenant, BuyerTruth, list[Any]],
) -> None:
    tenant, _, _ = deteriorating
    with tenant.client("dunning") as dunning:
        standing = dunning.get(f"/v1/buyers/{BUYER}/dunning")
    assert standing.status_code == 200, standing.text
    assert standing.json()["on_watch"] is True, standing.json()
