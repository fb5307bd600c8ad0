"""Credit-assessment live over Kafka, PostgreSQL and HTTP on a simulated history, then rebuilt
from the log into a second database, which must equal the live read models.

The history: two buyers; a credit policy version published mid-history (in force from the next
tick); risk-monitor downgrades one buyer, whose lower limit shows the same business day and
declines the next order above it; an order on Kafka is referred and a person approves it; an
invoice 31 days overdue places a hold, an order in between is declined with `credit_hold`, and
its payment releases the hold; the insurer's stop-supply places a hold a person lifts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from arshield_cli.clock import tick
from arshield_credit_assessment.bootstrap import bootstrap
from arshield_events import erp, external, insurance, ledger, risk
from arshield_events.money import Money
from arshield_runtime.db import create_engine
from arshield_runtime.service import rebuild

from .conftest import Credit, fact

pytestmark = pytest.mark.integration

D1 = date(2024, 3, 1)
D2 = D1 + timedelta(days=1)
DUE = D2 + timedelta(days=1)
EUR = "EUR"

POLICY = {
    "currency": "EUR",
    "bands": [
        {
            "from_grade": 1,
            "to_grade": 3,
            "max_terms_days": 60,
            "security": "open_account",
            "capacity_percent_of_equity": "15",
            "grade_cap": "500000",
            "uninsured_appetite": "100000",
            "review_months": 12,
        },
        {
            "from_grade": 4,
            "to_grade": 6,
            "max_terms_days": 45,
            "security": "open_account",
            "capacity_percent_of_equity": "10",
            "grade_cap": "200000",
            "uninsured_appetite": "20000",
            "review_months": 12,
        },
        {
            "from_grade": 7,
            "to_grade": 8,
            "max_terms_days": 30,
            "security": "letter_of_credit",
            "secured_above_percent": "50",
            "capacity_percent_of_equity": "5",
            "grade_cap": "50000",
            "uninsured_appetite": "10000",
            "review_months": 6,
        },
        {
            "from_grade": 9,
            "to_grade": 10,
            "max_terms_days": 0,
            "security": "prepayment",
            "capacity_percent_of_equity": "0",
            "grade_cap": "0",
            "uninsured_appetite": "0",
            "review_months": 3,
        },
    ],
    "hold_overdue_days": 30,
    "referral_tolerance_percent": "110",
    "retention_of_title_required": ["DE"],
}


def registered(buyer: str) -> erp.BuyerRegistered:
    return erp.BuyerRegistered(
        buyer_id=buyer,
        legal_name=f"{buyer} GmbH",
        country="DE",
        segment="core",
        preferred_language="de",
        registered_on=D1,
    )


async def limit_of(api: httpx.AsyncClient, s: Credit, buyer: str) -> Any:
    answer = await api.get(f"/v1/buyers/{buyer}/credit-file", headers=s.auth("read"))
    return answer.json()["file"]["limit"] if answer.status_code == 200 else None


async def check(api: httpx.AsyncClient, s: Credit, buyer: str, amount: str, order: str) -> Any:
    answer = await api.post(
        "/v1/credit-checks",
        headers=s.auth("write"),
        json={"buyer_id": buyer, "order_id": order, "amount": {"amount": amount, "currency": EUR}},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_history_live_then_rebuilt(credit_service: Credit, new_database: Any) -> None:
    s, t = credit_service, credit_service.tenant
    async with httpx.AsyncClient(base_url=s.url, timeout=10) as api:
        # day 1: two buyers; b1 has cover and financials
        await s.publish([tick(t, D1)])
        await s.publish(
            [
                fact(t, registered("b1"), D1),
                fact(t, registered("b2"), D1),
                fact(
                    t,
                    insurance.CoverChanged(
                        insurance_policy_id="pol-1",
                        buyer_id="b1",
                        change="granted",
                        decided_by="insurer",
                        cover=Money.of("100000", EUR),
                        notified_on=D1,
                        effective_on=D1,
                    ),
                    D1,
                ),
                fact(
                    t,
                    external.BuyerFinancialsReported(
                        buyer_id="b1",
                        provider_id="reg",
                        period_end_on=date(2023, 12, 31),
                        equity=Money.of("1000000", EUR),
                        reported_on=D1,
                    ),
                    D1,
                ),
            ]
        )
        await s.settled()
        # b1 (unrated: grade 5): capacity 10% x 1,000,000 = 100,000; cover 100,000 + 50,000
        assert (await limit_of(api, s, "b1"))["amount"] == "100000"
        assert (await limit_of(api, s, "b2"))["amount"] == "50000"

        # a new policy version mid-history: in force from the next tick
        bands: list[Any] = list(POLICY["bands"])  # type: ignore[call-overload]
        bad = {**POLICY, "bands": [bands[0], {**bands[1], "from_grade": 3}, *bands[2:]]}
        refused = await api.put("/v1/credit-policy", headers=s.auth("admin"), json=bad)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["loc"] for e in refused.json()["errors"]] == ["bands.1.from_grade"]
        assert (
            await api.put("/v1/credit-policy", headers=s.auth("write"), json=POLICY)
        ).status_code == 403
        put = await api.put("/v1/credit-policy", headers=s.auth("admin"), json=POLICY)
        assert put.status_code == 201, put.text
        assert put.json()["policy_version"] == "credit-v1"
        await s.settled()
        assert (await limit_of(api, s, "b2"))["policy_version"] == "credit-v0"
        await s.publish([tick(t, D2)])
        await s.settled()
        in_force = await api.get("/v1/credit-policy", headers=s.auth("read"))
        assert in_force.json()["policy_version"] == "credit-v1"
        b2 = await limit_of(api, s, "b2")
        assert (b2["amount"], b2["policy_version"]) == ("20000", "credit-v1")

        # risk-monitor downgrades b1 on day 2: its lower limit shows the same business day
        await s.publish(
            [
                fact(
                    t,
                    risk.BuyerDowngraded(
                        buyer_id="b1",
                        from_grade=5,
                        to_grade=7,
                        reasons=("payment stop",),
                        policy_version="scorecard-1",
                        downgraded_on=D2,
                    ),
                    D2,
                )
            ]
        )
        await s.settled()
        b1 = await limit_of(api, s, "b1")
        # grade 7: capacity 5% x 1,000,000 = 50,000; cover 100,000 + 10,000
        assert (b1["amount"], b1["effective_on"], b1["terms_days"]) == ("50000", D2.isoformat(), 30)
        declined = await check(api, s, "b1", "60000", "o-big")  # 60,000 > 110% of 50,000
        assert declined["decision"] == "declined"
        assert [r["code"] for r in declined["reasons"]][:1] == ["over_limit"]
        assert declined["credit_limit"] == {"amount": "50000", "currency": EUR}
        assert declined["policy_version"] == "credit-v1"
        again = await check(api, s, "b1", "60000", "o-big")
        assert again["decision_id"] == declined["decision_id"]

        # an order on Kafka is referred (grade 7), and a person approves it
        await s.publish(
            [
                fact(
                    t,
                    erp.OrderPlaced(
                        order_id="o-kafka",
                        buyer_id="b1",
                        amount=Money.of("4000", EUR),
                        placed_on=D2,
                    ),
                    D2,
                )
            ]
        )
        await s.settled()
        referred = (await api.get("/v1/referred-orders", headers=s.auth("read"))).json()["items"]
        assert [(r["order_id"], r["decision"]) for r in referred] == [("o-kafka", "referred")]
        assert referred[0]["reasons"][0]["code"] == "grade_referral"
        answer = await api.post(
            f"/v1/credit-checks/{referred[0]['decision_id']}/decision",
            headers=s.auth("write"),
            json={"decision": "approved", "reason": "letter of credit received"},
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["decided_by"] == "write-person"
        await s.settled()
        assert (await api.get("/v1/referred-orders", headers=s.auth("read"))).json()["items"] == []

        # b2: an invoice falls 31 days overdue -> hold; an order in between is declined; paid -> released
        await s.publish(
            [
                fact(
                    t,
                    erp.InvoiceIssued(
                        invoice_id="inv-1",
                        invoice_number="INV-1",
                        buyer_id="b2",
                        issued_on=D2,
                        delivered_on=D2,
                        due_on=DUE,
                        amount=Money.of("5000", EUR),
                        payment_terms_days=1,
                        contract_terms=erp.ContractTerms(
                            jurisdiction="FR", late_interest="statutory", retention_of_title=False
                        ),
                    ),
                    D2,
                )
            ]
        )
        await s.settled()
        await s.publish([tick(t, DUE + timedelta(days=n)) for n in range(31)])
        await s.settled()
        assert (await api.get("/v1/holds", headers=s.auth("read"))).json()["items"] == []
        await s.publish([tick(t, DUE + timedelta(days=31))])
        await s.settled()
        holds = (await api.get("/v1/holds", headers=s.auth("read"))).json()["items"]
        assert [(h["buyer_id"], h["cause"], h["invoice_ids"]) for h in holds] == [
            ("b2", "overdue", ["inv-1"])
        ]
        held = await check(api, s, "b2", "1000", "o-held")
        assert held["decision"] == "declined"
        assert [r["code"] for r in held["reasons"]] == ["credit_hold"]
        paid_on = DUE + timedelta(days=32)
        await s.publish(
            [
                fact(
                    t,
                    ledger.InvoiceBalanceChanged(
                        invoice_id="inv-1",
                        buyer_id="b2",
                        outstanding=Money.of("0", EUR),
                        status="paid",
                        changed_on=paid_on,
                    ),
                    paid_on,
                ),
                fact(
                    t,
                    ledger.InvoiceSettled(
                        invoice_id="inv-1",
                        buyer_id="b2",
                        settled_on=paid_on,
                        days_late=32,
                        amount=Money.of("5000", EUR),
                    ),
                    paid_on,
                ),
            ]
        )
        await s.settled()
        assert (await api.get("/v1/holds", headers=s.auth("read"))).json()["items"] == []
        approved = await check(api, s, "b2", "1000", "o-after")
        assert approved["decision"] == "approved", approved
        file = (await api.get("/v1/buyers/b2/credit-file", headers=s.auth("read"))).json()
        assert file["file"]["noncompliant_invoices"] == [
            {"invoice_id": "inv-1", "rules": ["retention_of_title", "competent_court"]}
        ]
        assert file["file"]["payment_performance"]["paid_late"] == 1
        before_paid = await api.get(
            "/v1/buyers/b2/exposure",
            params={"as_of": (DUE + timedelta(days=30)).isoformat()},
            headers=s.auth("read"),
        )
        assert [(x["currency"], x["total"]) for x in before_paid.json()["exposure"]] == [
            ("EUR", "5000")
        ]
        now = (await api.get("/v1/buyers/b2/exposure", headers=s.auth("read"))).json()
        assert [(x["currency"], x["total"]) for x in now["exposure"]] == [("EUR", "0")]
        assert [h["policy_version"] for h in file["limit_history"]] == ["credit-v1", "credit-v0"]

        # the insurer's stop-supply: a hold only a person lifts
        await s.publish(
            [
                fact(
                    t,
                    insurance.StopSupplyRequired(
                        insurance_policy_id="pol-1",
                        buyer_id="b1",
                        reason="maximum_extension_period_expired",
                        policy_version="ins-1",
                        required_on=paid_on,
                    ),
                    paid_on,
                )
            ]
        )
        await s.settled()
        (stop,) = (await api.get("/v1/holds", headers=s.auth("read"))).json()["items"]
        assert stop["lifted_by_a_person_only"]
        lifted = await api.post(
            f"/v1/buyers/b1/holds/{stop['hold_id']}/release",
            headers=s.auth("write"),
            json={"reason": "insurer confirmed supplies may resume"},
        )
        assert lifted.status_code == 202, lifted.text
        await s.settled()
        assert (await api.get("/v1/holds", headers=s.auth("read"))).json()["items"] == []

        review = await api.post(
            "/v1/contract-reviews",
            headers=s.auth("write"),
            json={
                "buyer_id": "b1",
                "subject": "o-fr",
                "amount": "1000",
                "payment_terms_days": 90,
                "contract_terms": {
                    "jurisdiction": "FR",
                    "retention_of_title": True,
                    "court": "Tribunal de commerce de Paris",
                },
            },
        )
        assert review.status_code == 201, review.text
        assert [f["rule"] for f in review.json()["findings"]] == ["payment_terms_limit"]
        portfolio = (await api.get("/v1/portfolio/exposure", headers=s.auth("read"))).json()
        assert portfolio["currencies"][0]["buyers"] == 2
        await s.settled()

    live = await read_models(s.engine, t)
    assert live["credit_decisions"]
    assert live["credit_holds"]
    assert live["contract_reviews"]
    second = await new_database()
    settings = s.settings.model_copy(update={"database_url": second})
    await rebuild(bootstrap(settings))
    engine = create_engine(second, pool_size=1)
    try:
        rebuilt = await read_models(engine, t)
    finally:
        await engine.dispose()
    for table in live:
        assert rebuilt[table] == live[table], table


_ORDER = {
    "buyer_states": "buyer_id",
    "business_dates": "tenant_id",
    "credit_files": "buyer_id",
    "credit_holds": "buyer_id, hold_id",
    "credit_decisions": "decision_id",
    "limit_history": "buyer_id, seq",
    "contract_reviews": "review_id",
    "exposure_history": 'buyer_id, currency, "on"',
    "configurations": "kind, version",
}


async def read_models(engine: Any, tenant: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    async with engine.connect() as connection:
        for table, order in _ORDER.items():
            rows = await connection.execute(
                sa.text(
                    f"SELECT (to_jsonb(t) - 'position')::text AS row FROM {table} t"
                    f" WHERE tenant_id = :t ORDER BY {order}"
                ),
                {"t": tenant},
            )
            out[table] = [row.row for row in rows]
    return out
