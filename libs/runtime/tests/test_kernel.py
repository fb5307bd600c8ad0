"""The kernel: its state store's contract (fake and PostgreSQL), and the pipeline run on a toy
service (unit, on the fake) and through the real consumer over Kafka and PostgreSQL."""

from __future__ import annotations

import dataclasses
import gc
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_cli.stack import postgres_url
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, envelope
from arshield_events.erp import BuyerRegistered, TenantProfiled
from arshield_events.registry import event_headers, serialize_event
from arshield_events.risk import RiskAlertRaised
from arshield_runtime.consumer import BatchProcessor
from arshield_runtime.db import create_engine, migrate
from arshield_runtime.kernel import (
    TENANT,
    Change,
    Emit,
    Kernel,
    Wiring,
    collector_paused,
    run_batch,
)
from arshield_runtime.messaging import Rejected
from arshield_runtime.statestore import (
    Configuration,
    InMemoryStateStore,
    PostgresStateStore,
    StateStore,
)

MIGRATIONS = Path(__file__).parent / "fixture_migrations"

# --- a toy service on the kernel ---------------------------------------------------------------
# A toy service on the kernel, for the kernel's own tests: a buyer registered on day D is watched
# from day D+1 (one alert, once). Small enough to check by hand, and it touches every part of the
# pipeline: translation, decide/evolve, wake-up dates, a projection and the public mapping.


class Watch(BaseModel):
    model_config = ConfigDict(frozen=True)

    registered_on: date | None = None
    alerted_on: date | None = None
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Register:
    name: str
    on: date


@dataclass(frozen=True)
class Look:
    day: date


@dataclass(frozen=True)
class Registered:
    name: str
    on: date


@dataclass(frozen=True)
class Alerted:
    on: date


Command = Register | Look
Event = Registered | Alerted


class RefusedError(Exception):
    pass


class WatchDecider:
    def initial(self, tenant_id: str, buyer_id: str) -> Watch:
        return Watch()

    def decide(self, state: Watch, command: Command) -> Sequence[Event]:
        if isinstance(command, Register):
            if command.name == "Refuse Me":
                raise RefusedError("legal name on the refusal list")
            return [Registered(command.name, command.on)]
        if state.registered_on and not state.alerted_on and command.day > state.registered_on:
            return [Alerted(command.day)]
        return []

    def evolve(self, state: Watch, event: Event) -> Watch:
        if isinstance(event, Registered):
            return state.model_copy(
                update={
                    "registered_on": state.registered_on or event.on,
                    "names": (*state.names, event.name),
                }
            )
        return state.model_copy(update={"alerted_on": event.on})

    def wake_on(self, state: Watch) -> date | None:
        if state.registered_on is None or state.alerted_on is not None:
            return None
        return state.registered_on + timedelta(days=1)

    def on_day(self, state: Watch, day: date, context: Any) -> Command | None:
        return Look(day)


def translate_registered(event: CloudEvent[Any]) -> Iterable[tuple[str, Command]]:
    data: BuyerRegistered = event.data
    yield data.buyer_id, Register(data.legal_name, data.registered_on)


def publish(change: Change[Watch, Event]) -> Iterable[Emit]:
    for event in change.events:
        if isinstance(event, Alerted):
            yield Emit(
                RiskAlertRaised(
                    alert_id=f"watch-{change.buyer_id}",
                    buyer_id=change.buyer_id,
                    level="watch",
                    signal="partial_payments",
                    detail="registered yesterday",
                    policy_version="toy-1",
                    raised_on=event.on,
                ),
                purpose=f"alert:{change.buyer_id}",
            )


class NamesProjection:
    """Every name a buyer was registered under, one row each (a table the test creates)."""

    tables = ("toy_names",)

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    async def apply(self, session: AsyncSession, changes: Sequence[Change[Watch, Event]]) -> None:
        rows = [
            (c.tenant_id, c.buyer_id, e.name)
            for c in changes
            for e in c.events
            if isinstance(e, Registered)
        ]
        self.seen.extend(rows)
        if rows and session is not None:
            await session.execute(
                sa.text("INSERT INTO toy_names VALUES (:t, :b, :n)"),
                [{"t": t, "b": b, "n": n} for t, b, n in rows],
            )


def wiring(projection: NamesProjection | None = None) -> Wiring[Watch, Command, Event]:
    return Wiring(
        decider=WatchDecider(),
        state=TypeAdapter(Watch),
        translate={BuyerRegistered: translate_registered},
        projections=[projection or NamesProjection()],
        publish=publish,
        refusals=(RefusedError,),
    )


def registered(buyer: str, on: date, *, name: str = "Buyer Ltd", tenant: str = "acme") -> Any:
    return envelope(
        BuyerRegistered(
            buyer_id=buyer,
            legal_name=name,
            country="DE",
            segment="standard",
            preferred_language="en",
            registered_on=on,
        ),
        id=str(uuid.uuid4()),
        source="erp/test",
        subject=buyer,
        tenantid=tenant,
        time=datetime(2024, 1, 2, 9, tzinfo=UTC),
    )


def tick(day: date, tenant: str = "acme") -> Any:
    return envelope(
        BusinessDayStarted(business_date=day),
        id=f"tick-{tenant}-{day}",
        source="arshield/clock",
        subject=tenant,
        tenantid=tenant,
        time=datetime(2024, 1, 2, tzinfo=UTC),
    )


# --- the store's contract, on the fake and on PostgreSQL ------------------------------------


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("postgres", marks=pytest.mark.integration),
    ]
)
async def store_and_session(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[StateStore, Any]]:
    if request.param == "memory":
        yield InMemoryStateStore(), None
        return
    admin: str = request.getfixturevalue("postgres_admin_dsn")
    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await migrate(MIGRATIONS, postgres_url(name))
    engine = create_engine(postgres_url(name), pool_size=1)
    try:
        async with AsyncSession(engine) as session, session.begin():
            yield PostgresStateStore(), session
    finally:
        await engine.dispose()
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def test_a_store_loads_what_it_saved_and_nothing_else(
    store_and_session: tuple[StateStore, Any],
) -> None:
    store, session = store_and_session
    assert await store.load(session, [("acme", "b-1")]) == {}
    await store.save(session, [(("acme", "b-1"), '{"n": 1}', None)])
    await store.save(session, [(("acme", "b-1"), '{"n": 2}', date(2024, 3, 1))])
    await store.save(session, [(("globex", "b-1"), '{"n": 9}', None)])
    loaded = await store.load(session, [("acme", "b-1"), ("acme", "b-2")])
    assert {key: json.loads(value) for key, value in loaded.items()} == {("acme", "b-1"): {"n": 2}}


async def test_a_store_names_the_buyers_due_by_a_day_in_buyer_order(
    store_and_session: tuple[StateStore, Any],
) -> None:
    store, session = store_and_session
    await store.save(
        session,
        [
            (("acme", "b-3"), "{}", date(2024, 3, 1)),
            (("acme", "b-1"), "{}", date(2024, 2, 1)),
            (("acme", "b-2"), "{}", date(2024, 3, 2)),
            (("acme", "b-4"), "{}", None),
            (("globex", "b-0"), "{}", date(2024, 1, 1)),
        ],
    )
    assert await store.due(session, "acme", date(2024, 3, 1), None) == ["b-1", "b-3"]
    assert await store.due(session, "acme", date(2024, 1, 31), None) == []


async def test_a_tenants_business_date_never_goes_back(
    store_and_session: tuple[StateStore, Any],
) -> None:
    store, session = store_and_session
    assert await store.business_date(session, "acme") is None
    assert await store.advance(session, "acme", date(2024, 3, 4)) == date(2024, 3, 4)
    assert await store.advance(session, "acme", date(2024, 3, 1)) == date(2024, 3, 4)
    assert await store.business_date(session, "acme") == date(2024, 3, 4)
    assert await store.business_date(session, "globex") is None


async def test_a_store_answers_the_configuration_in_force_on_a_date(
    store_and_session: tuple[StateStore, Any],
) -> None:
    """A version is in force from its effective date; of two effective the same day, the one read
    last; the same event recorded twice counts once; tenants and kinds never mix."""
    store, session = store_and_session

    def entry(event_id: str, version: str, effective_on: date, tenant: str = "acme") -> Any:
        return Configuration(tenant, "policy", event_id, version, effective_on, {"v": version})

    assert await store.in_force(session, "acme", "policy", date(2024, 1, 1)) is None
    await store.configure(session, entry("e1", "v1", date(2024, 1, 1)))
    await store.configure(session, entry("e2", "v2", date(2024, 3, 1)))
    await store.configure(session, entry("e3", "v3", date(2024, 3, 1)))
    await store.configure(session, entry("e1", "v1", date(2024, 1, 1)))  # redelivered
    await store.configure(session, entry("e9", "other", date(2024, 1, 1), tenant="globex"))
    in_force = [
        (await store.in_force(session, "acme", "policy", day))
        for day in (date(2023, 12, 31), date(2024, 2, 29), date(2024, 3, 1))
    ]
    assert [None if e is None else e.version for e in in_force] == [None, "v1", "v3"]
    assert in_force[2] is not None
    assert in_force[2].body == {"v": "v3"}
    history = await store.configurations(session, "acme", "policy")
    assert [e.event_id for e in history] == ["e1", "e2", "e3"]
    assert await store.configurations(session, "acme", "tenant") == []


async def test_a_tenant_wake_up_makes_every_buyer_due_on_the_first_day_taken_after_it(
    store_and_session: tuple[StateStore, Any],
) -> None:
    """A configuration version taking effect on 1 Mar: every buyer of the tenant is due on the
    first day taken on or after it (whatever its own wake-up), by each task that takes days (`after`
    is the day it took before), and not again; a wake-up already past wakes on the next day."""
    store, session = store_and_session
    await store.save(
        session,
        [
            (("acme", "b-1"), "{}", date(2024, 6, 1)),
            (("acme", "b-2"), "{}", None),
            (("globex", "b-9"), "{}", None),
        ],
    )
    await store.wake_tenant(session, "acme", date(2024, 3, 5))
    await store.wake_tenant(session, "acme", date(2024, 3, 1))
    assert await store.due(session, "acme", date(2024, 2, 29), None) == []
    assert await store.due(session, "acme", date(2024, 3, 1), date(2024, 2, 29)) == ["b-1", "b-2"]
    # a second task taking the same day after another wakes them as well
    assert await store.due(session, "acme", date(2024, 3, 1), date(2024, 2, 28)) == ["b-1", "b-2"]
    assert await store.due(session, "acme", date(2024, 3, 2), date(2024, 3, 1)) == []
    assert await store.due(session, "acme", date(2024, 3, 5), date(2024, 3, 4)) == ["b-1", "b-2"]
    assert await store.due(session, "globex", date(2024, 3, 2), None) == []
    await store.advance(session, "acme", date(2024, 3, 10))
    await store.wake_tenant(session, "acme", date(2024, 3, 7))  # past: the next day instead
    assert await store.due(session, "acme", date(2024, 3, 11), date(2024, 3, 10)) == ["b-1", "b-2"]


# --- the pipeline on the fake ----------------------------------------------------------------


@pytest.mark.unit
async def test_a_configuration_event_is_recorded_and_wakes_the_tenant_on_its_date() -> None:
    def configured(event: CloudEvent[Any]) -> Configuration:
        alert: RiskAlertRaised = event.data
        return Configuration(
            event.tenantid, "toy", event.id, alert.policy_version, alert.raised_on, {}
        )

    store = InMemoryStateStore()
    kernel = Kernel(replace(wiring(), configure={RiskAlertRaised: configured}), store)
    monday = date(2024, 3, 4)
    await run_batch(kernel, [registered("b-1", monday), registered("b-2", monday)])
    await run_batch(kernel, [tick(date(2024, 3, 5))])  # both alerted; nobody wakes again
    assert [s[1] for s in store.states.values()] == [None, None]
    version = envelope(
        RiskAlertRaised(
            alert_id="v2",
            buyer_id="b-1",
            level="watch",
            signal="partial_payments",
            detail="toy configuration",
            policy_version="toy-2",
            raised_on=date(2024, 3, 8),
        ),
        id="cfg-2",
        source="arshield/toy",
        subject="b-1",
        tenantid="acme",
        time=datetime(2024, 3, 6, tzinfo=UTC),
    )
    await run_batch(kernel, [version])
    recorded = await kernel.configurations(None, "acme", "toy")  # type: ignore[arg-type]
    assert [(c.version, c.effective_on) for c in recorded] == [("toy-2", date(2024, 3, 8))]
    assert await store.due(None, "acme", date(2024, 3, 7), date(2024, 3, 6)) == []
    assert await store.due(None, "acme", date(2024, 3, 8), date(2024, 3, 7)) == ["b-1", "b-2"]


@pytest.mark.unit
async def test_the_tenants_profile_is_recorded_by_every_kernel() -> None:
    store = InMemoryStateStore()
    kernel = Kernel(wiring(), store)
    profiled = envelope(
        TenantProfiled(jurisdiction="DE", is_sme=True, effective_on=date(2024, 3, 1)),
        id="tp-1",
        source="erp/test",
        subject="acme",
        tenantid="acme",
        time=datetime(2024, 3, 1, tzinfo=UTC),
    )
    assert await run_batch(kernel, [profiled]) == []
    profile = await kernel.in_force(None, "acme", TENANT, date(2024, 3, 1))  # type: ignore[arg-type]
    assert profile is not None
    assert profile.body["jurisdiction"] == "DE"
    assert await kernel.in_force(None, "acme", TENANT, date(2024, 2, 29)) is None  # type: ignore[arg-type]
    assert "configurations" in kernel.rebuild_tables


@pytest.mark.unit
async def test_the_kernel_decides_saves_projects_and_publishes() -> None:
    store, names = InMemoryStateStore(), NamesProjection()
    kernel = Kernel(wiring(names), store)
    monday = date(2024, 3, 4)
    emitted = await run_batch(kernel, [registered("b-1", monday), registered("b-2", monday)])
    assert emitted == []
    assert names.seen == [("acme", "b-1", "Buyer Ltd"), ("acme", "b-2", "Buyer Ltd")]
    state = Watch.model_validate_json(store.states[("acme", "b-1")][0])
    assert state == Watch(registered_on=monday, names=("Buyer Ltd",))
    assert store.states[("acme", "b-1")][1] == date(2024, 3, 5)

    # Monday's tick: nobody is due yet. Tuesday's: both are, and each is alerted once.
    assert await run_batch(kernel, [tick(monday)]) == []
    tuesday = await run_batch(kernel, [tick(date(2024, 3, 5))])
    assert [(e.type, e.subject, e.data.raised_on) for e in tuesday] == [
        ("arshield.risk.RiskAlertRaised.v1", "b-1", date(2024, 3, 5)),
        ("arshield.risk.RiskAlertRaised.v1", "b-2", date(2024, 3, 5)),
    ]
    assert await run_batch(kernel, [tick(date(2024, 3, 6))]) == []
    assert await store.business_date(None, "acme") == date(2024, 3, 6)
    assert store.states[("acme", "b-1")][1] is None


@pytest.mark.unit
async def test_the_same_tick_decides_the_same_events() -> None:
    """Event ids derive from the cause: a tick handled again emits the very same events."""
    first, second = Kernel(wiring(), InMemoryStateStore()), Kernel(wiring(), InMemoryStateStore())
    facts = [registered("b-1", date(2024, 3, 4))]
    out = []
    for kernel in (first, second):
        await run_batch(kernel, facts)
        out.append(await run_batch(kernel, [tick(date(2024, 3, 5))]))
    assert [e.id for e in out[0]] == [e.id for e in out[1]]
    assert len(out[0]) == 1


@pytest.mark.unit
async def test_a_business_day_decides_with_the_cyclic_collector_paused() -> None:
    running: list[bool] = []

    class Watching(WatchDecider):
        def decide(self, state: Watch, command: Command) -> Sequence[Event]:
            running.append(gc.isenabled())
            return super().decide(state, command)

    kernel = Kernel(replace(wiring(), decider=Watching()), InMemoryStateStore())
    await run_batch(kernel, [registered("b-1", date(2024, 3, 4))])
    assert len(await run_batch(kernel, [tick(date(2024, 3, 5))])) == 1
    assert running == [True, False]  # the fact decided as always, the day's buyer paused
    assert gc.isenabled()


@pytest.mark.unit
def test_after_a_day_the_collector_is_as_it_was_and_the_days_objects_are_not_young() -> None:
    with collector_paused():
        assert not gc.isenabled()
        kept = [[n] for n in range(5000)]
    assert gc.isenabled()
    assert gc.get_count()[0] < 100  # 5,000 lists allocated, walked once: none left young
    assert len(kept) == 5000
    frozen = gc.get_freeze_count()
    gc.freeze()  # what a service froze at start
    try:
        with collector_paused():
            pass
        assert gc.get_freeze_count() >= frozen + len(kept)  # still frozen after a day
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # paused before the day: left paused
    finally:
        gc.enable()


@pytest.mark.unit
async def test_a_refused_command_is_a_rejected_event_and_changes_nothing() -> None:
    store = InMemoryStateStore()
    with pytest.raises(Rejected, match="refusal list"):
        await run_batch(
            Kernel(wiring(), store), [registered("b-1", date(2024, 3, 4), name="Refuse Me")]
        )
    assert store.states == {}


# --- the pipeline through the real consumer ----------------------------------------------------


@pytest.mark.integration
async def test_the_kernel_runs_in_the_consumers_transaction(
    fresh_database: str, kafka_bootstrap: str, fresh_topics: Any
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    await migrate(MIGRATIONS, fresh_database)
    engine = create_engine(fresh_database)
    async with engine.begin() as connection:
        await connection.execute(
            sa.text("CREATE TABLE toy_names (tenant_id text, buyer_id text, name text)")
        )
    (topic,) = await fresh_topics("arshield.erp")
    monday = date(2024, 3, 4)
    events = [
        registered("b-1", monday),
        registered("b-1", monday, tenant="globex"),
        registered("b-2", monday, name="Refuse Me"),
        tick(date(2024, 3, 5)),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic, serialize_event(event), key=event.key.encode(), headers=event_headers(event)
            )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[Any] = []
    try:
        while len(records) < len(events):
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
    kernel = Kernel(wiring(), PostgresStateStore())
    processor = BatchProcessor(engine, kernel.router(), service="toy", source="arshield/toy")
    try:
        await processor.process(records)
        await processor.process(records)  # redelivered: no second effect
        async with engine.connect() as connection:
            names = (await connection.execute(sa.text("SELECT * FROM toy_names ORDER BY 1"))).all()
            states = (
                await connection.execute(
                    sa.text("SELECT tenant_id, buyer_id, wake_on FROM buyer_states ORDER BY 1")
                )
            ).all()
            outbox = (await connection.execute(sa.text("SELECT topic, key FROM outbox"))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in names] == [
        ("acme", "b-1", "Buyer Ltd"),
        ("globex", "b-1", "Buyer Ltd"),
    ]
    # acme's b-1 was alerted by the tick (no wake-up left); globex had no tick.
    assert [tuple(row) for row in states] == [
        ("acme", "b-1", None),
        ("globex", "b-1", date(2024, 3, 5)),
    ]
    assert sorted(tuple(row) for row in outbox) == [
        ("arshield.erp." + topic.rsplit(".", 1)[1] + ".dlq", "acme:b-2"),
        ("arshield.risk", "acme:b-1"),
    ]


@pytest.mark.unit
async def test_what_the_wiring_asks_first_is_decided_before_the_command() -> None:
    """`Wiring.adopt`: a buyer seen for the first time is first registered under a placeholder
    name, then the command itself is decided; a known buyer is asked nothing more. It is asked on
    the day the record belongs to in its task, else on the tenant's business date."""
    asked: list[tuple[str, date | None, Watch]] = []

    async def adopt(
        session: Any, tenant_id: str, on: date | None, state: Watch, command: Command
    ) -> Command | None:
        asked.append((tenant_id, on, state))
        return None if state.registered_on else Register("(first seen)", date(2024, 3, 1))

    store, names = InMemoryStateStore(), NamesProjection()
    kernel = Kernel(dataclasses.replace(wiring(names), adopt=adopt), store)
    monday, friday = date(2024, 3, 4), date(2024, 3, 8)
    await store.advance(None, "acme", friday)  # another task of the tenant is at Friday
    await run_batch(kernel, [registered("b-1", monday)], day=monday)
    await run_batch(kernel, [registered("b-1", monday, name="Buyer GmbH")])
    state = Watch.model_validate_json(store.states[("acme", "b-1")][0])
    assert state.names == ("(first seen)", "Buyer Ltd", "Buyer GmbH")
    assert state.registered_on == date(2024, 3, 1)
    assert [(tenant, on, s.registered_on) for tenant, on, s in asked] == [
        ("acme", monday, None),
        ("acme", friday, date(2024, 3, 1)),
    ]


@pytest.mark.unit
async def test_tasks_taking_a_day_together_emit_what_each_task_taking_it_alone_emits() -> None:
    """One tick for several tasks (`DayTask.indices`) decides for the buyers of each, and what a
    buyer's decision emits is caused by its own task's tick: the same ids as task by task."""
    from arshield_events.clock import tick as clock_tick
    from arshield_runtime.messaging import BatchScope, DayTask, HandlerContext, Origin, task_tick

    monday, tuesday = date(2024, 3, 4), date(2024, 3, 5)
    buyers = [f"b-{n}" for n in range(8)]

    async def day(tasks: list[tuple[int, ...]]) -> list[tuple[str, str]]:
        store = InMemoryStateStore()
        kernel = Kernel(wiring(), store)
        await run_batch(kernel, [registered(b, monday) for b in buyers])
        router, scope, out = kernel.router(), BatchScope(), []
        for indices in tasks:
            event = clock_tick("acme", tuesday)
            if len(indices) == 1:
                event = task_tick(event, indices[0])
            handler = router.handler_for(event.data)
            assert handler is not None
            task = DayTask(indices, 3, monday)
            ctx = HandlerContext(
                None, event, Origin("clock", 0, -1), "arshield/unit", batch=scope, task=task
            )  # type: ignore[arg-type]
            await handler(ctx)
            out += [(str(r.key), bytes(r.value).decode()) for r in ctx.emitted]
        await scope.flush(None)  # type: ignore[arg-type]
        return sorted(out)

    alone = await day([(0,), (1,), (2,)])
    together = await day([(0, 1, 2)])
    assert len(alone) == len(buyers)  # every buyer alerted, once
    assert together == alone


class CountingStore(InMemoryStateStore):
    """The fake store, counting the business-date lookups (each one a round trip on PostgreSQL)."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []

    async def business_date(self, session: Any, tenant_id: str) -> date | None:
        self.lookups.append(tenant_id)
        return await super().business_date(session, tenant_id)


@pytest.mark.unit
async def test_a_batch_looks_a_tenants_business_date_up_once_and_follows_its_ticks() -> None:
    """Without a task's day, `adopt` is asked on the tenant's business date: read once per tenant
    and transaction (not once per command), and moved by a tick taken in the same batch."""
    asked: list[tuple[str, str, date | None]] = []

    async def adopt(
        session: Any, tenant_id: str, on: date | None, state: Watch, command: Command
    ) -> Command | None:
        name = command.name if isinstance(command, Register) else f"look {command.day}"
        asked.append((tenant_id, name, on))
        return None

    store = CountingStore()
    kernel = Kernel(dataclasses.replace(wiring(), adopt=adopt), store)
    monday, tuesday = date(2024, 3, 4), date(2024, 3, 5)
    await store.advance(None, "acme", monday)
    await run_batch(
        kernel,
        [
            registered("b-1", monday, name="One"),
            registered("b-2", monday, name="Two"),
            tick(tuesday),  # b-1 and b-2 are due on Tuesday
            registered("b-3", tuesday, name="Three"),
            registered("b-1", monday, name="Other", tenant="globex"),
        ],
    )
    assert asked == [
        ("acme", "One", monday),
        ("acme", "Two", monday),
        ("acme", f"look {tuesday}", tuesday),
        ("acme", f"look {tuesday}", tuesday),
        ("acme", "Three", tuesday),
        ("globex", "Other", None),
    ]
    # one lookup per tenant: 6 commands and a tick asked on 2 tenants' dates
    assert store.lookups == ["acme", "globex"]
    assert await store.business_date(None, "acme") == tuesday
