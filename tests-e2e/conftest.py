"""The running platform, as a user meets it: Kafka topics, HTTP APIs and webhooks.

These tests import no service internals. They start the native stack and every service as
processes (through the `arshield` command line's library), create API keys with each service's
admin command, publish facts and ticks, and read what the services answer and emit.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal

import pytest
from harness import DATASET, Row, Tenant, new_tenant, parse_day, replay, start_services

from arshield_cli import platform
from arshield_cli.importers.receivables_csv import read_facts
from arshield_cli.stack import StackSettings, up


@pytest.fixture(scope="session")
def rows() -> list[Row]:
    with DATASET.open(newline="") as handle:
        return [
            Row(
                r["invoiceNumber"],
                r["customerID"],
                r["countrycode"],
                Decimal(r["InvoiceAmount"]),
                parse_day(r["InvoiceDate"]),
                parse_day(r["DueDate"]),
                parse_day(r["SettledDate"]),
                r["Disputed"] == "Yes",
                int(r["DaysLate"]),
            )
            for r in csv.DictReader(handle)
        ]


@pytest.fixture(scope="session")
def stack() -> StackSettings:
    settings = StackSettings()
    up(settings)
    return settings


@pytest.fixture(scope="session")
def services(stack: StackSettings) -> Iterator[StackSettings]:
    """Every service freshly started with the test settings (short webhook retries), and stopped
    when the session ends: the tests leave no process of theirs running."""
    for spec in platform.SERVICES:
        platform.stop(spec, stack)
    start_services(stack)
    yield stack
    for spec in platform.SERVICES:
        platform.stop(spec, stack)


@pytest.fixture(scope="session")
def baseline(services: StackSettings) -> Tenant:
    """The whole IBM history replayed once, uninterrupted."""
    tenant = new_tenant(services, "base")
    replay(services, tenant.name, read_facts(DATASET, tenant=tenant.name))
    return tenant


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A scenario replays two years of history (with the baseline, twice): give it time."""
    for item in items:
        if "tests-e2e" in str(item.path):
            item.add_marker(pytest.mark.timeout(2700))
