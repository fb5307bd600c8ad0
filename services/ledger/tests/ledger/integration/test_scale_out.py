"""Scale-out (ARCHITECTURE decision 12): ledger instances in one consumer group, sharing one
database, each holding some of the co-partitioned tasks and taking their business days from the day
markers alone, end with exactly the read models one instance reaches on the same log, though tasks
move between them while days are being taken."""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from arshield_cli.clock import days_between
from arshield_cli.testing_services import ServiceProcess, open_topics
from arshield_events import topics
from arshield_events.envelope import CloudEvent
from arshield_runtime.db import create_engine

from . import scenario
from .harness import event, read_models

pytestmark = pytest.mark.integration
PREFIX = "ARSHIELD_LEDGER_"


async def closed(database_url: str, tenants: int, day: date, tasks: int) -> bool:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                sa.text("SELECT count(*) FROM days_marked WHERE business_date = :day AND closing"),
                {"day": day},
            )
    finally:
        await engine.dispose()
    return int(count or 0) == tenants * tasks


def assignments(log: Path, topic: str) -> list[set[str]]:
    """The partitions of `topic` the instance was given, assignment by assignment."""
    text = log.read_text() if log.exists() else ""
    lines = [part.splitlines()[0] for part in text.split("assigned to partitions")[1:]]
    pattern = rf"topic='{re.escape(topic)}', partition=(\d+)"
    return [set(re.findall(pattern, line)) for line in lines]


async def given_a_share(log: Path, topic: str) -> None:
    """Until the instance writing `log` holds some of the tasks."""
    deadline = asyncio.get_running_loop().time() + 120
    while not any(assignments(log, topic)):
        assert asyncio.get_running_loop().time() < deadline, "the instance was given no task"
        await asyncio.sleep(0.2)


async def test_tasks_moved_between_instances_mid_replay_reach_what_one_instance_reaches(
    kafka_bootstrap: str, new_database: Any, fresh_topics: Any, tmp_path: Path
) -> None:
    """The second instance joins while the first is taking days, then the first leaves: each move
    hands a task over between two batches, and the new owner goes on from the days the other
    took (read again from the shared database), so every day is closed and nothing differs."""
    consumed = [topics.ERP, topics.LEDGER]  # its own topic: where its relay publishes
    stack = await open_topics(kafka_bootstrap, fresh_topics, consumed, own=topics.LEDGER)
    alone, shared = await new_database(), await new_database()
    days = {PREFIX + "DAY_TOPICS": json.dumps([stack.topic_map[topics.ERP]])}
    one = ServiceProcess(
        "ledger", stack, database_url=alone, log_path=tmp_path / "one.log", extra_env=days
    )
    group = {**days, PREFIX + "CONSUMER_GROUP": f"{one.group}-pair"}
    a, b = (
        ServiceProcess(
            "ledger", stack, database_url=shared, log_path=tmp_path / f"{n}.log", extra_env=group
        )
        for n in ("a", "b")
    )
    processes = [one, a, b]
    try:
        await asyncio.gather(one.start(), a.start())
        facts: dict[str, dict[date, list[CloudEvent[Any]]]] = defaultdict(lambda: defaultdict(list))
        for on, tenant, buyer, payload, event_id in scenario.build().facts:
            facts[tenant][on].append(event(payload, tenant, buyer, on, event_id))
        calendar = days_between(scenario.START, scenario.END)
        cut = len(calendar) // 3
        thirds = [calendar[:cut], calendar[cut : 2 * cut], calendar[2 * cut :]]

        async def publish(part: list[date]) -> None:
            for tenant, by_day in sorted(facts.items()):
                await stack.mark_days(tenant, {d: by_day.get(d, []) for d in part}, [topics.ERP])

        erp = stack.topic_map[topics.ERP]
        await publish(thirds[0])
        await b.start()  # joins while a takes the first third's days
        await given_a_share(tmp_path / "b.log", erp)
        await publish(thirds[1])
        a.stop()  # leaves while the second third's days are taken: b gets every task
        await publish(thirds[2])
        end = calendar[-1]
        tasks = len(await stack.partitions_of(stack.topic_map[topics.ERP]))
        deadline = asyncio.get_running_loop().time() + 300
        for database in (alone, shared):
            while not await closed(database, len(facts), end, tasks):
                assert asyncio.get_running_loop().time() < deadline, "the days were not closed"
                await asyncio.sleep(0.2)
    finally:
        for process in processes:
            process.stop()
    engines = [create_engine(database, pool_size=1) for database in (alone, shared)]
    try:
        one_models, pair_models = [await read_models(engine) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()
    assert any(assignments(tmp_path / "a.log", erp)), "a held no task"
    held_by_b = assignments(tmp_path / "b.log", erp)
    assert len(held_by_b) >= 2, "b was not given a's tasks when a left"
    assert len(held_by_b[-1]) == tasks, "b does not hold every task at the end"
    assert one_models["invoices"], "the scenario reached the read models"
    assert pair_models == one_models
