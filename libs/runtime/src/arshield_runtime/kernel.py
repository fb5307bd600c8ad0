"""The one pipeline every service runs (ARCHITECTURE decision 11), written once.

For each consumed event, in the batch's transaction: translate the public event into commands for
buyers, load those buyers' states (one query for the whole batch), decide (pure), evolve, stage the
new state, map the decision to public events (into the outbox, with ids derived from the cause).
Before the transaction commits, the batch's states are saved and every projection is given the
batch's changes at once. A business-day tick advances the tenant's business date and gives each
buyer whose wake-up date has come the decider's day command.

A service supplies a `Wiring`: the decider, the state's codec, the translation table, its
projections and its public mapping. The kernel owns the state table, the tenant's business date and
what was configured for the tenant: configuration travels on the log (ARCHITECTURE decision 1), is
recorded when consumed (`Wiring.configure` names the service's own configuration events; every
service records the tenant's profile, `TenantProfiled`), and is read back by version in force on a
date, so a rebuild decides each day under the configuration of that day.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_events.clock import BusinessDayStarted
from arshield_events.clock import tick as clock_tick
from arshield_events.envelope import CloudEvent, Payload, partition_key
from arshield_events.erp import TenantProfiled
from arshield_events.registry import parse_event
from arshield_runtime.db import business_dates, buyer_states, configurations, tenant_wakes
from arshield_runtime.messaging import (
    BatchScope,
    EventRouter,
    HandlerContext,
    Origin,
    Rejected,
    partition_of,
    task_tick,
)
from arshield_runtime.statestore import BuyerKey, Configuration, StateStore

Session = AsyncSession
"""The transaction a batch (or a request) runs in, as a service's application code passes it on to
the kernel, the runtime and its own adapters without issuing SQL itself."""

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


class Decider(Protocol[S, C, E]):
    """A service's pure domain: no I/O, no clock but the business date a command carries.

    A decider that evolves its state as it decides may also offer `decide_evolved(state, command)
    -> (events, state after them)`; the kernel then uses it instead of `decide` and `evolve`."""

    def initial(self, tenant_id: str, buyer_id: str) -> S: ...

    def decide(self, state: S, command: C) -> Sequence[E]: ...

    def evolve(self, state: S, event: E) -> S: ...

    def wake_on(self, state: S) -> date | None:
        """The next business date on which this buyer needs its day command (None: none)."""
        ...

    def on_day(self, state: S, day: date, context: Any) -> C | None:
        """The command a business day gives a buyer whose wake-up date has come; `context` is
        what the wiring's `day_context` loaded for the tenant and day (e.g. the policy in force)."""
        ...


@dataclass(frozen=True)
class Change(Generic[S, E]):
    """One decision about one buyer: the state before and after, and the events in between."""

    tenant_id: str
    buyer_id: str
    before: S
    after: S
    events: tuple[E, ...]
    cause: CloudEvent[Any] | None = None


@dataclass(frozen=True)
class Emit:
    """A public event to emit; `purpose` makes its id unique among its cause's events."""

    data: Payload
    purpose: str
    traceparent: str | None = None


class Projection(Protocol[S, E]):
    """One read model, kept from the changes (idempotent; a rebuild empties `tables` first)."""

    tables: Sequence[str]

    async def apply(self, session: AsyncSession, changes: Sequence[Change[S, E]]) -> None: ...


Translate = Callable[[CloudEvent[Any]], Iterable[tuple[str, C]]]
"""A public event -> the commands it means, each for a buyer (none: the event is of no concern)."""

Configure = Callable[[CloudEvent[Any]], Configuration | None]
"""A configuration event -> the version it records (None: nothing to record, e.g. another
source's)."""

TENANT = "tenant"
"""The configuration kind of the tenant's profile (`TenantProfiled`)."""


class Emitter(Protocol):
    @property
    def day(self) -> date | None:
        """The business day the cause belongs to in its task (`HandlerContext.day`), if any."""

    def emit(
        self, data: Payload, *, purpose: str, traceparent: str | None = None
    ) -> CloudEvent[Any]: ...


@dataclass(frozen=True)
class Wiring(Generic[S, C, E]):
    """What a service supplies to run on the kernel."""

    decider: Decider[S, C, E]
    state: TypeAdapter[S]
    translate: Mapping[type[Payload], Translate[C]]
    projections: Sequence[Projection[S, E]] = ()
    publish: Callable[[Change[S, E]], Iterable[Emit]] = lambda change: ()
    refusals: tuple[type[Exception], ...] = ()
    """Domain errors that refuse a command (a consumed event is dead-lettered with the reason)."""
    day_context: Callable[[AsyncSession, str, date], Awaitable[Any]] | None = None
    """Loads, once per tenant and business day, what the day commands need (the configuration in
    force: `Kernel.in_force`)."""
    adopt: Callable[[Session, str, date | None, S, C], Awaitable[C | None]] | None = None
    """A command to decide before `command` for a buyer whose state lacks what the command needs
    (e.g. a buyer first seen between two ticks adopts the configuration in force on the day the
    command arrives in: its task's day, else the tenant's business date, None before the first
    tick); None: nothing. Asked in the transaction, so a rebuild asks it at the same point of the
    log."""
    configure: Mapping[type[Payload], Configure] = field(default_factory=dict)
    """The service's configuration events: each consumed one is recorded as a version, and every
    buyer of the tenant gets its day command on the version's effective date (the decider sees the
    new version in the day's context, whatever each buyer's own wake-up date)."""

    @property
    def projection_tables(self) -> list[str]:
        return [table for projection in self.projections for table in projection.tables]


@dataclass
class UnitOfWork(Generic[S, C, E]):
    """The states and changes of one transaction; `flush` writes them."""

    wiring: Wiring[S, C, E]
    store: StateStore
    session: AsyncSession
    states: dict[BuyerKey, S] = field(default_factory=dict)
    dirty: set[BuyerKey] = field(default_factory=set)
    changes: list[Change[S, E]] = field(default_factory=list)
    dates: dict[str, date | None] = field(default_factory=dict)
    """The tenants' business dates as read (or advanced) in this transaction: looked up once per
    tenant, not once per command (a round trip per consumed record was most of a batch's time)."""

    async def business_date(self, tenant_id: str) -> date | None:
        """The tenant's business date in this transaction."""
        if tenant_id not in self.dates:
            self.dates[tenant_id] = await self.store.business_date(self.session, tenant_id)
        return self.dates[tenant_id]

    async def advance(self, tenant_id: str, day: date) -> None:
        """Move the tenant's business date to `day` unless it is already later."""
        self.dates[tenant_id] = await self.store.advance(self.session, tenant_id, day)

    async def load(self, keys: Iterable[BuyerKey]) -> None:
        # a membership test per key: `set - dict.keys()` would copy every state loaded so far
        missing = sorted({key for key in keys if key not in self.states})
        if not missing:
            return
        found = await self.store.load(self.session, missing)
        decider = self.wiring.decider
        for key in missing:
            raw = found.get(key)
            self.states[key] = (
                decider.initial(*key) if raw is None else self.wiring.state.validate_json(raw)
            )

    async def execute(
        self,
        tenant_id: str,
        buyer_id: str,
        command: C,
        emitter: Emitter | None,
        cause: CloudEvent[Any] | None = None,
    ) -> Change[S, E]:
        """Decide `command` for the buyer (after what `Wiring.adopt` asks first), stage the
        result and emit its public events."""
        key = (tenant_id, buyer_id)
        await self.load([key])
        if self.wiring.adopt is not None:
            day = None if emitter is None else emitter.day
            if day is None:
                day = await self.business_date(tenant_id)
            state = self.states[key]
            first = await self.wiring.adopt(self.session, tenant_id, day, state, command)
            if first is not None:
                await self._decide(key, first, emitter, cause)
        return await self._decide(key, command, emitter, cause)

    async def _decide(
        self, key: BuyerKey, command: C, emitter: Emitter | None, cause: CloudEvent[Any] | None
    ) -> Change[S, E]:
        tenant_id, buyer_id = key
        decider = self.wiring.decider
        before = state = self.states[key]
        decide_evolved = getattr(decider, "decide_evolved", None)
        if decide_evolved is not None:
            # a decider that evolves as it decides hands back the state it reached
            decided, state = decide_evolved(state, command)
            events = tuple(decided)
        else:
            events = tuple(decider.decide(state, command))
            for event in events:
                state = decider.evolve(state, event)
        change = Change(tenant_id, buyer_id, before, state, events, cause)
        if events:
            self.states[key] = state
            self.dirty.add(key)
            self.changes.append(change)
            if emitter is not None:
                for out in self.wiring.publish(change):
                    emitter.emit(out.data, purpose=out.purpose, traceparent=out.traceparent)
        return change

    async def flush(self) -> None:
        rows = [
            (key, self.wiring.state.dump_json(self.states[key]).decode(), self._wake(key))
            for key in sorted(self.dirty)
        ]
        await self.store.save(self.session, rows)
        changes, self.changes, self.dirty = self.changes, [], set()
        if changes:
            for projection in self.wiring.projections:
                await projection.apply(self.session, changes)

    def _wake(self, key: BuyerKey) -> date | None:
        return self.wiring.decider.wake_on(self.states[key])


class Kernel(Generic[S, C, E]):
    """Runs a wiring: as the consumer's router, and for the commands of HTTP requests."""

    def __init__(self, wiring: Wiring[S, C, E], store: StateStore) -> None:
        self.wiring, self.store = wiring, store

    @property
    def rebuild_tables(self) -> list[str]:
        """Everything a rebuild empties: the wiring's read models and the kernel's own tables."""
        return [
            *self.wiring.projection_tables,
            buyer_states.name,
            business_dates.name,
            configurations.name,
            tenant_wakes.name,
        ]

    def unit_of_work(self, session: AsyncSession, scope: BatchScope) -> UnitOfWork[S, C, E]:
        """The transaction's unit of work, flushed by the scope before the commit."""
        unit: UnitOfWork[S, C, E] | None = scope.items.get("kernel")
        if unit is None:
            unit = UnitOfWork(self.wiring, self.store, session)
            scope.items["kernel"] = unit
            scope.on_flush("kernel", lambda _session: unit.flush())
        return unit

    def commands(self, event: CloudEvent[Any]) -> list[tuple[str, C]]:
        translate = self.wiring.translate.get(type(event.data))
        return [] if translate is None else list(translate(event))

    def router(self) -> EventRouter:
        router = EventRouter()

        async def prepare(
            session: AsyncSession, events: Sequence[CloudEvent[Any]], scope: BatchScope
        ) -> None:
            keys = [(e.tenantid, buyer) for e in events for buyer, _ in self.commands(e)]
            await self.unit_of_work(session, scope).load(keys)

        async def handle(ctx: HandlerContext) -> None:
            unit = self.unit_of_work(ctx.session, ctx.batch)
            for buyer_id, command in self.commands(ctx.event):
                try:
                    await unit.execute(ctx.event.tenantid, buyer_id, command, ctx, ctx.event)
                except self.wiring.refusals as refused:
                    raise Rejected(str(refused)) from refused

        async def business_day(ctx: HandlerContext) -> None:
            day = ctx.event.data.business_date
            tenant_id = ctx.event.tenantid
            unit = self.unit_of_work(ctx.session, ctx.batch)
            await unit.flush()  # the batch's earlier facts decide who is due
            task = ctx.task
            before = task.previous if task is not None else await unit.business_date(tenant_id)
            await unit.advance(tenant_id, day)
            due = await self.store.due(ctx.session, tenant_id, day, before)
            if task is not None:  # the day of some partitions: their buyers alone
                due = [buyer for buyer in due if task.holds(partition_key(tenant_id, buyer))]
            with collector_paused():
                await unit.load((tenant_id, buyer) for buyer in due)
                decider, load_context = self.wiring.decider, self.wiring.day_context
                context = (
                    None
                    if load_context is None
                    else await load_context(ctx.session, tenant_id, day)
                )
                # each task's own tick causes what its buyers' decisions emit
                base = None if task is None else clock_tick(tenant_id, day)
                causes: dict[int, HandlerContext] = {}
                for buyer_id in due:
                    command = decider.on_day(unit.states[(tenant_id, buyer_id)], day, context)
                    if command is None:
                        continue
                    cause = ctx
                    if base is not None and task is not None:
                        index = partition_of(partition_key(tenant_id, buyer_id), task.count)
                        if index not in causes:
                            causes[index] = replace(ctx, event=task_tick(base, index))
                        cause = causes[index]
                    await unit.execute(tenant_id, buyer_id, command, cause, cause.event)

        async def configured(ctx: HandlerContext) -> None:
            configure = self.wiring.configure.get(type(ctx.event.data), tenant_profile)
            entry = configure(ctx.event)
            if entry is None:
                return
            await self.store.configure(ctx.session, entry)
            if entry.kind != TENANT:
                await self.store.wake_tenant(ctx.session, entry.tenant_id, entry.effective_on)

        router.prepares(prepare)
        for payload_type in self.wiring.translate:
            router.handles(payload_type)(handle)
        configured_types: set[type[Payload]] = {*self.wiring.configure, TenantProfiled}
        for configured_type in configured_types:
            router.handles(configured_type)(configured)
        router.handles(BusinessDayStarted)(business_day)
        return router

    async def in_force(
        self, session: AsyncSession, tenant_id: str, kind: str, day: date
    ) -> Configuration | None:
        """The version of `kind` configured for the tenant and in force on `day`."""
        return await self.store.in_force(session, tenant_id, kind, day)

    async def configurations(
        self, session: AsyncSession, tenant_id: str, kind: str
    ) -> list[Configuration]:
        """Every version of `kind` configured for the tenant, in the order read from the log."""
        return await self.store.configurations(session, tenant_id, kind)

    async def business_date(self, session: AsyncSession, tenant_id: str) -> date | None:
        """The latest business day any task of the tenant has taken (for requests)."""
        return await self.store.business_date(session, tenant_id)

    async def today(self, ctx: HandlerContext) -> date | None:
        """The business day a consumed record is handled in: its task's day, else (no marker
        gates it) the tenant's business date."""
        if ctx.day is not None:
            return ctx.day
        return await self.unit_of_work(ctx.session, ctx.batch).business_date(ctx.event.tenantid)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a business day decides its due buyers, and what
    the day allocated walked once, by one young collection, when it resumes.

    Everything a day decides (the loaded states, the states reached, the events and their outbox
    records) lives until its transaction commits: each collection the day's allocations
    triggered walked objects still in use and freed nothing, and walked them again in the next
    generation (a tenth to a fifth of a tick over 7,500 due buyers, measured in
    insurance-claims). What the service froze at start (`service.tune_collector`) stays frozen."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.collect(0)
            gc.enable()


async def run_batch(
    kernel: Kernel[Any, Any, Any],
    events: Sequence[CloudEvent[Any]],
    *,
    source: str = "arshield/unit",
    router: EventRouter | None = None,
    day: date | None = None,
) -> list[CloudEvent[Any]]:
    """Handle `events` as one consumed batch without a database (the kernel's store and the
    wiring's projections must not need a session: `InMemoryStateStore` and fakes), and return what
    the batch emitted. For unit tests of a service's wiring; the consumer does this for real.
    `router`: the service's, if it adds handlers to the kernel's; `day`: the business day the
    records belong to in their task (`Delivery.day`)."""
    router, scope, emitted = router or kernel.router(), BatchScope(), []
    session: Any = None
    await router.prepare(session, events, scope)
    for event in events:
        handler = router.handler_for(event.data)
        if handler is None:
            continue
        ctx = HandlerContext(session, event, Origin("unit", 0, 0), source, batch=scope, day=day)
        await handler(ctx)
        emitted += [parse_event(record.value) for record in ctx.emitted]
    await scope.flush(session)
    return emitted


def tenant_profile(event: CloudEvent[Any]) -> Configuration:
    """`TenantProfiled` as the tenant's configuration (kind `tenant`)."""
    profile: TenantProfiled = event.data
    return Configuration(
        tenant_id=event.tenantid,
        kind=TENANT,
        event_id=event.id,
        version=event.id,
        effective_on=profile.effective_on,
        body=profile.model_dump(mode="json"),
    )
