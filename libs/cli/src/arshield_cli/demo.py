"""`arshield demo`: the platform's main job on this machine.

Starts the stack and every service, registers a demo collection agency, replays real receivables
history day by day, then prints the summary a credit manager wants, and leaves everything running.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from arshield_cli import demo_partners, platform
from arshield_cli.commands import replay_file
from arshield_cli.demo_summary import DemoKeys, bearer, console, summarize
from arshield_cli.importers.receivables_csv import Fact
from arshield_cli.replay import advance_clock
from arshield_cli.stack import StackSettings, up
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import BuyerRegistered, ContractTerms, InvoiceIssued
from arshield_events.external import InsolvencyNoticePublished
from arshield_events.money import Money

DATASET = Path("..", "shared", "datasets", "ibm-late-payment-histories.csv")
DEMO_POLICY = "POL-DEMO"
NEVER_PAYS = "DEMO-NEVER-PAYS"


def dataset_path() -> Path:
    from arshield_cli.stack.settings import find_repo_root

    root = find_repo_root() or Path.cwd()
    return (root / DATASET).resolve()


def _keys(stack: StackSettings, tenant: str) -> DemoKeys:
    def key(service: str, scope: str) -> str:
        return platform.create_key(platform.service(service), stack, tenant, scope, f"demo {scope}")

    return DemoKeys(
        ledger_read=key("ledger", "read"),
        dunning_read=key("dunning", "read"),
        dunning_admin=key("dunning", "admin"),
        dunning_agency=key("dunning", "agency"),
        risk_read=key("risk-monitor", "read"),
        credit_read=key("credit-assessment", "read"),
        credit_write=key("credit-assessment", "write"),
        insurance_read=key("insurance-claims", "read"),
        insurance_write=key("insurance-claims", "write"),
        insurance_admin=key("insurance-claims", "admin"),
        insurance_agency=key("insurance-claims", "agency"),
    )


def _insurance_policy(keys: DemoKeys, insurer_id: str, first: date) -> None:
    """The tenant's trade credit insurance policy (DOMAIN.md defaults), written on the log."""
    service = platform.service("insurance-claims")
    answer = httpx.put(
        f"{service.url}/v1/policies/{DEMO_POLICY}",
        headers=bearer(keys.insurance_admin),
        json={
            "insurer": demo_partners.INSURER.name,
            "insurer_id": insurer_id,
            "currency": "EUR",
            "aggregate_limit": "5000000.00",
            "period_start_on": first.isoformat(),
        },
        timeout=30,
    )
    answer.raise_for_status()


def _until(check: Any, what: str, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {within:.0f} s")
        time.sleep(0.2)


def _request_cover(keys: DemoKeys, buyer: str, amount: str) -> None:
    """Ask the insurer for a credit limit on `buyer` and wait for its signed decision."""
    service = platform.service("insurance-claims")
    asked = httpx.post(
        f"{service.url}/v1/buyers/{buyer}/limit-requests",
        headers=bearer(keys.insurance_write),
        json={"policy_id": DEMO_POLICY, "amount": {"amount": amount, "currency": "EUR"}},
        timeout=30,
    )
    asked.raise_for_status()

    def decided() -> bool:
        cover = httpx.get(
            f"{service.url}/v1/buyers/{buyer}/cover", headers=bearer(keys.insurance_read)
        )
        in_force = cover.json().get("in_force") if cover.status_code == 200 else None
        return bool(in_force and in_force.get("decided_by") == "insurer")

    _until(decided, f"the insurer's decision on {buyer}")


def _fact(tenant: str, on: date, rank: int, data: Payload, name: str) -> Fact:
    event: CloudEvent[Any] = envelope(
        data,
        id=f"demo-{tenant}-{name}",
        source="erp/demo",
        subject=getattr(data, "buyer_id", tenant),
        tenantid=tenant,
        time=datetime.combine(on, clock_time(9), tzinfo=UTC),
    )
    return Fact(on, (rank, 0), event)


def _default_scenario(stack: StackSettings, tenant: str, keys: DemoKeys, after: date) -> int:
    """Beyond the dataset (whose invoices are at most 45 days late): a buyer the insurer covers,
    who never pays and becomes insolvent. Risk-monitor grades it 10 and alerts; credit-assessment
    holds it and declines its next order; dunning walks the timeline to the agency; insurance-claims
    notifies the insurer and files the claim, which the demo insurer pays."""
    registered = after + timedelta(days=1)
    issued = registered + timedelta(days=1)
    due = issued + timedelta(days=30)
    published = asyncio.run(
        advance_clock(
            stack,
            platform.SERVICES,
            tenant=tenant,
            to=registered,
            facts=[
                _fact(
                    tenant,
                    registered,
                    0,
                    BuyerRegistered(
                        buyer_id=NEVER_PAYS,
                        legal_name="Never Pays Trading Ltd",
                        country="DE",
                        segment="standard",
                        preferred_language="de",
                        registered_on=registered,
                    ),
                    "buyer",
                )
            ],
        )
    )
    _request_cover(keys, NEVER_PAYS, "25000.00")
    facts = [
        _fact(
            tenant,
            issued,
            1,
            InvoiceIssued(
                invoice_id="DEMO-INV-1",
                invoice_number="DEMO-INV-1",
                buyer_id=NEVER_PAYS,
                issued_on=issued,
                delivered_on=issued,
                due_on=due,
                amount=Money(amount=Decimal("18250.00"), currency="EUR"),
                payment_terms_days=30,
                contract_terms=ContractTerms(
                    jurisdiction="DE", late_interest="statutory", retention_of_title=True
                ),
            ),
            "invoice",
        ),
        _fact(
            tenant,
            due + timedelta(days=45),
            2,
            InsolvencyNoticePublished(
                buyer_id=NEVER_PAYS,
                provider_id="demo-insolvency-register",
                proceeding="proceedings_opened",
                court="Amtsgericht Köln",
                published_on=due + timedelta(days=45),
            ),
            "insolvency",
        ),
    ]
    published += asyncio.run(
        advance_clock(
            stack, platform.SERVICES, tenant=tenant, to=due + timedelta(days=62), facts=facts
        )
    )
    return published


def _credit_checks(keys: DemoKeys, buyers: list[str]) -> None:
    """Orders a sales desk would check before accepting them (answers go on the log too)."""
    service = platform.service("credit-assessment")
    for n, buyer in enumerate(buyers):
        httpx.post(
            f"{service.url}/v1/credit-checks",
            headers=bearer(keys.credit_write),
            json={
                "buyer_id": buyer,
                "order_id": f"DEMO-ORDER-{n + 1}",
                "amount": {"amount": "5000.00", "currency": "EUR"},
                "payment_terms_days": 30,
            },
            timeout=30,
        ).raise_for_status()


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
    partners_env = {
        "ARSHIELD_DUNNING_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "ARSHIELD_INSURANCE_CLAIMS_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    }
    for spec in platform.SERVICES:
        platform.start(spec, stack, extra_env=partners_env)
    for spec in platform.SERVICES:
        platform.wait_ready(spec, stack)
        console.print(f"  {spec.name} ready at {spec.url}")
    keys = _keys(stack, tenant)
    callback_keys = {"dunning": keys.dunning_agency, "insurance-claims": keys.insurance_agency}
    admin_keys = {"dunning": keys.dunning_admin, "insurance-claims": keys.insurance_admin}
    partner_ids = {}
    for partner in demo_partners.PARTNERS:
        partner_id, secret = demo_partners.register(stack, partner, admin_keys[partner.service])
        demo_partners.start(stack, partner, partner_id, secret, callback_keys[partner.service])
        partner_ids[partner.service] = partner_id
        console.print(f"  {partner.name} listening on {partner.url}/webhooks ({partner_id})")

    from arshield_cli.importers.receivables_csv import read_facts

    source = csv_file or dataset_path()
    facts = read_facts(source, tenant=tenant)
    first, last = min(f.on for f in facts), max(f.on for f in facts)
    _insurance_policy(keys, partner_ids["insurance-claims"], first)
    console.print(
        f"replaying {source.name}: each day's marker, then its facts, as fast as the services "
        "take them …"
    )
    started = time.perf_counter()
    published = asyncio.run(replay_file(source, tenant=tenant))
    elapsed = time.perf_counter() - started
    console.print(
        f"replayed {published} events in {elapsed:.0f} s "
        f"({published / max(elapsed, 1e-9):.0f} events/s end to end)"
    )
    console.print("one more buyer, insured, who never pays and goes insolvent …")
    _default_scenario(stack, tenant, keys, last)
    buyers = sorted({f.event.data.buyer_id for f in facts if hasattr(f.event.data, "buyer_id")})
    _credit_checks(keys, [NEVER_PAYS, *buyers[:4]])
    time.sleep(3)  # the demo partners call back within a couple of seconds
    summarize(stack, tenant, keys, first, last)
    memory = peak_memory(stack)
    console.print("peak memory: " + ", ".join(f"{k} {v}" for k, v in memory.items()))
    console.rule("[bold]running")
    for spec in platform.SERVICES:
        console.print(f"{spec.name:18} {spec.url}/docs")
    console.print(f"ledger read key  : {keys.ledger_read}")
    console.print(f"dunning read key : {keys.dunning_read}")
    console.print(f"risk read key    : {keys.risk_read}")
    console.print(f"credit read key  : {keys.credit_read}")
    console.print(f"insurance read key: {keys.insurance_read}")
    console.print(
        f'try: curl -H "Authorization: Bearer {keys.ledger_read}" '
        f"{platform.service('ledger').url}/v1/portfolio/ageing"
    )
    console.print("stop everything with `make stop` (data kept) or `make stack-reset` (wiped)")


def stop_all() -> None:
    stack = StackSettings()
    for partner in demo_partners.PARTNERS:
        if demo_partners.stop(stack, partner):
            console.print(f"stopped {partner.name}")
    for spec in platform.SERVICES:
        if platform.stop(spec, stack):
            console.print(f"stopped {spec.name}")
    from arshield_cli.stack import down

    down(stack)
    console.print("stopped Kafka and PostgreSQL (data kept)")
