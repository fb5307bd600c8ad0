"""The deadline engine at one business-day tick over 10,000 buyers with cover, timed.

`uv run python services/insurance-claims/benchmarks/deadlines.py [--buyers 10000] [--baseline main]`:
every buyer has an insurer's cover and three open invoices. Two books are timed:

- `spread`: the due dates spread over a year, as in a real book: the kernel wakes only the buyers
  with a deadline that day (their wake-up dates are exact), the others cost nothing;
- `all due`: the worst case, every buyer has a deadline that very day: a quarter at MEP expiry
  (stop-supply and notification), a quarter at the end of the waiting period (a claim), a
  quarter after an insolvency (notification, stop-supply, claim) and a quarter merely planned.

The tick runs through the kernel's router as the consumer drives it (due buyers found, states
decoded, the day decided, states encoded with their next wake-up, public events mapped,
enveloped and serialised for the outbox) on the in-memory state store: the database's I/O is not
in the figures. Target: within 1 s for 10,000 buyers.

The same books are timed, in the same run, on the code of a baseline git ref (`--baseline`,
default `main`; its `libs/*/src` and `services/*/src` go first on the path), in alternating rounds
so that the load of a shared machine falls on both alike; the script prints both medians and their
ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import envelope
from arshield_insurance_claims.application.wiring import DayContext, wiring
from arshield_insurance_claims.domain.commands import AggregateBudget, StartBusinessDay
from arshield_insurance_claims.domain.day import wake_on
from arshield_insurance_claims.domain.decide import decide
from arshield_insurance_claims.domain.evolve import evolve
from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import BuyerInsurance, CoverRecord, Invoice
from arshield_runtime.kernel import Kernel
from arshield_runtime.messaging import BatchScope, HandlerContext, Origin
from arshield_runtime.statestore import InMemoryStateStore

TENANT = "bench"
TODAY = date(2025, 9, 1)
POLICY = InsurancePolicy(
    policy_id="POL-1",
    version=1,
    effective_on=date(1900, 1, 1),
    insurer="Bench Credit",
    insurer_id="ins_bench",
    currency="EUR",
    aggregate_limit=Decimal("1e12"),
    period_start_on=date(2025, 1, 1),
)
CODEC = TypeAdapter(BuyerInsurance)


def buyer(n: int, *, spread: bool) -> BuyerInsurance:
    if spread:
        oldest = TODAY - timedelta(days=n % 365)
    else:
        # the oldest due date puts the buyer at MEP expiry, at the claim, or just overdue
        oldest = {0: TODAY - timedelta(days=60), 1: TODAY - timedelta(days=180)}.get(
            n % 4, TODAY - timedelta(days=20)
        )
    invoices = {}
    for k in range(3):
        due = oldest + timedelta(days=10 * k)
        issued = due - timedelta(days=60)
        invoices[f"I{n}-{k}"] = Invoice(
            invoice_id=f"I{n}-{k}",
            number=f"N{n}-{k}",
            currency="EUR",
            amount=Decimal(3000),
            outstanding=Decimal(3000),
            issued_on=issued,
            delivered_on=issued,
            due_on=due,
            terms_days=60,
        )
    cover = CoverRecord(
        decision_id=f"dec-{n}",
        decided_by="insurer",
        decision="full",
        amount=Decimal(8000),
        currency="EUR",
        notified_on=date(2024, 12, 1),
        effective_on=date(2024, 12, 1),
        policy_id="POL-1",
    )
    return BuyerInsurance(
        tenant_id=TENANT,
        buyer_id=f"B{n:05d}",
        invoices=invoices,
        covers=(cover,),
        insolvent_on=TODAY - timedelta(days=3) if n % 4 == 2 and not spread else None,
        policy=POLICY,
    )


def seeded(states: list[BuyerInsurance]) -> InMemoryStateStore:
    store = InMemoryStateStore()
    for state in states:
        store.states[(TENANT, state.buyer_id)] = (
            CODEC.dump_json(state).decode(),
            wake_on(state),
        )
    return store


async def tick_once(kernel: Kernel[Any, Any, Any], tick: Any) -> tuple[float, float, int]:
    """(seconds, CPU seconds, events emitted) of one tick through the kernel's router."""
    router, scope = kernel.router(), BatchScope()
    session: Any = None
    started, cpu = time.perf_counter(), time.process_time()
    ctx = HandlerContext(session, tick, Origin("bench", 0, 0), "arshield/bench", batch=scope)
    handler = router.handler_for(tick.data)
    assert handler is not None
    await handler(ctx)
    await scope.flush(session)
    return time.perf_counter() - started, time.process_time() - cpu, len(ctx.emitted)


def without_read_models() -> Any:
    """The service's wiring with no read models (a baseline may predate its ports)."""
    try:
        from arshield_insurance_claims.adapters.postgres import PORTS
        from arshield_insurance_claims.adapters.public_events import publish
    except ImportError:
        return dataclasses.replace(wiring("arshield/insurance-claims"), projections=())
    return wiring("arshield/insurance-claims", PORTS, read_models=(), publish=publish)


async def book(count: int, *, spread: bool, repeat: int) -> dict[str, Any]:
    """One book's tick, `repeat` times from the same stored states."""
    states = [buyer(n, spread=spread) for n in range(count)]

    async def day_context(session: Any, tenant_id: str, day: date) -> DayContext:
        return DayContext({"POL-1": POLICY}, AggregateBudget({"POL-1": POLICY.aggregate_limit}))

    bench_wiring = dataclasses.replace(without_read_models(), day_context=day_context)
    tick = envelope(
        BusinessDayStarted(business_date=TODAY),
        id="tick-1",
        source="arshield/clock",
        subject=TENANT,
        tenantid=TENANT,
        time=datetime.now(UTC),
    )
    store = seeded(states)
    if spread:
        # the book as the day before left it: every earlier deadline already taken
        yesterday = tick.model_copy(
            update={"data": BusinessDayStarted(business_date=TODAY - timedelta(days=1))}
        )
        await tick_once(Kernel(bench_wiring, store), yesterday)
    settled = dict(store.states)
    due_today = sum(1 for _, wake in settled.values() if wake is not None and wake <= TODAY)
    timings, cpu, emitted = [], [], 0
    for _ in range(repeat):
        store.states = dict(settled)
        elapsed, used, emitted = await tick_once(Kernel(bench_wiring, store), tick)
        timings.append(elapsed)
        cpu.append(used)
    return {"due": due_today, "emitted": emitted, "seconds": timings, "cpu": cpu}


def engine_alone(count: int, repeat: int) -> dict[str, Any]:
    """The pure deadline engine on the all-due book: the day decided and evolved for every buyer,
    without the kernel (no codec, no public events): what the domain itself costs."""
    states = [buyer(n, spread=False) for n in range(count)]
    budget = AggregateBudget({"POL-1": POLICY.aggregate_limit})
    timings, cpu, decided = [], [], 0
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        decided = 0
        for state in states:
            after = state
            for event in decide(state, StartBusinessDay(on=TODAY, policy=POLICY, budget=budget)):
                after = evolve(after, event)
                decided += 1
            wake_on(after)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return {"due": count, "emitted": decided, "seconds": timings, "cpu": cpu}


def as_the_service_runs() -> str:
    """The process set up as the runtime sets a service's (a baseline may predate that)."""
    try:
        from arshield_runtime.service import tune_collector
    except ImportError:
        return "interpreter defaults"
    tune_collector()
    return "the service's"


async def measure(count: int, repeat: int, young: int) -> dict[str, Any]:
    if young:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(young, older, oldest)
    collector = f"young generation at {young:,}" if young else as_the_service_runs()
    return {
        "collector": collector,
        "spread": await book(count, spread=True, repeat=repeat),
        "all due": await book(count, spread=False, repeat=repeat),
        "all due, the domain alone": engine_alone(count, repeat),
    }


# --- the same run on a baseline ref ---------------------------------------------------------------


def run_inner(count: int, repeat: int, sources: list[Path], young: int = 0) -> dict[str, Any]:
    from arshield_cli.baseline import run_measure  # the outer run only: a baseline may predate it

    # This script, with the measured code first on the path (a baseline ref may predate it).
    args = ["--inner", "--buyers", str(count), "--repeat", str(repeat), "--young", str(young)]
    return run_measure(__file__, args, sources)  # type: ignore[no-any-return]


def merged(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run in runs:
        for name, figures in run.items():
            if not isinstance(figures, dict):
                out[name] = figures
                continue
            kept = out.setdefault(name, {**figures, "seconds": [], "cpu": []})
            kept["seconds"] += figures["seconds"]
            kept["cpu"] += figures["cpu"]
    return out


def report(count: int, results: dict[str, dict[str, Any]], baseline: str | None) -> None:
    """Medians of wall time (the target's measure) and of the process's CPU time (steadier on a
    shared machine: time spent waiting for a core is not in it), and the speed-up of each."""
    ours = results["this checkout"]
    theirs = results.get(f"baseline {baseline}") if baseline else None
    tuned = results.get(f"baseline {baseline}, collector") if baseline else None
    print(f"garbage collector: {ours['collector']} thresholds", end="")
    print(f" (baseline {baseline}: {theirs['collector']})" if theirs is not None else "")
    for name, figures in ours.items():
        if not isinstance(figures, dict):
            continue
        wall, cpu = statistics.median(figures["seconds"]), statistics.median(figures["cpu"])
        print(f"[{name}]")
        print(f"  buyers with cover:      {count:,}")
        print(f"  buyers due at the tick: {figures['due']:,}")
        print(f"  events:                 {figures['emitted']:,}")
        print(f"  ticks timed:            {len(figures['seconds'])}")
        print(
            f"  wall, median:           {wall * 1000:,.0f} ms (best {min(figures['seconds']) * 1000:,.0f} ms)"
        )
        print(f"  CPU, median:            {cpu * 1000:,.0f} ms")
        print(f"  per due buyer (CPU):    {cpu / max(figures['due'], 1) * 1e6:,.0f} µs")
        if name != "all due, the domain alone":
            print(f"  target (within 1 s):    {'met' if wall <= 1.0 else 'NOT met'}")
        if theirs is not None and isinstance(theirs.get(name), dict):
            before = theirs[name]
            before_wall = statistics.median(before["seconds"])
            before_cpu = statistics.median(before["cpu"])
            print(
                f"  baseline {baseline}: wall {before_wall * 1000:,.0f} ms, CPU {before_cpu * 1000:,.0f} ms"
                f" (median of {len(before['seconds'])}, {before['emitted']:,} events)"
            )
            print(
                f"  speed-up:               {before_wall / wall:,.1f}x wall, {before_cpu / cpu:,.1f}x CPU"
            )
        if tuned is not None and isinstance(tuned.get(name), dict):
            alike_wall = statistics.median(tuned[name]["seconds"])
            alike_cpu = statistics.median(tuned[name]["cpu"])
            print(
                f"  baseline, same collector: wall {alike_wall * 1000:,.0f} ms,"
                f" CPU {alike_cpu * 1000:,.0f} ms ({tuned['collector']})"
            )
            print(
                f"  speed-up of the code:   {alike_wall / wall:,.1f}x wall,"
                f" {alike_cpu / cpu:,.1f}x CPU"
            )


def main(count: int, repeat: int, rounds: int, baseline: str) -> None:
    """This checkout as the service runs it, the baseline as it ran, and the baseline with this
    checkout's collector thresholds (what the code changes gain apart from the collector's)."""
    from arshield_cli.baseline import (
        baseline_sources,  # the outer run only: a baseline may predate it
    )

    runs: dict[str, list[dict[str, Any]]] = {"this checkout": []}
    young = 0
    try:
        from arshield_runtime.service import YOUNG_COLLECTION_THRESHOLD
    except ImportError:
        pass
    else:
        young = YOUNG_COLLECTION_THRESHOLD
    with tempfile.TemporaryDirectory(prefix="insurance-deadlines-") as scratch:
        sources = baseline_sources(baseline, Path(scratch)) if baseline else []
        for _ in range(rounds):
            runs["this checkout"].append(run_inner(count, repeat, []))
            if baseline:
                runs.setdefault(f"baseline {baseline}", []).append(
                    run_inner(count, repeat, sources)
                )
                if young:
                    runs.setdefault(f"baseline {baseline}, collector", []).append(
                        run_inner(count, repeat, sources, young)
                    )
    merged_runs = {label: merged(found) for label, found in runs.items()}
    report(count, merged_runs, baseline or None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("buyers_positional", nargs="?", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--buyers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="ticks per book and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per code")
    parser.add_argument("--baseline", default="main", help="git ref to measure too ('' for none)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--young", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    buyers = arguments.buyers_positional or arguments.buyers
    if arguments.inner:
        print(json.dumps(asyncio.run(measure(buyers, arguments.repeat, arguments.young))))
    else:
        main(buyers, arguments.repeat, arguments.rounds, arguments.baseline)
