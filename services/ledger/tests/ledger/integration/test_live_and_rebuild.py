"""The running service over Kafka and PostgreSQL: events, refusals, duplicates, the read API, and a
rebuild from the log that must equal the live read models exactly."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from arshield_events import topics
from arshield_ledger.bootstrap import bootstrap
from arshield_ledger.entrypoints.api import router
from arshield_ledger.settings import LedgerSettings
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, inbox, migrate
from arshield_runtime.http import create_app
from arshield_runtime.service import rebuild, run_service

from . import scenario
from .harness import produce, read_models, topic_headers

pytestmark = pytest.mark.integration


async def inbox_count(engine: Any) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(sa.select(sa.func.count()).select_from(inbox)) or 0)


async def wait_for(engine: Any, count: int, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while await inbox_count(engine) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {await inbox_count(engine)} of {count} events consumed")
        await asyncio.sleep(0.05)


async def test_live_service_api_and_rebuild(
    kafka_bootstrap: str, fresh_database: str, new_database: Any, fresh_topics: Any
) -> None:
    erp_topic, clock_topic = await fresh_topics(topics.ERP, topics.CLOCK, partitions=3)
    settings = LedgerSettings(
        database_url=fresh_database,
        kafka_bootstrap=kafka_bootstrap,
        topics=[erp_topic, clock_topic],
        consumer_group=f"ledger-test-{uuid.uuid4().hex[:8]}",
        http_port=random.randint(20000, 40000),
        environment="test",
    )
    await migrate(bootstrap(settings).migrations, fresh_database)
    service = asyncio.create_task(run_service(bootstrap(settings)))
    engine = create_engine(fresh_database)
    try:
        s = scenario.build()
        expected = 0
        for phase in scenario.phases(s, erp_topic, clock_topic):
            await produce(kafka_bootstrap, phase)
            expected += len({e.id for _, e in phase})
            await wait_for(engine, expected)
        letters = await topic_headers(kafka_bootstrap, f"{erp_topic}.dlq", len(s.bad))
        assert sorted(h["ce_id"] for h in letters) == sorted(s.bad)
        reasons = " | ".join(h["dlq_error"] for h in letters)
        assert "payment bad-ccy in GBP names invoice i1 in EUR" in reasons
        assert "exceeds the 250.00 EUR still creditable" in reasons
        assert "invoice i1 was already issued with different content" in reasons
        await check_api(engine, settings)
    finally:
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service
    live = await read_models(engine)
    await engine.dispose()

    second_database = await new_database()
    replayed = await rebuild(
        bootstrap(settings.model_copy(update={"database_url": second_database}))
    )
    assert replayed >= expected
    rebuilt_engine = create_engine(second_database)
    try:
        rebuilt = await read_models(rebuilt_engine)
    finally:
        await rebuilt_engine.dispose()
    assert {t: len(rows) for t, rows in rebuilt.items()} == {
        t: len(rows) for t, rows in live.items()
    }
    assert rebuilt == live


async def check_api(engine: Any, settings: LedgerSettings) -> None:
    app = create_app(settings, engine, routers=[router])
    app.state.reference_rates = bootstrap(settings).state["reference_rates"]

    async def key(tenant: str, scope: str) -> dict[str, str]:
        secret = await create_api_key(engine, tenant_id=tenant, name="test", scopes=[scope])
        return {"Authorization": f"Bearer {secret}"}

    acme, globex, writer = (
        await key("acme", "read"),
        await key("globex", "read"),
        await key("acme", "write"),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/v1/invoices/i1")).status_code == 401
        assert (await c.get("/v1/invoices/i1", headers=writer)).status_code == 403

        # i1 (DE): 1000 due 2025-02-01, a Saturday, moved to 02-03 (BGB § 193); 400 paid 02-10
        # (named). BGB § 367, decided when it was applied: the 400 settles the 40 EUR and
        # 1000 x 11.27 % x 7/365 = 2.16 of interest first, then 357.84 of principal (642.16
        # left). p2's 700 on 03-20 (oldest due first) pays off those 642.16: the buyer's
        # designation of the principal, all principal; paid, 47 days late.
        body = (await c.get("/v1/invoices/i1", headers=acme)).json()
        assert (body["status"], body["outstanding"]["amount"], body["days_late"]) == (
            "paid",
            "0",
            47,
        )
        kinds = [h["kind"] for h in body["history"]]
        assert kinds[0] == "issued"
        assert kinds.count("payment") == 2
        assert kinds.count("interest_settled") == kinds.count("costs_settled") == 1
        assert "overdue" in kinds
        split = (await c.get("/v1/invoices/i1/interest", headers=acme)).json()
        assert (split["compensation_paid"]["amount"], split["interest_paid"]["amount"]) == (
            "40",
            "2.16",
        )
        assert split["principal_outstanding"]["amount"] == "0"
        # still owed: 2.1614 + 642.16 x 11.27 % x 38/365 (02-11..03-20: 7.5345) = 9.70 - 2.16
        assert split["interest_owed"]["amount"] == "7.54"
        past = (await c.get("/v1/invoices/i1", params={"as_of": "2025-02-15"}, headers=acme)).json()
        assert (past["status"], past["outstanding"]["amount"]) == ("overdue", "642.16")
        before = await c.get("/v1/invoices/i1", params={"as_of": "2025-01-01"}, headers=acme)
        assert before.status_code == 404
        # Another tenant's invoice with the same id is its own; another tenant's buyer is 404.
        other = (await c.get("/v1/invoices/i1", headers=globex)).json()
        assert other["amount"] == {"amount": "70", "currency": "EUR"}
        assert (await c.get("/v1/buyers/b1/balance", headers=globex)).status_code == 404

        # b1 on 2025-02-15: i1 642.16 (14 days late), i2 instalment 1 200 (10 days), disputed i2.
        ageing = (
            await c.get("/v1/buyers/b1/ageing", params={"as_of": "2025-02-15"}, headers=acme)
        ).json()
        [eur] = ageing["ageing"]
        assert eur["buckets"]["1-30"]["amount"] == "842.16"
        assert eur["buckets"]["current"]["amount"] == "600"
        assert eur["disputed"]["amount"] == "800"

        balance = (
            await c.get("/v1/buyers/b2/balance", params={"as_of": "2025-03-10"}, headers=acme)
        ).json()
        [gbp] = balance["balances"]
        assert (gbp["outstanding"]["amount"], gbp["unapplied_cash"]["amount"]) == ("0", "200")
        assert gbp["net_balance"]["amount"] == "-200"
        g2 = (await c.get("/v1/invoices/g2", headers=acme)).json()
        assert (g2["outstanding"]["amount"], g2["status"]) == ("300", "overdue")

        statement = (
            await c.get(
                "/v1/buyers/b1/statement",
                params={"from": "2025-02-01", "to": "2025-02-28"},
                headers=acme,
            )
        ).json()
        [st] = statement["statements"]
        assert st["opening_balance"]["amount"] == "1800"  # 1000 + 900 - 100 + 250 - 250
        # p1's 400: 40 costs and 2.16 interest charged and settled, 357.84 of principal
        assert st["closing_balance"]["amount"] == "1442.16"
        assert [line["kind"] for line in st["lines"]] == [
            "costs_charged",
            "costs_settled",
            "interest_charged",
            "interest_settled",
            "payment",
        ]

        # b3 never paid: 2450 sits in 90+ at the end of May (its 10 on 02-20 went to the 40 EUR
        # costs, BGB § 367). p2 skipped i2 while it was disputed; its 57.84 (700 - 642.16) stayed
        # on account until the dispute was rejected (03-25), then went to i2 as of 03-20: 40 EUR,
        # interest 200 x 11.27 % x 43/365 (2.6554) + 300 x 11.27 % x 15/365 (1.3894) = 4.04,
        # 13.80 of principal to the first instalment (200, due 02-05), leaving 186.20 in 90+
        # (2450 + 186.20 = 2636.20); the second is 61-90, the third 31-60.
        portfolio = (
            await c.get("/v1/portfolio/ageing", params={"as_of": "2025-05-31"}, headers=acme)
        ).json()
        by_currency = {p["ageing"]["currency"]: p for p in portfolio["currencies"]}
        eur_buckets = by_currency["EUR"]["ageing"]["buckets"]
        assert {b: eur_buckets[b]["amount"] for b in ("90+", "61-90", "31-60")} == {
            "90+": "2636.2",
            "61-90": "300",
            "31-60": "300",
        }
        assert by_currency["EUR"]["largest_overdue_buyers"][0] == {
            "buyer_id": "b3",
            "overdue": {"amount": "2450", "currency": "EUR"},
        }

        metrics = (
            await c.get(
                "/v1/metrics/dso", params={"from": "2025-01-01", "to": "2025-03-31"}, headers=acme
            )
        ).json()
        eur_m = {m["currency"]: m for m in metrics["metrics"]}["EUR"]
        # Net credit sales (DOMAIN.md): 1000 + 900 + 250 + 2500 issued less credit notes c1 100
        # and c3 50 = 4500 over 90 days; at 03-31, principal owed (BGB § 367, above): b3 2450
        # and i2 786.20 (800 less the 13.80 of principal of p2's 57.84, applied when its dispute
        # was rejected), of which i2's third instalment (300, due 04-05) is current.
        assert eur_m["credit_sales"]["amount"] == "4500"
        assert eur_m["closing_receivables"]["amount"] == "3236.2"
        assert eur_m["dso"] == "64.72"  # 3236.20 / 4500 * 90 = 64.724
        assert eur_m["best_possible_dso"] == "6.00"  # 300 / 4500 * 90
        assert eur_m["average_days_delinquent"] == "58.72"  # 64.72 - 6.00
        # (0 + 4500 - 3236.20) / (0 + 4500 - 300) * 100 = 1263.80 / 42 = 30.090
        assert eur_m["cei_percent"] == "30.09"

        interest = (
            await c.get("/v1/invoices/k1/interest", params={"as_of": "2025-02-19"}, headers=acme)
        ).json()
        # DE: 2450 unpaid 30 days (2025-01-21..02-19) at 2.27 + 9 = 11.27 %:
        # 2450*11.27*30/36500 = 22.69
        assert interest["interest"] == {"amount": "22.69", "currency": "EUR"}
        assert interest["compensation"] == {"amount": "40", "currency": "EUR"}
        assumed = (await c.get("/v1/invoices/g2/interest", headers=acme)).json()
        assert (assumed["jurisdiction"], assumed["jurisdiction_assumed"]) == ("UK", True)
        # g1 (UK, 5000 GBP due 01-31) paid in full on 03-02, 30 days late: the UK Act orders
        # nothing, all principal; the claim stays owed in May. Bank Rate on 2024-12-31 4.75 % + 8
        # = 12.75 %: 5000 x 12.75 % x 30/365 = 52.40; 70 GBP for a debt of 1,000 to 9,999.99 GBP
        # (Late Payment Act s.5A).
        paid_late = (
            await c.get("/v1/invoices/g1/interest", params={"as_of": "2025-05-31"}, headers=acme)
        ).json()
        assert paid_late["principal_outstanding"] == {"amount": "0", "currency": "GBP"}
        assert paid_late["interest_owed"] == {"amount": "52.4", "currency": "GBP"}
        assert paid_late["compensation_owed"] == {"amount": "70", "currency": "GBP"}

        anomalies = (await c.get("/v1/anomalies", params={"limit": 2}, headers=acme)).json()
        assert len(anomalies["items"]) == 2
        assert anomalies["next_cursor"]
        rest = (
            await c.get(
                "/v1/anomalies",
                params={"limit": 100, "cursor": anomalies["next_cursor"]},
                headers=acme,
            )
        ).json()
        anomaly_kinds = {a["kind"] for a in anomalies["items"] + rest["items"]}
        assert {"payment_before_invoice", "fact_before_invoice", "unapplied_cash"} <= anomaly_kinds
        globex_kinds = {
            a["kind"]
            for a in (await c.get("/v1/anomalies", params={"limit": 100}, headers=globex)).json()[
                "items"
            ]
        }
        assert {"unapplied_cash", "cancelled_after_payment"} <= globex_kinds

        # b4: 250 arrived 02-20 while e1 (200, due 03-01) was disputed; the dispute was rejected
        # on 03-10 and the cash settled e1 as of 02-20: paid, 0 days late, never announced
        # overdue. The other 50 went to e2 (80) on 04-01, p5 paid its 30, and its cancellation
        # on 04-20 gave the 80 back: 80 on account.
        e1 = (await c.get("/v1/invoices/e1", headers=globex)).json()
        assert (e1["status"], e1["settled_on"], e1["days_late"]) == ("paid", "2025-02-20", 0)
        assert "overdue" not in [h["kind"] for h in e1["history"]]
        held = (
            await c.get("/v1/buyers/b4/balance", params={"as_of": "2025-03-10"}, headers=globex)
        ).json()["balances"]
        assert [(b["outstanding"]["amount"], b["unapplied_cash"]["amount"]) for b in held] == [
            ("0", "50")
        ]
        end = (await c.get("/v1/buyers/b4/balance", headers=globex)).json()["balances"]
        assert [(b["outstanding"]["amount"], b["unapplied_cash"]["amount"]) for b in end] == [
            ("0", "80")
        ]
        # b5: e3 (1000, DE, due 02-14) corrected by 400 (dispute upheld with cn5 on 03-01):
        # interest as of 03-16 (30 days) on 600 from the due date: 600*11.27*30/36500 = 5.56.
        corrected = (
            await c.get("/v1/invoices/e3/interest", params={"as_of": "2025-03-16"}, headers=globex)
        ).json()
        assert corrected["interest"] == {"amount": "5.56", "currency": "EUR"}

        page = (
            await c.get("/v1/invoices", params={"buyer_id": "b1", "limit": 2}, headers=acme)
        ).json()
        assert [i["invoice_id"] for i in page["items"]] == ["i1", "i2"]
        page2 = (
            await c.get(
                "/v1/invoices",
                params={"buyer_id": "b1", "cursor": page["next_cursor"]},
                headers=acme,
            )
        ).json()
        assert [i["invoice_id"] for i in page2["items"]] == ["i3", "i4"]
        cancelled = (
            await c.get("/v1/invoices", params={"status": "cancelled"}, headers=acme)
        ).json()
        assert [i["invoice_id"] for i in cancelled["items"]] == ["i4"]
        then = (
            await c.get(
                "/v1/invoices", params={"status": "overdue", "as_of": "2025-02-15"}, headers=acme
            )
        ).json()
        assert [i["invoice_id"] for i in then["items"]] == ["g1", "i1", "k1"]
