"""The deadline engine at one business-day tick over 10,000 buyers with cover, timed.

`uv run python services/insurance-claims/benchmarks/deadlines.py [buyers]`: every buyer has an
insurer's cover and three open invoices. Two books are timed:

- `spread`: the due dates spread over a year, as in a real book: the kernel wakes only the buyers
  with a deadline that day (their wake-up dates are exact), the others cost nothing;
- `all due`: the worst case, every buyer has a deadline that very day: a quarter at MEP expiry
  (stop-supply and notification), a quarter at the end of the waiting period (a claim), a
  quarter after an insolvency (notification, stop-supply, claim) and a quarter merely planned.

The tick runs through the kernel's router as the consumer drives it (due buyers found, states
decoded, the day decided, states encoded with their next wake-up, public events mapped,
enveloped and serialised for the outbox) on the in-memory state store: the database's I/O is not
in the figures. Target: within 1 s for 10,000 buyers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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


async def tick_once(kernel: Kernel[Any, Any, Any], tick: Any) -> tuple[float, int]:
    """(seconds, events emitted) of one tick through the kernel's router."""
    router, scope = kernel.router(), BatchScope()
    session: Any = None
    started = time.perf_counter()
    ctx = HandlerContext(session, tick, Origin("bench", 0, 0), "arshield/bench", batch=scope)
    handler = router.handler_for(tick.data)
    assert handler is not None
    await handler(ctx)
    await scope.flush(session)
    elapsed = time.perf_counter() - started
    return elapsed, len(ctx.emitted)


async def book(count: int, *, spread: bool) -> None:
    states = [buyer(n, spread=spread) for n in range(count)]

    async def day_context(session: Any, tenant_id: str, day: date) -> DayContext:
        return DayContext({"POL-1": POLICY}, AggregateBudget({"POL-1": POLICY.aggregate_limit}))

    bench_wiring = dataclasses.replace(
        wiring("arshield/insurance-claims"), projections=(), day_context=day_context
    )
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
    timings, emitted = [], 0
    for _ in range(5):
        store.states = dict(settled)
        elapsed, emitted = await tick_once(Kernel(bench_wiring, store), tick)
        timings.append(elapsed)
    median = statistics.median(timings)
    print(f"[{'spread' if spread else 'all due'}]")
    print(f"  buyers with cover:      {count:,}")
    print(f"  buyers due at the tick: {due_today:,}")
    print(f"  tick, best of 5:        {min(timings) * 1000:,.0f} ms")
    print(f"  tick, median of 5:      {median * 1000:,.0f} ms")
    print(f"  per due buyer (median): {median / max(due_today, 1) * 1e6:,.0f} µs")
    print(f"  public events emitted:  {emitted:,}")
    print(f"  target (within 1 s):    {'met' if median <= 1.0 else 'NOT met'}")


def engine_alone(count: int) -> None:
    """The pure deadline engine on the all-due book: the day decided and evolved for every buyer,
    without the kernel (no codec, no public events): what the domain itself costs."""
    states = [buyer(n, spread=False) for n in range(count)]
    budget = AggregateBudget({"POL-1": POLICY.aggregate_limit})
    timings, decided = [], 0
    for _ in range(5):
        started = time.perf_counter()
        decided = 0
        for state in states:
            after = state
            for event in decide(state, StartBusinessDay(on=TODAY, policy=POLICY, budget=budget)):
                after = evolve(after, event)
                decided += 1
            wake_on(after)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print("[all due, the domain alone]")
    print(f"  buyers decided:         {count:,}")
    print(
        f"  median of 5:            {median * 1000:,.0f} ms ({median / count * 1e6:,.0f} µs a buyer)"
    )
    print(f"  private events:         {decided:,}")


async def main(count: int) -> None:
    await book(count, spread=True)
    await book(count, spread=False)
    engine_alone(count)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
