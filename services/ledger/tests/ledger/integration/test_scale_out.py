"""Scale-out (ARCHITECTURE decision 12): two ledger instances in one consumer group, sharing one
database, each holding some of the co-partitioned tasks and taking their business days from the day
markers alone, end with exactly the read models one instance reaches on the same log."""

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


def assigned(log: Path, topic: str) -> set[str]:
    """The partitions of `topic` the instance holds, as its last assignment line says."""
    text = log.read_text() if log.exists() else ""
    if "assigned to partitions" not in text:
        return set()
    last = text.split("assigned to partitions")[-1].splitlines()[0]
    return set(re.findall(rf"topic='{re.escape(topic)}', partition=(\d+)", last))


async def settled(logs: Path, topic: str, tasks: int) -> None:
    """Until the pair's group has given each instance its share of the tasks (the facts are
    published after that, so no rebalance moves a task while its days are taken)."""
    deadline = asyncio.get_running_loop().time() + 120
    while True:
        held = [assigned(logs / f"{name}.log", topic) for name in ("a", "b")]
        if all(held) and not held[0] & held[1] and len(held[0] | held[1]) == tasks:
            return
        assert asyncio.get_running_loop().time() < deadline, f"the group did not settle: {held}"
        await asyncio.sleep(0.2)


async def test_two_instances_in_one_group_reach_what_one_reaches(
    kafka_bootstrap: str, new_database: Any, fresh_topics: Any, tmp_path: Path
) -> None:
    consumed = [topics.ERP, topics.LEDGER]  # its own topic: where its relay publishes
    stack = await open_topics(kafka_bootstrap, fresh_topics, consumed, own=topics.LEDGER)
    alone, shared = await new_database(), await new_database()
    days = {PREFIX + "DAY_TOPICS": json.dumps([stack.topic_map[topics.ERP]])}
    one = ServiceProcess(
        "ledger", stack, database_url=alone, log_path=tmp_path / "one.log", extra_env=days
    )
    group = {**days, PREFIX + "CONSUMER_GROUP": f"{one.group}-pair"}
    pair = [
        ServiceProcess(
            "ledger", stack, database_url=shared, log_path=tmp_path / f"{n}.log", extra_env=group
        )
        for n in ("a", "b")
    ]
    processes = [one, *pair]
    try:
        await asyncio.gather(*(process.start() for process in processes))
        erp = stack.topic_map[topics.ERP]
        await settled(tmp_path, erp, tasks=3)
        facts: dict[str, dict[date, list[CloudEvent[Any]]]] = defaultdict(lambda: defaultdict(list))
        for on, tenant, buyer, payload, event_id in scenario.build().facts:
            facts[tenant][on].append(event(payload, tenant, buyer, on, event_id))
        last = {}
        calendar = days_between(scenario.START, scenario.END)
        for tenant, by_day in sorted(facts.items()):
            every_day = {day: by_day.get(day, []) for day in calendar}
            last[tenant] = await stack.mark_days(tenant, every_day, [topics.ERP])
        (end,) = set(last.values())
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
    for name in ("a", "b"):  # each of the pair held some of the tasks at the end
        assignments = (tmp_path / f"{name}.log").read_text().split("assigned to partitions")
        assert "TopicPartition" in assignments[-1].splitlines()[0], f"{name} held no partition"
    assert one_models["invoices"], "the scenario reached the read models"
    assert pair_models == one_models
