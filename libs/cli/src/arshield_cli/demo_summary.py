"""What `arshield demo` prints once the history is replayed: per service, what it added (the
ledger's ageing and metrics, dunning's actions, risk-monitor's grades and alerts,
credit-assessment's limits, holds and decisions, insurance-claims' notifications and claims paid).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from arshield_cli import platform
from arshield_cli.reading import tenant_events
from arshield_cli.stack import StackSettings
from arshield_events import topics

console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass(frozen=True)
class DemoKeys:
    """One tenant's keys at each service, as the demo uses them."""

    ledger_read: str
    dunning_read: str
    dunning_admin: str
    dunning_agency: str
    risk_read: str
    credit_read: str
    credit_write: str
    insurance_read: str
    insurance_write: str
    insurance_admin: str
    insurance_agency: str


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _counts(title: str, rows: list[tuple[str, Any]]) -> None:
    table = Table(title=title)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, count in rows:
        table.add_row(label, str(count))
    console.print(table)


def quarter_ends(first: date, last: date) -> list[tuple[date, date]]:
    periods = []
    start = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    while start <= last:
        month = start.month + 3
        following = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        periods.append((start, following - timedelta(days=1)))
        start = following
    return periods


def receivables(stack: StackSettings, tenant: str, keys: DemoKeys, first: date, last: date) -> None:
    """The ledger's ageing and metrics at each quarter end, dunning's actions, the worst payers."""
    ledger = platform.service("ledger")
    headers = {"Authorization": f"Bearer {keys.ledger_read}"}
    table = Table(title="Receivables at each quarter end", show_lines=False)
    for column in (
        "quarter end",
        "currency",
        "total",
        "current",
        "1-30",
        "31-60",
        "61-90",
        "90+",
        "DSO",
        "best DSO",
        "ADD",
        "CEI %",
    ):
        table.add_column(column, justify="right")
    with httpx.Client(base_url=ledger.url, headers=headers, timeout=30) as client:
        for start, end in quarter_ends(first, last):
            ageing = client.get("/v1/portfolio/ageing", params={"as_of": end.isoformat()}).json()
            metrics = client.get(
                "/v1/metrics/dso", params={"from": start.isoformat(), "to": end.isoformat()}
            ).json()
            by_currency = {m["currency"]: m for m in metrics.get("metrics", [])}
            for entry in ageing.get("currencies", []):
                age = entry["ageing"]
                buckets = age["buckets"]
                m = by_currency.get(age["currency"], {})
                table.add_row(
                    end.isoformat(),
                    age["currency"],
                    age["total"]["amount"],
                    *[
                        buckets.get(b, {}).get("amount", "0")
                        for b in ("current", "1-30", "31-60", "61-90", "90+")
                    ],
                    m.get("dso") or "-",
                    m.get("best_possible_dso") or "-",
                    m.get("average_days_delinquent") or "-",
                    m.get("cei_percent") or "-",
                )
    console.print(table)

    dunning_events = asyncio.run(tenant_events(stack.kafka_bootstrap, topics.DUNNING, tenant))
    ledger_events = asyncio.run(tenant_events(stack.kafka_bootstrap, topics.LEDGER, tenant))
    kinds = Counter(type(e.data).__name__ for e in dunning_events)
    levels = Counter(
        getattr(e.data, "level", None)
        for e in dunning_events
        if type(e.data).__name__ == "DunningLevelReached"
    )
    _counts(
        "Dunning actions taken",
        [
            ("payment reminders (due - 15)", kinds["PaymentReminderSent"]),
            ("first overdue notices (due + 1)", levels["first_overdue_notice"]),
            ("formal notices with legal letter (due + 30)", levels["formal_notice"]),
            ("agency hand-overs (due + 60)", levels["agency_handover"]),
            ("collection cases opened", kinds["CollectionCaseOpened"]),
            ("agency case updates received", kinds["AgencyCaseUpdated"]),
            ("dunning paused (disputes, promises)", kinds["DunningPaused"]),
        ],
    )

    late: dict[str, list[int]] = defaultdict(list)
    for event in ledger_events:
        if type(event.data).__name__ == "InvoiceSettled":
            late[event.data.buyer_id].append(event.data.days_late)
    worst = sorted(late.items(), key=lambda kv: (-sum(kv[1]) / len(kv[1]), kv[0]))[:10]
    payers = Table(title="The ten buyers with the worst payment record")
    for column in ("buyer", "invoices", "paid late", "average days late", "worst"):
        payers.add_column(column, justify="right")
    for buyer, days in worst:
        payers.add_row(
            buyer,
            str(len(days)),
            f"{sum(1 for d in days if d > 0)}",
            f"{Decimal(sum(days)) / len(days):.1f}",
            str(max(days)),
        )
    console.print(payers)


def risk(stack: StackSettings, tenant: str, keys: DemoKeys) -> None:
    """risk-monitor: buyers by grade now, grade changes and alerts over the history."""
    service = platform.service("risk-monitor")
    grades = httpx.get(
        f"{service.url}/v1/portfolio/grades", headers=bearer(keys.risk_read), timeout=30
    ).json()
    table = Table(title="Buyers by grade (risk-monitor; 1 best, 10 insolvent)")
    table.add_column("grade", justify="right")
    table.add_column("buyers", justify="right")
    for row in grades.get("grades", []):
        table.add_row(str(row["grade"] or "not scored"), str(row["buyers"]))
    console.print(table)
    events = asyncio.run(tenant_events(stack.kafka_bootstrap, topics.RISK, tenant))
    kinds = Counter(type(e.data).__name__ for e in events)
    levels = Counter(e.data.level for e in events if type(e.data).__name__ == "RiskAlertRaised")
    _counts(
        "Grade changes and early warnings",
        [
            ("downgrades", kinds["BuyerDowngraded"]),
            ("upgrades", kinds["BuyerUpgraded"]),
            ("alerts: watch", levels["watch"]),
            ("alerts: warning", levels["warning"]),
            ("alerts: critical", levels["critical"]),
            ("buyers insolvent", kinds["BuyerInsolvent"]),
        ],
    )


def credit(stack: StackSettings, tenant: str) -> None:
    """credit-assessment: limits set, holds placed and released, order decisions."""
    events = asyncio.run(tenant_events(stack.kafka_bootstrap, topics.CREDIT, tenant))
    kinds = Counter(type(e.data).__name__ for e in events)
    decisions = Counter(
        e.data.decision for e in events if type(e.data).__name__ == "CreditDecisionMade"
    )
    limited = {e.data.buyer_id for e in events if type(e.data).__name__ == "CreditLimitChanged"}
    _counts(
        "Limits, holds and order decisions (credit-assessment)",
        [
            ("buyers with a credit limit", len(limited)),
            ("limit changes", kinds["CreditLimitChanged"]),
            ("credit holds placed", kinds["CreditHoldPlaced"]),
            ("credit holds released", kinds["CreditHoldReleased"]),
            ("orders approved", decisions["approved"]),
            ("orders referred", decisions["referred"]),
            ("orders declined", decisions["declined"]),
        ],
    )


def insurance(stack: StackSettings, tenant: str, keys: DemoKeys) -> None:
    """insurance-claims: notifications to the insurer, claims filed and paid."""
    events = asyncio.run(tenant_events(stack.kafka_bootstrap, topics.INSURANCE, tenant))
    kinds = Counter(type(e.data).__name__ for e in events)
    service = platform.service("insurance-claims")
    claims = httpx.get(
        f"{service.url}/v1/claims", headers=bearer(keys.insurance_read), timeout=30
    ).json()
    paid = [c for c in claims.get("items", []) if c["status"] in ("paid", "partially_paid")]
    indemnity = sum((Decimal(str(c["indemnity_paid"])) for c in paid), Decimal(0))
    _counts(
        "Trade credit insurance (insurance-claims)",
        [
            ("cover changes", kinds["CoverChanged"]),
            ("stop-supply notices", kinds["StopSupplyRequired"]),
            ("overdue notifications to the insurer", kinds["OverdueNotifiedToInsurer"]),
            ("claims filed", kinds["ClaimFiled"]),
            ("claims paid", len(paid)),
            ("indemnity paid", f"{indemnity:,.2f}"),
        ],
    )


def summarize(stack: StackSettings, tenant: str, keys: DemoKeys, first: date, last: date) -> None:
    receivables(stack, tenant, keys, first, last)
    risk(stack, tenant, keys)
    credit(stack, tenant)
    insurance(stack, tenant, keys)
