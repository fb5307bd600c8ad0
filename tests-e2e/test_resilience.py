"""Crashes and broker restarts during the replay lose nothing and duplicate nothing: the results
equal those of the uninterrupted replay of the same facts.

Each scenario replays the first nine months of the IBM history (about a third of it, with
reminders, notices, legal letters and hand-overs), long enough for its faults to land mid-replay;
the `early` tenant is that replay uninterrupted. The whole history is replayed uninterrupted, and
checked against the file, by `test_ibm_replay`."""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from datetime import date

import pytest
from harness import (
    DATASET,
    SERVICE_ENV,
    Row,
    Tenant,
    dunning_read_model,
    ledger_read_model,
    new_tenant,
    normalized,
    read_events,
    replay,
    replay_resuming,
)

from arshield_cli import platform
from arshield_cli.importers.receivables_csv import Fact, read_facts
from arshield_cli.stack import StackSettings, kafka, postgres
from arshield_events import topics

pytestmark = pytest.mark.e2e

UNTIL = date(2012, 9, 30)
"""The scenarios' facts: those dated up to here."""


def early_facts(tenant: str) -> list[Fact]:
    return [fact for fact in read_facts(DATASET, tenant=tenant) if fact.on <= UNTIL]


@pytest.fixture(scope="module")
def early(services: StackSettings) -> Tenant:
    """The scenarios' facts replayed once, uninterrupted: what every scenario must end with."""
    tenant = new_tenant(services, "early")
    replay(services, tenant.name, early_facts(tenant.name))
    return tenant


def assert_same_outcome(
    stack: StackSettings, run: Tenant, baseline: Tenant, rows: list[Row]
) -> None:
    assert ledger_read_model(run) == ledger_read_model(baseline)
    late = sorted(r.invoice for r in rows if r.days_late > 0 and r.issued <= UNTIL)[:60]
    assert len(late) == 60, late  # the scenarios' months hold enough late invoices to compare
    assert dunning_read_model(run, late) == dunning_read_model(baseline, late)
    for topic in (topics.LEDGER, topics.DUNNING):
        got, expected = (
            read_events(stack, topic, run.name),
            read_events(stack, topic, baseline.name),
        )
        assert normalized(got) == normalized(expected), f"{topic} differs from the baseline"


def test_killing_ledger_and_dunning_mid_replay_changes_nothing(
    services: StackSettings, early: Tenant, rows: list[Row]
) -> None:
    run = new_tenant(services, "crash")
    stop = threading.Event()
    kills: list[str] = []

    failures: list[BaseException] = []

    def chaos() -> None:
        """SIGKILL ledger and dunning in turn at random moments, each once the other is back."""
        rng = random.Random(7)
        for name in ("ledger", "dunning", "ledger", "dunning"):
            if stop.wait(rng.uniform(3.0, 12.0)):
                return
            spec = platform.service(name)
            platform.kill(spec, services, signal.SIGKILL)
            kills.append(name)
            for _ in range(5):  # a restart that fails would stall the replay: try again
                try:
                    platform.start(spec, services, extra_env=SERVICE_ENV)
                    platform.wait_ready(spec, services)
                    break
                except Exception as error:
                    failures.append(error)
                    time.sleep(1)

    killer = threading.Thread(target=chaos, daemon=True)
    killer.start()
    try:
        replay_resuming(services, run.name, early_facts(run.name))
    finally:
        stop.set()
        killer.join()
    for spec in platform.SERVICES:
        platform.start(spec, services, extra_env=SERVICE_ENV)
        platform.wait_ready(spec, services)
    assert {"ledger", "dunning"} <= set(kills), f"the replay ended before both were killed: {kills}"
    assert not failures, f"restarts failed: {failures}"
    assert_same_outcome(services, run, early, rows)


def test_a_kafka_restart_mid_replay_is_survived(
    services: StackSettings, early: Tenant, rows: list[Row]
) -> None:
    run = new_tenant(services, "kafka")
    restarted = threading.Event()

    def restart_broker() -> None:
        time.sleep(8)
        kafka.stop(services)
        time.sleep(3)
        pid = kafka.start(services)
        asyncio.run(kafka.wait_ready(services, pid))
        restarted.set()

    restarter = threading.Thread(target=restart_broker, daemon=True)
    restarter.start()
    replay_resuming(services, run.name, early_facts(run.name))
    restarted_before_the_end = restarted.is_set()
    restarter.join()
    assert restarted_before_the_end, "the replay ended before the broker was back"
    assert_same_outcome(services, run, early, rows)


def test_postgresql_stopped_for_20_seconds_mid_replay_loses_and_dead_letters_nothing(
    services: StackSettings, early: Tenant, rows: list[Row]
) -> None:
    """Every service's database goes away mid-replay: consumers and relays wait it out (transient
    failures are retried, never dead-lettered) and the outcome equals the uninterrupted run."""
    run = new_tenant(services, "pgdown")
    events: list[str] = []

    def outage() -> None:
        time.sleep(10)
        assert postgres.stop(services)
        events.append("stopped")
        time.sleep(20)
        postgres.start(services)
        asyncio.run(postgres.wait_ready(services))
        events.append("started")

    interrupter = threading.Thread(target=outage, daemon=True)
    interrupter.start()
    replay_resuming(services, run.name, early_facts(run.name))
    replayed_at = len(events)
    interrupter.join()
    assert replayed_at == 2, "the replay ended before PostgreSQL was back"
    assert events == ["stopped", "started"]
    for topic in (topics.ERP, topics.CLOCK, topics.LEDGER):
        dead = read_events(services, f"{topic}.dlq", run.name)
        assert not dead, f"{len(dead)} of {run.name}'s events were dead-lettered from {topic}"
    assert_same_outcome(services, run, early, rows)
