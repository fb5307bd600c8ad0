"""A generated portfolio driven through the kernel for a year, day by day, holds to a recorded
outcome: every record the service writes to its outbox (key, headers, bytes), each buyer's final
state, wake-up date and worklist are those recorded in `portfolio.json` (one digest per buyer).

The buyers are drawn from a seeded generator to reach every rule the deadline engine keeps:
insurer and discretionary cover, reductions and withdrawals, terms beyond the maximum credit
period, another currency, late deliveries and proofs of delivery, partial payments (allocated
and not), credit notes, the ledger's balances, partial and whole disputes (some resolved),
statements, hand-overs in time and late, insolvencies, a policy version that changes mid-year
and an aggregate limit that runs out. Whatever makes a tick cheaper must leave this outcome
unchanged; a change of the rules changes it, and then the file is written again
(`ARSHIELD_WRITE_PORTFOLIO=1`) with the reason in the commit."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arshield_events import dunning, erp, ledger, risk
from arshield_events import insurance as public
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.money import Money
from arshield_insurance_claims.adapters.postgres import PORTS
from arshield_insurance_claims.adapters.public_events import publish
from arshield_insurance_claims.application.wiring import DayContext, InsuranceKernel, wiring
from arshield_insurance_claims.domain.commands import AggregateBudget
from arshield_insurance_claims.domain.day import deadlines
from arshield_insurance_claims.domain.state import BuyerInsurance
from arshield_runtime.kernel import Kernel
from arshield_runtime.messaging import BatchScope, HandlerContext, Origin
from arshield_runtime.statestore import InMemoryStateStore

from .harness import policy

pytestmark = pytest.mark.unit

TENANT = "acme"
SOURCE = "arshield/insurance-claims"
BUYERS = 240
START = date(2025, 1, 1)
DAYS = 420
VERSION_2_ON = date(2025, 7, 1)
"""The policy's second version (a longer MEP, a higher threshold) is in force from this day."""
POLICIES = (
    policy(aggregate_limit=Decimal("400000")),
    policy(
        version=2,
        effective_on=VERSION_2_ON,
        aggregate_limit=Decimal("400000"),
        mep_days=75,
        claim_threshold=Decimal(900),
    ),
)
RECORDED = Path(__file__).with_name("portfolio.json")


def at(on: date) -> datetime:
    return datetime.combine(on, datetime.min.time(), tzinfo=UTC)


def money(amount: Decimal | int | str, currency: str = "EUR") -> Money:
    return Money.of(str(amount), currency)


def buyer_facts(n: int) -> list[tuple[date, str, Payload]]:
    """One buyer's facts: (day, source, payload)."""
    rng = random.Random(n)
    buyer = f"B{n:04d}"
    facts: list[tuple[date, str, Payload]] = []

    def day(low: int, high: int) -> date:
        return START + timedelta(days=rng.randint(low, high))

    cover_kind = rng.choices(["insurer", "discretionary", "none"], [7, 2, 1])[0]
    covered_on = day(0, 20)
    if cover_kind == "insurer":
        limit = rng.choice([4000, 8000, 15000, 40000])
        facts.append(
            (
                covered_on,
                SOURCE,
                public.CoverChanged(
                    insurance_policy_id="POL-1",
                    buyer_id=buyer,
                    change="granted",
                    decided_by="insurer",
                    cover=money(limit),
                    notified_on=covered_on,
                    effective_on=covered_on,
                    decision_id=f"dec-{n}-1",
                    decision="full",
                ),
            )
        )
        if rng.random() < 0.3:
            later = day(60, 250)
            lower = rng.choice([0, limit // 2])
            facts.append(
                (
                    later,
                    SOURCE,
                    public.CoverChanged(
                        insurance_policy_id="POL-1",
                        buyer_id=buyer,
                        change="withdrawn" if lower == 0 else "reduced",
                        decided_by="insurer",
                        previous_cover=money(limit),
                        cover=money(lower),
                        notified_on=later,
                        effective_on=later + timedelta(days=30),
                        decision_id=f"dec-{n}-2",
                        decision="withdrawn" if lower == 0 else "reduced",
                    ),
                )
            )
    elif cover_kind == "discretionary":
        facts.append(
            (
                covered_on,
                SOURCE,
                public.CoverChanged(
                    insurance_policy_id="POL-1",
                    buyer_id=buyer,
                    change="granted",
                    decided_by="insured",
                    cover=money(rng.choice([3000, 12000, 20000])),
                    notified_on=covered_on,
                    effective_on=covered_on,
                    decision_id=f"dec-{n}-d",
                    decision="discretionary",
                ),
            )
        )
    invoices: list[tuple[str, date, Decimal, date]] = []
    for k in range(rng.randint(1, 5)):
        invoice_id = f"I{n}-{k}"
        issued = day(0, 200)
        terms = rng.choice([30, 30, 60, 60, 90, 150])
        due = issued + timedelta(days=terms)
        amount = Decimal(rng.choice([800, 1500, 3000, 4999, 7250])) + Decimal(
            rng.choice(["0", "0.50", "0.99"])
        )
        currency = "USD" if rng.random() < 0.05 else "EUR"
        delivered = issued + timedelta(days=rng.choice([0, 0, 3])) if rng.random() < 0.5 else None
        facts.append(
            (
                issued,
                "erp/test",
                erp.InvoiceIssued(
                    invoice_id=invoice_id,
                    invoice_number=f"N{n}-{k}",
                    buyer_id=buyer,
                    issued_on=issued,
                    delivered_on=delivered,
                    due_on=due,
                    amount=money(amount, currency),
                    payment_terms_days=terms,
                ),
            )
        )
        invoices.append((invoice_id, due, amount, issued))
        if currency != "EUR":
            continue
        if rng.random() < 0.3:
            confirmed = issued + timedelta(days=rng.randint(1, 10))
            facts.append(
                (
                    confirmed,
                    "erp/test",
                    erp.DeliveryConfirmed(
                        invoice_id=invoice_id,
                        buyer_id=buyer,
                        confirmed_on=confirmed,
                        proof_of_delivery=erp.ProofOfDelivery(
                            document_ref=f"pod-{invoice_id}", signed_by="Receiving"
                        ),
                    ),
                )
            )
        if rng.random() < 0.25:
            raised = due + timedelta(days=rng.randint(-10, 40))
            whole = rng.random() < 0.3
            disputed = amount if whole else (amount / 4).quantize(Decimal("0.01"))
            facts.append(
                (
                    raised,
                    "erp/test",
                    erp.DisputeRaised(
                        dispute_id=f"D{invoice_id}",
                        invoice_id=invoice_id,
                        buyer_id=buyer,
                        disputed_amount=money(disputed),
                        reason="quality",
                        raised_on=raised,
                    ),
                )
            )
            if rng.random() < 0.5:
                resolved = raised + timedelta(days=rng.randint(5, 90))
                facts.append(
                    (
                        resolved,
                        "erp/test",
                        erp.DisputeResolved(
                            dispute_id=f"D{invoice_id}",
                            invoice_id=invoice_id,
                            buyer_id=buyer,
                            outcome="rejected",
                            resolved_on=resolved,
                        ),
                    )
                )
        if rng.random() < 0.15:
            credited_on = due + timedelta(days=rng.randint(-20, 30))
            facts.append(
                (
                    credited_on,
                    "erp/test",
                    erp.CreditNoteIssued(
                        credit_note_id=f"CN{invoice_id}",
                        invoice_id=invoice_id,
                        buyer_id=buyer,
                        amount=money(Decimal(500)),
                        issued_on=credited_on,
                    ),
                )
            )
        if rng.random() < 0.2:
            changed_on = due + timedelta(days=rng.randint(0, 100))
            facts.append(
                (
                    changed_on,
                    "arshield/ledger",
                    ledger.InvoiceBalanceChanged(
                        invoice_id=invoice_id,
                        buyer_id=buyer,
                        outstanding=money((amount / 2).quantize(Decimal("0.01"))),
                        status="partially_paid",
                        changed_on=changed_on,
                    ),
                )
            )
    for p in range(rng.choice([0, 0, 1, 2, 3])):
        received = day(30, 400)
        allocated = rng.random() < 0.4
        paid = Decimal(rng.choice([250, 1000, 2500, 6000]))
        target = rng.choice(invoices)
        facts.append(
            (
                received,
                "erp/test",
                erp.PaymentReceived(
                    payment_id=f"P{n}-{p}",
                    buyer_id=buyer,
                    amount=money(paid),
                    received_on=received,
                    allocations=(erp.Allocation(invoice_id=target[0], amount=money(paid)),)
                    if allocated
                    else (),
                ),
            )
        )
    oldest_due = min(due for _, due, _, _ in invoices)
    if rng.random() < 0.25:
        handed = oldest_due + timedelta(days=rng.randint(40, 130))
        facts.append(
            (
                handed,
                "arshield/dunning",
                dunning.CaseHandedToAgency(
                    case_id=f"C{n}", buyer_id=buyer, agency_id="ag-1", handed_on=handed
                ),
            )
        )
    if rng.random() < 0.3:
        issued_on = oldest_due + timedelta(days=rng.randint(5, 60))
        facts.append(
            (
                issued_on,
                "arshield/dunning",
                dunning.StatementOfAccountIssued(
                    statement_id=f"S{n}",
                    buyer_id=buyer,
                    invoice_ids=tuple(i for i, *_ in invoices),
                    total_outstanding=money(sum(a for _, _, a, _ in invoices)),
                    overdue=money(0),
                    document_ref=f"statement-{n}",
                    language="en",
                    policy_version="dunning:v1",
                    issued_on=issued_on,
                ),
            )
        )
    if rng.random() < 0.12:
        insolvent = oldest_due + timedelta(days=rng.randint(-20, 120))
        facts.append(
            (
                insolvent,
                "arshield/risk-monitor",
                risk.BuyerInsolvent(
                    buyer_id=buyer,
                    source="manual",
                    notice_ref=f"court-{n}",
                    insolvent_on=insolvent,
                ),
            )
        )
    return facts


def portfolio() -> dict[date, list[tuple[str, Payload]]]:
    by_day: dict[date, list[tuple[str, Payload]]] = defaultdict(list)
    for n in range(BUYERS):
        for on, source, data in buyer_facts(n):
            by_day[on].append((source, data))
    return by_day


def fact(data: Payload, on: date, source: str, number: int) -> CloudEvent[Any]:
    return envelope(
        data,
        id=f"{source}-{on}-{number}",
        source=source,
        subject=getattr(data, "buyer_id", TENANT),
        tenantid=TENANT,
        time=at(on),
    )


def tick(on: date) -> CloudEvent[Any]:
    return envelope(
        BusinessDayStarted(business_date=on),
        id=f"tick-{on}",
        source="arshield/clock",
        subject=TENANT,
        tenantid=TENANT,
        time=at(on),
    )


def in_force(on: date) -> Any:
    return max((p for p in POLICIES if p.effective_on <= on), key=lambda p: p.effective_on)


async def run_year() -> tuple[InMemoryStateStore, dict[str, list[str]]]:
    """The year driven through the kernel; every outbox record, by the buyer it is about."""
    claimed: list[Decimal] = []

    async def day_context(session: Any, tenant_id: str, day: date) -> DayContext:
        current = in_force(day)
        left = current.aggregate_limit - sum(claimed, Decimal(0))
        return DayContext({"POL-1": current}, AggregateBudget({"POL-1": left}))

    store = InMemoryStateStore()
    base = wiring(SOURCE, PORTS, read_models=(), publish=publish)
    kernel: InsuranceKernel = Kernel(dataclasses.replace(base, day_context=day_context), store)
    router = kernel.router()
    written: dict[str, list[str]] = defaultdict(list)
    facts = portfolio()
    session: Any = None
    for offset in range(DAYS):
        on = START + timedelta(days=offset)
        batches = [[tick(on)]]
        todays = [fact(data, on, source, k) for k, (source, data) in enumerate(facts.get(on, []))]
        batches += [todays[i : i + 50] for i in range(0, len(todays), 50)]
        for events in batches:
            scope = BatchScope()
            await router.prepare(session, events, scope)
            for event in events:
                handler = router.handler_for(event.data)
                assert handler is not None
                ctx = HandlerContext(
                    session, event, Origin("unit", 0, 0), SOURCE, batch=scope, day=on
                )
                await handler(ctx)
                for record in ctx.emitted:
                    buyer = record.key.split(":", 1)[1]
                    headers = json.dumps(record.headers, sort_keys=True)
                    written[buyer].append(f"{on}|{record.topic}|{headers}|{record.value.decode()}")
                    document = json.loads(record.value)
                    if document["type"] == public.ClaimFiled.event_name:
                        claimed.append(Decimal(document["data"]["claimed_indemnity"]["amount"]))
            await scope.flush(session)
    return store, written


def outcome(store: InMemoryStateStore, written: dict[str, list[str]]) -> dict[str, Any]:
    last = START + timedelta(days=DAYS - 1)
    buyers: dict[str, str] = {}
    kinds: dict[str, int] = defaultdict(int)
    for (_, buyer), (raw, wake) in sorted(store.states.items()):
        state = BuyerInsurance.model_validate_json(raw)
        worklist = [
            (d.kind, str(d.due_on), d.invoice_id, str(d.done_on), str(d.missed_on), d.status(last))
            for d in deadlines(state, state.policy)
        ]
        canonical = json.dumps(
            {
                "records": written.get(buyer, []),
                "state": json.loads(raw),
                "wake": str(wake),
                "worklist": worklist,
            },
            sort_keys=True,
        )
        buyers[buyer] = hashlib.sha256(canonical.encode()).hexdigest()
        for line in written.get(buyer, []):
            kinds[json.loads(line.split("|", 3)[3])["type"]] += 1
    return {"events": dict(sorted(kinds.items())), "buyers": buyers}


async def test_a_generated_portfolio_reaches_the_recorded_outcome() -> None:
    store, written = await run_year()
    found = outcome(store, written)
    if os.environ.get("ARSHIELD_WRITE_PORTFOLIO") == "1":
        RECORDED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(RECORDED.read_text())
    # the portfolio reaches every kind of decision, so a digest that holds means something
    assert set(recorded["events"]) >= {
        public.StopSupplyRequired.event_name,
        public.OverdueNotifiedToInsurer.event_name,
        public.DeadlineMissed.event_name,
        public.ClaimFiled.event_name,
        public.RecoveryAllocated.event_name,
    }
    assert found["events"] == recorded["events"]
    differing = sorted(
        b for b in recorded["buyers"] if found["buyers"].get(b) != recorded["buyers"][b]
    )
    assert not differing, (
        f"{len(differing)} buyers differ from the recorded outcome: {differing[:10]}"
    )
    assert found["buyers"].keys() == recorded["buyers"].keys()
