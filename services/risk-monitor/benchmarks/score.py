"""How long risk-monitor takes to score: one buyer on a fact (target: under 1 ms of Python), and
a business day that rescores 10,000 buyers (target: within seconds).

    uv run python services/risk-monitor/benchmarks/score.py [--buyers 10000] [--repeat 2]

Pure Python, no database or broker: the decider (record, signals, score, publish rules), and the
kernel on its in-memory store (adding the state's JSON codec, as the service pays it per buyer),
each tick measured again with the garbage collector off, in the same run.
Uses the shipped scorecard when there is one, else the test scorecard of tests/fixtures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import envelope
from arshield_risk_monitor.adapters import scorecards
from arshield_risk_monitor.adapters.public_events import publish_with
from arshield_risk_monitor.application.wiring import wiring
from arshield_risk_monitor.domain.commands import ReceivePayment, StartBusinessDay
from arshield_risk_monitor.domain.decide import DayContext, RiskDecider
from arshield_risk_monitor.domain.state import BuyerRisk, Financials, History, Invoice, Rating
from arshield_runtime.kernel import Kernel, run_batch
from arshield_runtime.statestore import InMemoryStateStore

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "scorecards"
DAY = date(2026, 6, 30)


def catalogue() -> tuple[dict[str, Any], str]:
    cards = dict(scorecards.shipped())
    if not cards:
        cards = dict(scorecards.from_directory(FIXTURES))
    return cards, sorted(cards)[-1]


def buyer(k: int, version: str) -> BuyerRisk:
    """A buyer with a year of monthly invoices (the last two open, one past due), a rating
    history and two financial reports: a busy but ordinary history."""
    invoices = tuple(
        Invoice(
            invoice_id=f"i{k}-{m}",
            due_on=DAY - timedelta(days=30 * m - 5),
            amount=Decimal("1000.00") + m,
            outstanding=Decimal(0) if m > 1 else Decimal("1000.00"),
            settled_on=DAY - timedelta(days=30 * m - 5 - (m % 7)) if m > 1 else None,
        )
        for m in range(12, -1, -1)
    )
    history = History(
        invoices=invoices,
        last_payment_on=DAY - timedelta(days=20),
        partial_payments=(DAY - timedelta(days=40),),
        disputes=(DAY - timedelta(days=10),),
        ratings=(
            Rating(published_on=DAY - timedelta(days=400), grade=4),
            Rating(published_on=DAY - timedelta(days=100), grade=5),
        ),
        financials=(
            Financials(
                period_end_on=DAY - timedelta(days=500),
                reported_on=DAY - timedelta(days=400),
                equity_ratio=0.3,
                current_ratio=1.4,
                return_on_assets=0.05,
            ),
            Financials(
                period_end_on=DAY - timedelta(days=135),
                reported_on=DAY - timedelta(days=35),
                equity_ratio=0.25,
                current_ratio=1.2,
                return_on_assets=0.02,
            ),
        ),
    )
    return BuyerRisk(
        tenant_id="bench",
        buyer_id=f"b{k:05d}",
        registered=True,
        as_of=DAY - timedelta(days=2),
        scorecard_version=version,
        version_seen=True,
        history=history,
    )


def assessed(decider: RiskDecider, state: BuyerRisk, version: str) -> BuyerRisk:
    """The buyer as the day before left it: scored and published (the steady state a tick
    finds)."""
    day = DAY - timedelta(days=1)
    for event in decider.decide(state, StartBusinessDay(on=day, scorecard_version=version)):
        state = decider.evolve(state, event)
    return state


def fact_scoring(decider: RiskDecider, state: BuyerRisk, rounds: int) -> list[float]:
    timings = []
    for n in range(rounds):
        command = ReceivePayment(
            payment_id=f"p{n}", amount=Decimal("300.00"), allocations=(), on=DAY
        )
        start = time.perf_counter()
        events = decider.decide(state, command)
        after = state
        for event in events:
            after = decider.evolve(after, event)
        timings.append(time.perf_counter() - start)
    return timings


async def tick_through_kernel(cards: dict[str, Any], version: str, buyers: int) -> float:

    async def context(session: Any, tenant: str, day: date) -> DayContext:
        return DayContext(version)

    from dataclasses import replace

    store = InMemoryStateStore()
    base = wiring(
        cards,
        version,
        source="arshield/risk-monitor",
        store=store,
        read_models=lambda labels: (),
        publish=publish_with,
    )
    kernel = Kernel(replace(base, day_context=context, projections=()), store)
    codec, decider = base.state, base.decider
    for k in range(buyers):
        state = assessed(decider, buyer(k, version), version)  # type: ignore[arg-type]
        store.states[("bench", state.buyer_id)] = (codec.dump_json(state).decode(), DAY)
    tick = envelope(
        BusinessDayStarted(business_date=DAY),
        id="tick",
        source="arshield/clock",
        subject="bench",
        tenantid="bench",
        time=datetime.now(UTC),
    )
    start = time.perf_counter()
    await run_batch(kernel, [tick])
    return time.perf_counter() - start


async def tick_without_gc(cards: dict[str, Any], version: str, buyers: int) -> float:
    """The same tick with the garbage collector off (set-up included, collected after): how much
    of the tick is the collector walking the states the batch holds."""
    import gc

    gc.collect()
    gc.disable()
    try:
        return await tick_through_kernel(cards, version, buyers)
    finally:
        gc.enable()
        gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2_000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="ticks measured (each with and without the GC)"
    )
    args = parser.parse_args()
    cards, version = catalogue()
    decider = RiskDecider(cards, version)
    state = assessed(decider, buyer(0, version), version)
    fact_scoring(decider, state, 200)  # warm up
    timings = fact_scoring(decider, state, args.rounds)
    print(f"scorecard {version}; a buyer with {len(state.history.invoices)} invoices")
    print(
        f"score one buyer on a fact: median {statistics.median(timings) * 1e3:.3f} ms, "
        f"p95 {sorted(timings)[int(len(timings) * 0.95)] * 1e3:.3f} ms "
        f"({args.rounds} payments)"
    )
    states = [assessed(decider, buyer(k, version), version) for k in range(args.buyers)]
    start = time.perf_counter()
    for s in states:
        for event in decider.decide(s, StartBusinessDay(on=DAY, scorecard_version=version)):
            s = decider.evolve(s, event)
    pure = time.perf_counter() - start
    print(f"rescore {args.buyers} buyers at a tick (decider only): {pure:.2f} s")
    for _ in range(args.repeat):
        kernel = asyncio.run(tick_through_kernel(cards, version, args.buyers))
        print(
            f"rescore {args.buyers} buyers at a tick (kernel, in-memory store, JSON state): "
            f"{kernel:.2f} s ({kernel / args.buyers * 1e3:.3f} ms a buyer)"
        )
        quiet = asyncio.run(tick_without_gc(cards, version, args.buyers))
        print(
            f"  the same with the garbage collector off: {quiet:.2f} s "
            f"({quiet / args.buyers * 1e3:.3f} ms a buyer)"
        )


if __name__ == "__main__":
    main()
