"""The four reactions to one stream, black box through HTTP and topics: a buyer the insured
covers, who never pays and becomes insolvent. The same business day the notice arrives,
risk-monitor declares it insolvent with a critical alert; dunning puts it on the watch cycle;
credit-assessment holds it and declines its next order; insurance-claims notifies the insurer and
files the claim: 90 % of the insured outstanding."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from harness import Tenant, new_tenant, read_events, replay

from arshield_cli.importers.receivables_csv import Fact
from arshield_cli.stack import StackSettings
from arshield_events import topics
from arshield_events.envelope import Payload, envelope
from arshield_events.erp import BuyerRegistered, ContractTerms, InvoiceIssued
from arshield_events.external import InsolvencyNoticePublished
from arshield_events.money import Money

pytestmark = pytest.mark.e2e

BUYER = "B-INSOLVENT"
REGISTERED, ISSUED, DUE, NOTICE = (
    date(2024, 1, 2),
    date(2024, 1, 3),
    date(2024, 2, 2),
    date(2024, 3, 18),
)


def fact(tenant: str, on: date, rank: int, data: Payload, name: str) -> Fact:
    return Fact(
        on,
        (rank, 0),
        envelope(
            data,
            id=f"{tenant}-{name}",
            source="erp/e2e",
            subject=getattr(data, "buyer_id", tenant),
            tenantid=tenant,
            time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
        ),
    )


def until(check: Any, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def of(events: list[Any], name: str) -> list[Any]:
    return [e.data for e in events if type(e.data).__name__ == name]


@pytest.fixture(scope="module")
def insolvent(services: StackSettings) -> Tenant:
    tenant = new_tenant(services, "protect")
    with tenant.client("insurance-claims", "admin") as insurance:
        policy = insurance.put(
            "/v1/policies/POL-E2E",
            json={
                "insurer": "E2E Trade Credit",
                "currency": "EUR",
                "aggregate_limit": "1000000.00",
                "period_start_on": REGISTERED.isoformat(),
            },
        )
        assert policy.status_code == 201, policy.text
    registered = BuyerRegistered(
        buyer_id=BUYER,
        legal_name="Insolvent Trading GmbH",
        country="DE",
        segment="standard",
        preferred_language="de",
        registered_on=REGISTERED,
    )
    replay(services, tenant.name, [fact(tenant.name, REGISTERED, 0, registered, "buyer")])
    with tenant.client("insurance-claims", "write") as insurance:
        limit = insurance.post(
            f"/v1/buyers/{BUYER}/discretionary-limit",
            json={"policy_id": "POL-E2E", "amount": {"amount": "15000.00", "currency": "EUR"}},
        )
        assert limit.status_code == 201, limit.text
    issued = InvoiceIssued(
        invoice_id="INV-P1",
        invoice_number="INV-P1",
        buyer_id=BUYER,
        issued_on=ISSUED,
        delivered_on=ISSUED,
        due_on=DUE,
        amount=Money(amount=Decimal("10000.00"), currency="EUR"),
        payment_terms_days=30,
        contract_terms=ContractTerms(
            jurisdiction="DE", late_interest="statutory", retention_of_title=True
        ),
    )
    notice = InsolvencyNoticePublished(
        buyer_id=BUYER,
        provider_id="e2e-register",
        proceeding="proceedings_opened",
        court="Amtsgericht Köln",
        published_on=NOTICE,
    )
    replay(
        services,
        tenant.name,
        [
            fact(tenant.name, ISSUED, 1, issued, "invoice"),
            fact(tenant.name, NOTICE, 2, notice, "notice"),
        ],
        to=date(2024, 3, 20),
    )
    return tenant


def test_risk_monitor_declares_the_insolvency_with_a_critical_alert_the_same_day(
    services: StackSettings, insolvent: Tenant
) -> None:
    events = read_events(services, topics.RISK, insolvent.name)
    assert [(e.buyer_id, e.insolvent_on) for e in of(events, "BuyerInsolvent")] == [(BUYER, NOTICE)]
    critical = [a for a in of(events, "RiskAlertRaised") if a.level == "critical"]
    assert [(a.buyer_id, a.raised_on) for a in critical] == [(BUYER, NOTICE)]
    with insolvent.client("risk-monitor") as risk:
        profile = until(lambda: risk.get(f"/v1/buyers/{BUYER}/risk").json().get("grade") == 10)
        assert profile, "the buyer's grade is not 10"


def test_dunning_moves_the_buyer_to_the_watch_cycle(
    services: StackSettings, insolvent: Tenant
) -> None:
    with insolvent.client("dunning") as dunning:
        standing = dunning.get(f"/v1/buyers/{BUYER}/dunning").json()
    assert standing["on_watch"] is True, standing


def test_credit_assessment_holds_the_buyer_and_declines_its_next_order(
    services: StackSettings, insolvent: Tenant
) -> None:
    holds = of(read_events(services, topics.CREDIT, insolvent.name), "CreditHoldPlaced")
    assert any(h.buyer_id == BUYER for h in holds), holds
    with insolvent.client("credit-assessment", "write") as credit:
        answer = credit.post(
            "/v1/credit-checks",
            json={
                "buyer_id": BUYER,
                "order_id": "ORD-AFTER-INSOLVENCY",
                "amount": {"amount": "2000.00", "currency": "EUR"},
            },
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "declined"


def test_insurance_claims_notifies_the_insurer_and_files_the_claim(
    services: StackSettings, insolvent: Tenant
) -> None:
    events = read_events(services, topics.INSURANCE, insolvent.name)
    notified = of(events, "OverdueNotifiedToInsurer")
    assert [n.buyer_id for n in notified] == [BUYER]
    (claim,) = of(events, "ClaimFiled")
    assert claim.buyer_id == BUYER
    # 10,000 outstanding, insured within the 15,000 discretionary limit at its 60 %
    assert claim.claimed_indemnity.amount == Decimal("6000.00")
