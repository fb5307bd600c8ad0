"""What the end-to-end tests share: the dataset's rows, tenants with keys, replay, pagination."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from arshield_cli import platform
from arshield_cli.importers.receivables_csv import Fact
from arshield_cli.replay import advance_clock
from arshield_cli.stack import StackSettings

DATASET = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "datasets"
    / "ibm-late-payment-histories.csv"
)
SERVICE_ENV = {
    "ARSHIELD_DUNNING_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    "ARSHIELD_DUNNING_WEBHOOK_RETRY_SCHEDULE": "[0.5, 1.0, 2.0]",
    "ARSHIELD_INSURANCE_CLAIMS_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    "ARSHIELD_INSURANCE_CLAIMS_WEBHOOK_RETRY_SCHEDULE": "[0.5, 1.0, 2.0]",
}


@dataclass(frozen=True)
class Row:
    invoice: str
    buyer: str
    country: str
    amount: Decimal
    issued: date
    due: date
    settled: date
    disputed: bool
    days_late: int


def parse_day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()  # noqa: DTZ007


def start_services(stack: StackSettings) -> None:
    for spec in platform.SERVICES:
        platform.start(spec, stack, extra_env=SERVICE_ENV)
    for spec in platform.SERVICES:
        platform.wait_ready(spec, stack)


@dataclass
class Tenant:
    """A tenant of its own per scenario, so scenarios never see each other's data."""

    name: str
    keys: dict[str, str]

    def client(self, service: str, scope: str = "read") -> httpx.Client:
        spec = platform.service(service)
        return httpx.Client(
            base_url=spec.url,
            timeout=30,
            headers={"Authorization": f"Bearer {self.keys[f'{service}:{scope}']}"},
        )


def new_tenant(stack: StackSettings, prefix: str) -> Tenant:
    name = f"{prefix}{uuid.uuid4().hex[:6]}"
    keys = {}
    for service, scope in (
        ("ledger", "read"),
        ("ledger", "write"),
        ("dunning", "read"),
        ("dunning", "admin"),
        ("dunning", "agency"),
        ("risk-monitor", "read"),
        ("credit-assessment", "read"),
        ("credit-assessment", "write"),
        ("insurance-claims", "read"),
        ("insurance-claims", "write"),
        ("insurance-claims", "admin"),
    ):
        keys[f"{service}:{scope}"] = platform.create_key(
            platform.service(service), stack, name, scope, f"e2e {scope}"
        )
    return Tenant(name, keys)


def replay(stack: StackSettings, tenant: str, facts: list[Fact], to: date | None = None) -> int:
    end = to or max(f.on for f in facts)
    return asyncio.run(advance_clock(stack, platform.SERVICES, tenant=tenant, to=end, facts=facts))


def get_all(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        response.raise_for_status()
        page = response.json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def read_events(stack: StackSettings, topic: str, tenant: str) -> list[Any]:
    from arshield_cli.reading import tenant_events

    return asyncio.run(tenant_events(stack.kafka_bootstrap, topic, tenant))


# Ids a service mints for its own objects (letters, cases) differ between tenants by design;
# everything else of an emitted event must be identical between two runs of the same history.
_OWN_IDS = {"letter_id", "case_id", "delivery_id", "statement_id"}


def normalized(events: list[Any]) -> list[tuple[str, str, str]]:
    """Emitted events without the tenant-specific envelope, one per distinct event id."""
    import json

    unique = {event.id: event for event in events}
    result = []
    for event in unique.values():
        data = {k: v for k, v in event.data.model_dump(mode="json").items() if k not in _OWN_IDS}
        subject = "<tenant>" if event.subject == event.tenantid else event.subject
        result.append((event.type, subject, json.dumps(data, sort_keys=True)))
    return sorted(result)


def ledger_read_model(tenant: Tenant) -> list[dict[str, Any]]:
    with tenant.client("ledger") as ledger:
        invoices = get_all(ledger, "/v1/invoices")
    for invoice in invoices:
        invoice.pop("as_of", None)
    return sorted(invoices, key=lambda i: i["invoice_id"])


def dunning_read_model(tenant: Tenant, invoice_ids: list[str]) -> list[Any]:
    with tenant.client("dunning") as dunning:
        timelines = []
        for invoice_id in invoice_ids:
            timeline = dunning.get(f"/v1/invoices/{invoice_id}/timeline").json()
            timelines.append(_without_own_ids(timeline))
    return timelines


def _without_own_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_own_ids(v) for k, v in value.items() if k not in _OWN_IDS}
    if isinstance(value, list):
        return [_without_own_ids(v) for v in value]
    return value


def replay_resuming(
    stack: StackSettings, tenant: str, facts: list[Fact], attempts: int = 20
) -> None:
    """Replay, and when the replay itself loses the broker, resume where it stood (a resumed
    replay starts again at the last day ticked)."""
    import time as wall

    for attempt in range(attempts):
        try:
            replay(stack, tenant, facts)
            return
        except Exception:  # the broker or a service went away under the driver
            if attempt == attempts - 1:
                raise
            wall.sleep(2)
