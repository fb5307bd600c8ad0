"""`arshield demo`: the platform's main job on this machine.

Starts the stack and every service, registers a demo collection agency, replays real receivables
history day by day, then prints the summary a credit manager wants, and leaves everything running.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from arshield_cli import platform
from arshield_cli.commands import replay_file
from arshield_cli.reading import tenant_events
from arshield_cli.stack import StackSettings, up
from arshield_cli.stack._proc import pid_alive, read_pid, terminate_group
from arshield_events import topics

console = Console(width=None if sys.stdout.isatty() else 150)
AGENCY_PORT = 8190
DATASET = Path("..", "shared", "datasets", "ibm-late-payment-histories.csv")


@dataclass(frozen=True)
class DemoKeys:
    ledger_read: str
    dunning_read: str
    dunning_admin: str
    dunning_agency: str


def dataset_path() -> Path:
    from arshield_cli.stack.settings import find_repo_root

    root = find_repo_root() or Path.cwd()
    return (root / DATASET).resolve()


def _keys(stack: StackSettings, tenant: str) -> DemoKeys:
    ledger, dunning = platform.service("ledger"), platform.service("dunning")
    return DemoKeys(
        ledger_read=platform.create_key(ledger, stack, tenant, "read", "demo read"),
        dunning_read=platform.create_key(dunning, stack, tenant, "read", "demo read"),
        dunning_admin=platform.create_key(dunning, stack, tenant, "admin", "demo admin"),
        dunning_agency=platform.create_key(dunning, stack, tenant, "agency", "demo agency"),
    )


def _register_agency(keys: DemoKeys) -> tuple[str, str]:
    """The demo agency's id and secret (registered once; a second demo reuses it)."""
    dunning = platform.service("dunning")
    headers = {"Authorization": f"Bearer {keys.dunning_admin}"}
    url = f"http://127.0.0.1:{AGENCY_PORT}/webhooks"
    state = StackSettings().state_dir / "services" / "demo-agency.json"
    if state.exists():
        state.chmod(0o600)
        saved = json.loads(state.read_text())
        existing = httpx.get(f"{dunning.url}/v1/agencies/{saved['agency_id']}", headers=headers)
        if existing.status_code == 200:
            return saved["agency_id"], saved["secret"]
    response = httpx.post(
        f"{dunning.url}/v1/agencies",
        headers=headers,
        json={"name": "Demo Collections GmbH", "url": url},
    )
    response.raise_for_status()
    body = response.json()
    _write_private(state, json.dumps({"agency_id": body["agency_id"], "secret": body["secret"]}))
    return body["agency_id"], body["secret"]


def _write_private(path: Path, text: str) -> None:
    """Write `text` readable by the owner only (0600): the file holds the agency's secret."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file may have been created world-readable
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


def _start_agency(stack: StackSettings, agency_id: str, secret: str, keys: DemoKeys) -> int:
    run_dir = stack.state_dir / "services"
    pid = read_pid(run_dir / "demo-agency.pid")
    if pid is not None and pid_alive(pid):
        terminate_group(pid, timeout=5)  # restart with the current key
    dunning = platform.service("dunning")
    env = {
        **os.environ,
        "DEMO_AGENCY_SECRET": secret,
        "DEMO_AGENCY_CALLBACK_URL": f"{dunning.url}/v1/agencies/{agency_id}/callbacks",
        "DEMO_AGENCY_API_KEY": keys.dunning_agency,
    }
    with (run_dir / "demo-agency.log").open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "arshield_cli.demo_agency", "--port", str(AGENCY_PORT)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (run_dir / "demo-agency.pid").write_text(f"{process.pid}\n")
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{AGENCY_PORT}/healthz", timeout=1).status_code == 200:
                return process.pid
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the demo agency did not start")


def quarter_ends(first: date, last: date) -> list[tuple[date, date]]:
    periods = []
    start = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    while start <= last:
        month = start.month + 3
        following = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        periods.append((start, following - timedelta(days=1)))
        start = following
    return periods


def summarize(stack: StackSettings, tenant: str, keys: DemoKeys, first: date, last: date) -> None:
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
    actions = Table(title="Dunning actions taken")
    actions.add_column("action")
    actions.add_column("count", justify="right")
    for label, count in (
        ("payment reminders (due - 15)", kinds["PaymentReminderSent"]),
        ("first overdue notices (due + 1)", levels["first_overdue_notice"]),
        ("formal notices with legal letter (due + 30)", levels["formal_notice"]),
        ("agency hand-overs (due + 60)", levels["agency_handover"]),
        ("collection cases opened", kinds["CollectionCaseOpened"]),
        ("agency case updates received", kinds["AgencyCaseUpdated"]),
        ("dunning paused (disputes, promises)", kinds["DunningPaused"]),
    ):
        actions.add_row(label, str(count))
    console.print(actions)

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


def _agency_scenario(stack: StackSettings, tenant: str, after: date) -> int:
    """Beyond the dataset (whose invoices are at most 45 days late): one buyer who never pays, so
    the timeline reaches the agency hand-over and the demo agency works the case."""
    from datetime import UTC, datetime
    from datetime import time as clock_time

    from arshield_cli.importers.receivables_csv import Fact
    from arshield_cli.replay import advance_clock
    from arshield_events.envelope import envelope
    from arshield_events.erp import BuyerRegistered, ContractTerms, InvoiceIssued
    from arshield_events.money import Money

    issued = after + timedelta(days=1)
    due = issued + timedelta(days=30)
    at = datetime.combine(issued, clock_time(9), tzinfo=UTC)
    buyer = "DEMO-NEVER-PAYS"
    facts = [
        Fact(
            issued,
            (0, 0),
            envelope(
                BuyerRegistered(
                    buyer_id=buyer,
                    legal_name="Never Pays Trading Ltd",
                    country="DE",
                    segment="standard",
                    preferred_language="de",
                    registered_on=issued,
                ),
                id=f"demo-{tenant}-buyer",
                source="erp/demo",
                subject=buyer,
                tenantid=tenant,
                time=at,
            ),
        ),
        Fact(
            issued,
            (1, 0),
            envelope(
                InvoiceIssued(
                    invoice_id="DEMO-INV-1",
                    invoice_number="DEMO-INV-1",
                    buyer_id=buyer,
                    issued_on=issued,
                    delivered_on=issued,
                    due_on=due,
                    amount=Money(amount=Decimal("18250.00"), currency="EUR"),
                    payment_terms_days=30,
                    contract_terms=ContractTerms(
                        jurisdiction="DE", late_interest="statutory", retention_of_title=True
                    ),
                ),
                id=f"demo-{tenant}-invoice",
                source="erp/demo",
                subject=buyer,
                tenantid=tenant,
                time=at,
            ),
        ),
    ]
    return asyncio.run(
        advance_clock(
            stack, platform.SERVICES, tenant=tenant, to=due + timedelta(days=62), facts=facts
        )
    )


def peak_memory(stack: StackSettings) -> dict[str, str]:
    """Peak resident memory (VmHWM) of each service process."""
    found = {}
    for spec in platform.SERVICES:
        pid = platform.pid_of(spec, stack)
        if pid:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM"):
                    found[spec.name] = line.split(":", 1)[1].strip()
    return found


def run_demo(tenant: str = "demo", csv_file: Path | None = None) -> None:
    stack = StackSettings()
    console.rule("[bold]arshield demo")
    console.print("starting Kafka and PostgreSQL …")
    up(stack)
    agency_env = {"ARSHIELD_DUNNING_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true"}
    for spec in platform.SERVICES:
        platform.start(spec, stack, extra_env=agency_env if spec.name == "dunning" else None)
    for spec in platform.SERVICES:
        platform.wait_ready(spec, stack)
        console.print(f"  {spec.name} ready at {spec.url}")
    keys = _keys(stack, tenant)
    agency_id, secret = _register_agency(keys)
    _start_agency(stack, agency_id, secret, keys)
    console.print(
        f"  demo agency listening on http://127.0.0.1:{AGENCY_PORT}/webhooks ({agency_id})"
    )

    source = csv_file or dataset_path()
    console.print(f"replaying {source.name} day by day (tick when quiet, then the day's facts) …")
    started = time.perf_counter()
    published = asyncio.run(replay_file(source, tenant=tenant))
    elapsed = time.perf_counter() - started
    console.print(
        f"replayed {published} events in {elapsed:.0f} s "
        f"({published / max(elapsed, 1e-9):.0f} events/s end to end)"
    )

    from arshield_cli.importers.receivables_csv import read_facts

    facts = read_facts(source, tenant=tenant)
    first, last = min(f.on for f in facts), max(f.on for f in facts)
    console.print("one more buyer who never pays, to walk the timeline to the agency …")
    _agency_scenario(stack, tenant, last)
    time.sleep(3)  # the demo agency calls back within a couple of seconds
    summarize(stack, tenant, keys, first, last)
    memory = peak_memory(stack)
    console.print("peak memory: " + ", ".join(f"{k} {v}" for k, v in memory.items()))
    console.rule("[bold]running")
    for spec in platform.SERVICES:
        console.print(f"{spec.name:8} {spec.url}/docs")
    console.print(f"ledger read key  : {keys.ledger_read}")
    console.print(f"dunning read key : {keys.dunning_read}")
    console.print(
        f'try: curl -H "Authorization: Bearer {keys.ledger_read}" '
        f"{platform.service('ledger').url}/v1/portfolio/ageing"
    )
    console.print("stop everything with `make stop` (data kept) or `make stack-reset` (wiped)")


def stop_all() -> None:
    stack = StackSettings()
    pid = read_pid(stack.state_dir / "services" / "demo-agency.pid")
    if pid is not None and pid_alive(pid):
        terminate_group(pid, timeout=5)
        console.print("stopped the demo agency")
    for spec in platform.SERVICES:
        if platform.stop(spec, stack):
            console.print(f"stopped {spec.name}")
    from arshield_cli.stack import down

    down(stack)
    console.print("stopped Kafka and PostgreSQL (data kept)")
