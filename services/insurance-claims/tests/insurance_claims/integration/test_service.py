"""insurance-claims over the real Kafka and PostgreSQL, with an HTTP insurer receiver on loopback:
a limit request answered by a signed callback, an insolvency notified and claimed, a claim outcome
replayed with one effect, and a rebuild from the log equal to the live read models after a policy
change mid-history."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import DisputeRaised, InvoiceIssued, PaymentReceived
from arshield_events.money import Money
from arshield_events.risk import BuyerInsolvent
from arshield_runtime.webhooks.signing import new_secret

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

D = date(2025, 3, 31)
BUYER = "B1"


def days(n: int) -> timedelta:
    return timedelta(days=n)


def fact(tenant: str, data: Payload, on: date, source: str = "erp/test") -> CloudEvent[Any]:
    subject = tenant if data.tenant_keyed else getattr(data, "buyer_id", tenant)
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source=source,
        subject=subject,
        tenantid=tenant,
        time=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


def tick(tenant: str, on: date) -> CloudEvent[Any]:
    return fact(tenant, BusinessDayStarted(business_date=on), on, source="arshield/clock")


def invoice(invoice_id: str, amount: str, due_on: date) -> InvoiceIssued:
    issued = due_on - days(60)
    return InvoiceIssued(
        invoice_id=invoice_id,
        invoice_number=f"N-{invoice_id}",
        buyer_id=BUYER,
        issued_on=issued,
        delivered_on=issued,
        due_on=due_on,
        amount=Money.of(amount, "EUR"),
        payment_terms_days=60,
    )


def payment(payment_id: str, amount: str, on: date) -> PaymentReceived:
    return PaymentReceived(
        payment_id=payment_id, buyer_id=BUYER, amount=Money.of(amount, "EUR"), received_on=on
    )


def signed(secret: str, body: bytes, msg_id: str, key: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
        "content-type": "application/json",
        "idempotency-key": key,
    }


POLICY = {
    "insurer": "Demo Trade Credit",
    "currency": "EUR",
    "aggregate_limit": "1000000.00",
    "period_start_on": "2025-01-01",
}


class Flow:
    def __init__(self, stack: Any, service: Any, tenant: str, keys: dict[str, str]) -> None:
        self.stack, self.service, self.tenant, self.keys = stack, service, tenant, keys
        self.api = httpx.AsyncClient(base_url=service.url, timeout=30)

    def auth(self, scope: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[scope]}"}

    async def publish(self, *events: CloudEvent[Any]) -> None:
        await self.stack.publish(events)
        await self.stack.wait_consumed(self.service.group)
        await self.drained()

    async def drained(self) -> None:
        """Until the outbox relay published everything (so the log keeps the live order)."""
        conn = await asyncpg.connect(self.service.database_url.replace("+asyncpg", ""))
        try:
            deadline = time.monotonic() + 30
            while await conn.fetchval("SELECT count(*) FROM outbox"):
                assert time.monotonic() < deadline, "the outbox was not drained"
                await asyncio.sleep(0.05)
        finally:
            await conn.close()

    async def days(self, *on: date) -> None:
        for day in on:
            await self.publish(tick(self.tenant, day))

    async def discretionary_limit(self, amount: str) -> None:
        """The insured sets a discretionary limit for the buyer under POL-1."""
        limit = await self.api.post(
            f"/v1/buyers/{BUYER}/discretionary-limit",
            headers=self.auth("write"),
            json={"policy_id": "POL-1", "amount": {"amount": amount, "currency": "EUR"}},
        )
        assert limit.status_code == 201, limit.text
        await self.drained()

    async def put_policy(self, **rules: Any) -> dict[str, Any]:
        answer = await self.api.put(
            "/v1/policies/POL-1", headers=self.auth("admin"), json={**POLICY, **rules}
        )
        assert answer.status_code == 201, answer.text
        await self.drained()
        return dict(answer.json())


async def test_insolvency_is_notified_and_claimed_and_a_replayed_outcome_has_one_effect(
    stack: Any, service: Any, tenant: str, api_keys: dict[str, str], receiver_factory: Any
) -> None:
    since = await stack.offsets()
    flow = Flow(stack, service, tenant, api_keys)
    secret = new_secret()
    receiver = await receiver_factory(secret)
    created = await flow.api.post(
        "/v1/insurers",
        headers=flow.auth("admin"),
        json={"name": "Demo insurer", "url": receiver.url, "secret": secret},
    )
    assert created.status_code == 201, created.text
    insurer_id = created.json()["insurer_id"]
    await flow.put_policy(insurer_id=insurer_id)
    await flow.days(date(2025, 1, 2))

    asked = await flow.api.post(
        f"/v1/buyers/{BUYER}/limit-requests",
        headers=flow.auth("write"),
        json={"policy_id": "POL-1", "amount": {"amount": "8000.00", "currency": "EUR"}},
    )
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["id"]
    (limit,) = await receiver.wait_for(1)
    assert limit.verified
    assert json.loads(limit.body)["type"] == "insurance.limit_requested"
    assert json.loads(limit.body)["data"]["request_id"] == request_id

    async def callback(body: dict[str, Any], msg_id: str, key: str) -> httpx.Response:
        """Sent as an insurer would: again after a 409 (the same message still being committed:
        the answer may reach the sender just before its transaction commits)."""
        raw = json.dumps(body).encode()
        for _ in range(50):
            answer = await flow.api.post(
                f"/v1/insurers/{insurer_id}/callbacks",
                content=raw,
                headers={**flow.auth("agency"), **signed(secret, raw, msg_id, key)},
            )
            if answer.status_code != 409:
                return answer
            await asyncio.sleep(0.1)
        return answer

    decided = await callback(
        {
            "kind": "cover_decision",
            "decision_id": "DEC-1",
            "buyer_id": BUYER,
            "request_id": request_id,
            "decision": "full",
        },
        "msg_cover_1",
        "cover-1",
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["cover"] == "8000.00"
    assert decided.json()["effective_on"] == "2025-01-02"
    forged = await callback({"kind": "claim_outcome"}, "msg_x", "x")
    assert forged.status_code == 422

    await flow.publish(
        fact(tenant, invoice("A", "6000.00", D), D - days(60)),
        fact(tenant, invoice("B", "4000.00", D + days(30)), D - days(30)),
    )
    await flow.days(D + days(1))
    insolvent = BuyerInsolvent(
        buyer_id=BUYER,
        source="insolvency_notice",
        notice_ref="court:2025-IN-77",
        insolvent_on=D + days(9),
    )
    await flow.publish(fact(tenant, insolvent, D + days(10), source="arshield/risk-monitor"))
    await flow.days(D + days(12))

    received = await receiver.wait_for(4)
    assert all(r.verified for r in received)
    kinds = [json.loads(r.body)["type"] for r in received]
    assert sorted(kinds[1:]) == [
        "insurance.claim_filed",
        "insurance.overdue_notified",
        "insurance.stop_supply_confirmed",
    ]
    notices = (await flow.api.get("/v1/notifications", headers=flow.auth("read"))).json()
    (notice,) = notices["items"]
    assert notice["ground"] == "insolvency"
    assert notice["notified_on"] == str(D + days(12))
    assert notice["deadline_on"] == str(D + days(19))
    assert notice["in_time"] is True
    claims = (await flow.api.get("/v1/claims", headers=flow.auth("read"))).json()
    (claim,) = claims["items"]
    assert claim["ground"] == "insolvency"
    assert claim["date_of_loss"] == str(D + days(9))
    assert claim["insured_outstanding"] == "8000.00"
    assert claim["claimed_indemnity"] == "7200.00"
    assert {"invoice:N-A", "invoice:N-B"} <= {e["ref"] for e in claim["evidence"]}

    outcome = {
        "kind": "claim_outcome",
        "claim_id": claim["claim_id"],
        "outcome": "paid",
        "indemnity_paid": {"amount": "7200.00", "currency": "EUR"},
    }
    first = await callback(outcome, "msg_outcome_1", "outcome-1")
    again = await callback(outcome, "msg_outcome_1", "another-key")
    same_key = await callback(outcome, "msg_outcome_2", "outcome-1")
    assert first.status_code == again.status_code == same_key.status_code == 200, first.text
    assert again.json() == same_key.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    settled = (
        await flow.api.get(f"/v1/claims/{claim['claim_id']}", headers=flow.auth("read"))
    ).json()
    assert settled["status"] == "paid"
    assert settled["indemnity_paid"] == "7200.00"

    await flow.drained()
    published = await stack.events(tenant, since)
    names = sorted(type(e.data).__name__ for e in published)
    assert names == [
        "ClaimFiled",
        "ClaimSettled",
        "CoverChanged",
        "CoverLimitRequested",
        "InsurancePolicyWritten",
        "OverdueNotifiedToInsurer",
        "StopSupplyRequired",
    ]
    await flow.api.aclose()


SNAPSHOT = {
    "states": "SELECT buyer_id, state, wake_on FROM buyer_states ORDER BY 1",
    "clock": "SELECT tenant_id, business_date FROM business_dates ORDER BY 1",
    "policies": "SELECT policy_id, version, effective_on, rules FROM insurance_policies ORDER BY 1, 2",
    "buyers": "SELECT * FROM insurance_buyers ORDER BY 1, 2",
    "cover": "SELECT * FROM insurance_cover ORDER BY 1, 2",
    "notifications": "SELECT * FROM insurance_notifications ORDER BY 1, 2",
    "claims": "SELECT * FROM insurance_claims ORDER BY 1, 2",
    "recoveries": "SELECT * FROM insurance_recoveries ORDER BY 1, 2",
    "deadlines": "SELECT * FROM insurance_deadlines ORDER BY 1, 2, 3",
}


async def test_a_rebuild_equals_live_including_after_a_policy_change(
    stack: Any, service: Any, tenant: str, api_keys: dict[str, str]
) -> None:
    flow = Flow(stack, service, tenant, api_keys)
    await flow.put_policy()
    await flow.days(D - days(70))
    await flow.discretionary_limit("15000.00")
    await flow.publish(
        fact(tenant, invoice("A", "6000.00", D), D - days(60)),
        fact(tenant, invoice("B", "4000.00", D + days(30)), D - days(30)),
    )
    await flow.days(D + days(1))
    changed = await flow.put_policy(mep_days=30)  # from the next business day
    assert changed["version"] == 2
    assert changed["effective_on"] == str(D + days(2))
    await flow.days(D + days(31))
    await flow.publish(fact(tenant, payment("P1", "500.00", D + days(40)), D + days(40)))
    await flow.days(D + days(100), D + days(181))
    await flow.publish(fact(tenant, payment("P2", "850.00", D + days(190)), D + days(190)))
    await flow.days(D + days(191))

    conn = await asyncpg.connect(service.database_url.replace("+asyncpg", ""))
    try:
        (claim,) = await conn.fetch("SELECT * FROM insurance_claims")
        stop = await conn.fetchrow("SELECT * FROM insurance_buyers")
        recoveries = await conn.fetch("SELECT * FROM insurance_recoveries ORDER BY received_on")
    finally:
        await conn.close()
    # stop-supply under version 2 (MEP 30 days); the claim at D+180 (later than MEP + 90)
    assert stop["stop_supply_on"] == D + days(31)
    assert claim["policy_version"] == "POL-1:v2"
    assert claim["date_of_loss"] == D + days(180)
    assert claim["filed_on"] == D + days(181)
    # A 6,000 - 500, B 4,000, all within the 15,000 discretionary limit, at its 60 %
    assert claim["insured_outstanding"] == 9500
    assert claim["claimed_indemnity"] == 5700
    assert [(r["method"], r["to_insurer"]) for r in recoveries] == [
        ("oldest_first", 0),
        ("pro_rata", 510),  # 850 x 5,700 / 9,500
    ]

    # the read side: what is insured, the cover as of a date as known on another, the worklist,
    # the recourse statement; keys, scopes and tenants; a bad policy named field by field
    read = flow.auth("read")
    exposure = (await flow.api.get(f"/v1/buyers/{BUYER}/exposure", headers=read)).json()
    assert exposure["outstanding"] == "8650.00"  # A 5,500 less the 850 recovered, B 4,000
    assert exposure["insured"] == "8650.00"
    assert exposure["uninsured"] == "0.00"
    assert exposure["stop_supply_on"] == str(D + days(31))
    cover = await flow.api.get(
        f"/v1/buyers/{BUYER}/cover",
        headers=read,
        params={"on": str(D - days(70)), "known_on": str(D - days(70))},
    )
    assert cover.json()["in_force"]["decision"] == "discretionary"
    unknown_then = await flow.api.get(
        f"/v1/buyers/{BUYER}/cover",
        headers=read,
        params={"on": str(D), "known_on": str(D - days(71))},
    )
    assert unknown_then.json()["in_force"] is None
    worklist = (
        await flow.api.get("/v1/deadlines", headers=read, params={"open_only": "false"})
    ).json()
    statuses = {d["kind"]: (d["due_on"], d["status"]) for d in worklist["items"]}
    assert statuses == {
        "stop_supply": (str(D + days(30)), "late"),  # MEP 30 days; the tick came on D+31
        "overdue_notification": (str(D + days(45)), "done"),
        "collection_handover": (str(D + days(60)), "missed"),
        "claim": (str(D + days(180)), "late"),
    }
    recourse = (await flow.api.get(f"/v1/claims/{claim['claim_id']}/recourse", headers=read)).json()
    assert recourse["recovered_to_insurer"] == recourse["owed_to_insurer"] == "510.00"
    assert recourse["recovered_to_insured"] == "340.00"
    assert (await flow.api.get("/v1/claims")).status_code == 401
    assert (await flow.api.put("/v1/policies/POL-1", headers=read, json=POLICY)).status_code == 403
    other = {"authorization": f"Bearer {api_keys['other']}"}
    assert (await flow.api.get(f"/v1/claims/{claim['claim_id']}", headers=other)).status_code == 404
    bad = await flow.api.put(
        "/v1/policies/POL-1",
        headers=flow.auth("admin"),
        json={**POLICY, "indemnity_percentage": "120"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "indemnity_percentage" in bad.text
    unknown = await flow.api.put(
        "/v1/policies/POL-1", headers=flow.auth("admin"), json={**POLICY, "insurer_id": "ins_no"}
    )
    assert unknown.status_code == 422
    assert "insurer_id" in unknown.text

    await rebuilt_equals_live(stack, service)
    await flow.api.aclose()


async def rebuilt_equals_live(stack: Any, service: Any) -> None:
    """Once the service read back its own events (its policies, its discretionary limit: they
    are on the topic it reads), stop it, rebuild its read models from the log, compare."""
    await stack.wait_consumed(service.group)
    live = await snapshot(service)
    service.rebuild(timeout=180)
    assert await snapshot(service) == live


async def snapshot(service: Any) -> dict[str, list[Any]]:
    conn = await asyncpg.connect(service.database_url.replace("+asyncpg", ""))
    try:
        return {name: [tuple(r) for r in await conn.fetch(q)] for name, q in SNAPSHOT.items()}
    finally:
        await conn.close()


async def test_a_partly_disputed_invoice_and_a_missed_handover_live_and_rebuilt(
    stack: Any, service: Any, tenant: str, api_keys: dict[str, str]
) -> None:
    """A 6,000 due D with 2,500 of it disputed on D+10, B 4,000 due D+30, under a discretionary
    limit of 15,000: A stays insured for 3,500 and is the oldest insured invoice (stop-supply at
    MEP expiry D+60); no case is handed to the agency by D+90, so D+91 raises DeadlineMissed."""
    since = await stack.offsets()
    flow = Flow(stack, service, tenant, api_keys)
    await flow.put_policy()
    await flow.days(D - days(70))
    await flow.discretionary_limit("15000.00")
    await flow.publish(
        fact(tenant, invoice("A", "6000.00", D), D - days(60)),
        fact(tenant, invoice("B", "4000.00", D + days(30)), D - days(30)),
        fact(
            tenant,
            DisputeRaised(
                dispute_id="DSP-1",
                invoice_id="A",
                buyer_id=BUYER,
                disputed_amount=Money.of("2500.00", "EUR"),
                reason="short delivery",
                raised_on=D + days(10),
            ),
            D + days(10),
        ),
    )
    await flow.days(D + days(1), D + days(60), D + days(91))

    read = flow.auth("read")
    exposure = (await flow.api.get(f"/v1/buyers/{BUYER}/exposure", headers=read)).json()
    assert (exposure["outstanding"], exposure["insured"], exposure["uninsured"]) == (
        "10000.00",
        "7500.00",
        "2500.00",
    )
    assert exposure["disputed"] == "2500.00"
    a, b = exposure["invoices"]
    assert (a["invoice_id"], a["insured"], a["reasons"]) == ("A", True, [])
    assert (a["disputed_amount"], a["insured_amount"], a["uninsured_amount"]) == (
        "2500.00",
        "3500.00",
        "2500.00",
    )
    assert (b["invoice_id"], b["insured_amount"], b["uninsured_amount"]) == (
        "B",
        "4000.00",
        "0.00",
    )
    published = await stack.events(tenant, since)
    (stop,) = [e.data for e in published if e.type.endswith("StopSupplyRequired.v1")]
    assert (stop.required_on, stop.oldest_unpaid_invoice_id) == (D + days(60), "A")
    (missed,) = [e.data for e in published if e.type.endswith("DeadlineMissed.v1")]
    assert (missed.deadline, missed.due_on, missed.missed_on) == (
        "collection_handover",
        D + days(90),
        D + days(91),
    )
    assert missed.invoice_ids == ("A", "B")
    assert missed.consequence == "claim_may_be_refused"
    worklist = (
        await flow.api.get("/v1/deadlines", headers=read, params={"open_only": "false"})
    ).json()
    (handover,) = [d for d in worklist["items"] if d["kind"] == "collection_handover"]
    assert (handover["due_on"], handover["status"], handover["missed_on"]) == (
        str(D + days(90)),
        "missed",
        str(D + days(91)),
    )
    assert handover["consequence"] == "claim_may_be_refused"

    await rebuilt_equals_live(stack, service)
    await flow.api.aclose()
