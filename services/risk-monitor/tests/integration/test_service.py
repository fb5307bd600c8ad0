"""risk-monitor end to end on the real Kafka and PostgreSQL: facts and ticks in, scores, grade
changes, alerts and insolvency out on `arshield.risk`, the HTTP API over the read models, bad input
dead-lettered, and a rebuild from the log equal to the live state across a scorecard change.

Figures on the test scorecard (tests/fixtures/scorecards/test-1): base 600, PD = 1 / (1 +
e^(4.6 + 0.02 (score - 600))); see the unit tests for each one worked out."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from arshield_events import topics
from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import BuyerRegistered, InvoiceIssued, PaymentReceived
from arshield_events.external import (
    BuyerFinancialsReported,
    BuyerRatingPublished,
    InsolvencyNoticePublished,
)
from arshield_events.ledger import InvoiceSettled
from arshield_events.money import Money
from arshield_events.risk import ScorecardActivated
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine

pytestmark = pytest.mark.integration

D0 = date(2026, 3, 2)


def on(n: int) -> date:
    return D0 + timedelta(days=n)


def fact(tenant: str, data: Payload, source: str = "erp/test") -> CloudEvent[Any]:
    return envelope(
        data,
        id=str(uuid.uuid4()),
        source=source,
        subject=tenant if data.tenant_keyed else str(getattr(data, "buyer_id", "")),
        tenantid=tenant,
        time=datetime.now(UTC),
    )


def registered(buyer: str) -> BuyerRegistered:
    return BuyerRegistered(
        buyer_id=buyer,
        legal_name=f"{buyer} GmbH",
        country="DE",
        segment="standard",
        preferred_language="de",
        registered_on=D0,
    )


def invoice(ident: str, buyer: str, due: date, amount: str = "1000.00") -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=ident,
        invoice_number=ident,
        buyer_id=buyer,
        issued_on=due - timedelta(days=30),
        due_on=due,
        amount=Money.of(amount, "EUR"),
        payment_terms_days=30,
    )


def kinds(events: list[CloudEvent[Any]], buyer: str | None = None) -> list[str]:
    return [e.type.split(".")[2] for e in events if buyer is None or e.data.buyer_id == buyer]


async def test_a_deteriorating_buyer_is_downgraded_and_alerted_and_the_api_shows_why(
    stack: Any, risk: Any, tenant: str, api_keys: dict[str, str]
) -> None:
    since = await stack.offsets()
    days = {
        D0: [fact(tenant, registered("B1")), fact(tenant, invoice("I1", "B1", on(10)))],
        on(10): [],
        on(11): [],
        on(20): [],
        on(40): [],
    }
    await stack.run_days(risk, tenant, days)
    published = await stack.wait_published(tenant, since, 9)
    scored = [
        (e.data.scored_on, e.data.score, e.data.grade)
        for e in published
        if kinds([e]) == ["BuyerScored"]
    ]
    # the registration and invoice of D0 are decided at the next business day (D0 + 10)
    assert scored == [
        (on(10), 640, 4),
        (on(11), 600, 5),
        (on(20), 560, 7),
        (on(40), 440, 9),
    ]
    downgrades = [
        (e.data.from_grade, e.data.to_grade) for e in published if kinds([e]) == ["BuyerDowngraded"]
    ]
    assert downgrades == [(4, 5), (5, 7), (7, 9)]
    alerts = [
        (e.data.level, e.data.raised_on) for e in published if kinds([e]) == ["RiskAlertRaised"]
    ]
    assert alerts == [("watch", on(11)), ("critical", on(40))]
    assert len({e.id for e in published}) == len(published) == 9

    read = {"authorization": f"Bearer {api_keys['read']}"}
    async with httpx.AsyncClient(base_url=risk.url, headers=read) as api:
        profile = (await api.get("/v1/buyers/B1/risk")).json()
        assert (profile["grade"], profile["score"], profile["level"]) == (9, 440, "critical")
        assert profile["pd"] == pytest.approx(0.197816, abs=1e-6)
        assert {f["signal"]: f["points"] for f in profile["factors"]}["dbt_90d"] == -100
        assert [h["grade"] for h in profile["history"]] == [9, 7, 5, 4]
        assert profile["history"][0]["signals"]["days_since_payment"] == 30.0
        assert [a["level"] for a in profile["alerts"]] == ["critical", "watch"]

        grades = (await api.get("/v1/portfolio/grades")).json()
        assert grades == {"total": 1, "grades": [{"grade": 9, "buyers": 1}]}

        first = (await api.get("/v1/alerts", params={"limit": 1})).json()
        assert [a["level"] for a in first["items"]] == ["critical"]
        second = (
            await api.get("/v1/alerts", params={"limit": 1, "cursor": first["next_cursor"]})
        ).json()
        assert [a["level"] for a in second["items"]] == ["watch"]
        assert second["next_cursor"] is None
        assert (await api.get("/v1/alerts", params={"cursor": "junk"})).status_code == 400
        assert (await api.get("/v1/alerts", params={"level": "panic"})).status_code == 422
        watch = (await api.get("/v1/alerts", params={"level": "watch"})).json()
        assert [a["raised_on"] for a in watch["items"]] == [on(11).isoformat()]
        window = (
            await api.get(
                "/v1/alerts", params={"from": on(30).isoformat(), "to": on(40).isoformat()}
            )
        ).json()
        assert [a["level"] for a in window["items"]] == ["critical"]

        migration = (
            await api.get(
                "/v1/grade-migrations",
                params={"from": on(10).isoformat(), "to": on(40).isoformat()},
            )
        ).json()
        assert migration["cells"] == [{"from_grade": 4, "to_grade": 9, "buyers": 1}]
        assert (
            await api.get(
                "/v1/grade-migrations", params={"from": on(2).isoformat(), "to": on(1).isoformat()}
            )
        ).status_code == 422

        other = await api.get(
            "/v1/buyers/B1/risk", headers={"authorization": f"Bearer {api_keys['other']}"}
        )
        assert other.status_code == 404
        assert (await api.get("/v1/alerts", headers={"authorization": ""})).status_code == 401


async def test_an_insolvency_notice_gives_buyer_insolvent_and_a_critical_alert_the_same_day(
    stack: Any, risk: Any, tenant: str
) -> None:
    since = await stack.offsets()
    dlq_since = await stack.offsets(f"{stack.topic_map[topics.EXTERNAL]}.dlq")
    notice = InsolvencyNoticePublished(
        buyer_id="B2",
        provider_id="court-register",
        proceeding="proceedings_opened",
        notice_ref="IN-7/26",
        published_on=on(5),
    )
    await stack.run_days(
        risk,
        tenant,
        {
            D0: [
                fact(tenant, registered("B2")),
                # about a buyer not yet registered: kept until it is
                fact(
                    tenant,
                    BuyerRatingPublished(
                        buyer_id="B4", provider_id="agency", grade=2, published_on=D0
                    ),
                ),
            ],
            on(5): [
                fact(tenant, registered("B4")),
                fact(tenant, notice),
                # dated after the business date: dead-lettered
                fact(tenant, notice.model_copy(update={"buyer_id": "B3", "published_on": on(6)})),
                # impossible financials: dead-lettered
                fact(
                    tenant,
                    BuyerFinancialsReported(
                        buyer_id="B2",
                        provider_id="registry",
                        period_end_on=on(1),
                        total_assets=Money.of("-10.00", "EUR"),
                        reported_on=on(5),
                    ),
                ),
            ],
            on(6): [],
        },
    )
    published = await stack.wait_published(tenant, since, 6)
    # facts are decided at the next business day; the insolvency notice on arrival
    b4 = [e.data for e in published if e.data.buyer_id == "B4"]
    # the rating waited for the registration: external grade 2 (+20), nothing past due (+10)
    assert [(e.score, e.grade) for e in b4] == [(630, 5)]
    assert {f.signal: f.value for f in b4[0].factors}["external_grade"] == 2
    published = [e for e in published if e.data.buyer_id == "B2"]
    assert kinds(published) == [
        "BuyerScored",
        "BuyerInsolvent",
        "RiskAlertRaised",
        "BuyerScored",
        "BuyerDowngraded",
    ]
    insolvent, alert = published[1].data, published[2].data
    assert (insolvent.insolvent_on, insolvent.notice_ref) == (on(5), "IN-7/26")
    assert (alert.level, alert.signal, alert.raised_on) == ("critical", "insolvency_notice", on(5))
    assert (published[3].data.grade, published[3].data.scored_on) == (10, on(6))

    dead = await stack.records(tenant, dlq_since)
    errors = sorted(record.headers["dlq_error"] for record in dead)
    assert errors == [
        "rejected: financials with negative total assets (-10.00)",
        f"rejected: insolvency notice published on {on(6)}, after the tenant's business date {on(5)}",
    ]


async def test_a_rebuild_equals_live_across_a_scorecard_change_mid_history(
    stack: Any, risk: Any, tenant: str
) -> None:
    activation = fact(
        tenant,
        ScorecardActivated(
            scorecard_version="test-2",
            effective_on=on(15),
            activated_by="risk officer",
            activated_on=on(12),
        ),
        source="arshield/risk-monitor",
    )
    days: dict[date, list[CloudEvent[Any]]] = {
        D0: [
            fact(tenant, registered("B1")),
            fact(tenant, registered("B2")),
            fact(tenant, invoice("I1", "B1", on(10), "2000.00")),
            fact(tenant, invoice("I2", "B2", on(8), "500.00")),
            fact(
                tenant,
                BuyerRatingPublished(buyer_id="B2", provider_id="a", grade=3, published_on=D0),
            ),
        ],
        on(8): [
            fact(
                tenant,
                PaymentReceived(
                    payment_id="P1",
                    buyer_id="B2",
                    amount=Money.of("500.00", "EUR"),
                    received_on=on(8),
                ),
            ),
            fact(
                tenant,
                InvoiceSettled(
                    invoice_id="I2",
                    buyer_id="B2",
                    settled_on=on(8),
                    days_late=0,
                    amount=Money.of("500.00", "EUR"),
                ),
            ),
        ],
        on(12): [activation],
        on(14): [],
        on(15): [],
        on(25): [
            fact(
                tenant,
                BuyerFinancialsReported(
                    buyer_id="B1",
                    provider_id="registry",
                    period_end_on=on(1),
                    equity=Money.of("-50.00", "EUR"),
                    total_assets=Money.of("1000.00", "EUR"),
                    reported_on=on(25),
                ),
            )
        ],
        on(30): [],
    }
    await stack.run_days(risk, tenant, days)

    queries = {
        "states": "SELECT tenant_id, buyer_id, state, wake_on FROM buyer_states ORDER BY 1, 2",
        "dates": "SELECT * FROM business_dates ORDER BY 1",
        "buyers": "SELECT * FROM risk_buyers ORDER BY 1, 2",
        "history": "SELECT * FROM risk_score_history ORDER BY 1, 2, 3",
        "alerts": "SELECT * FROM risk_alerts ORDER BY 1",
        "migrations": "SELECT * FROM risk_grade_changes ORDER BY 1, 2, 3",
        # the position is an identity: its order is what counts, not its numbers
        "configured": "SELECT tenant_id, kind, event_id, version, effective_on, body::text"
        " FROM configurations ORDER BY position",
    }

    async def snapshot() -> dict[str, list[Any]]:
        conn = await asyncpg.connect(risk.database_url.replace("+asyncpg", ""))
        try:
            return {name: [tuple(r) for r in await conn.fetch(q)] for name, q in queries.items()}
        finally:
            await conn.close()

    live = await snapshot()
    versions = {(row[1], row[2]): row[6] for row in live["history"]}
    # scores before the effective date under test-1, from it under test-2 (base 650)
    assert all((v == "test-2") == (day >= on(15)) for (_, day), v in versions.items())
    assert versions[min(k for k in versions if k[0] == "B1")] == "test-1"
    assert versions[("B1", on(15))] == "test-2"  # 4 days late: 650 + 0 + 0 = 650, grade 4
    assert versions[("B2", on(15))] == "test-2"  # nothing due: woken for the new version
    assert {row[1]: row[5] for row in live["buyers"]} == {"B1": "test-2", "B2": "test-2"}
    assert [row[1:4:2] for row in live["configured"]] == [("scorecard", "test-2")]
    assert live["alerts"]

    risk.rebuild()
    assert await snapshot() == live


async def test_an_admin_puts_a_scorecard_version_in_force_as_an_event(
    stack: Any, risk: Any, tenant: str, api_keys: dict[str, str]
) -> None:
    await stack.run_days(risk, tenant, {D0: []})
    since = await stack.offsets()
    admin = {"authorization": f"Bearer {api_keys['admin']}"}
    async with httpx.AsyncClient(base_url=risk.url, headers=admin) as api:
        unknown = await api.put("/v1/scorecard", json={"scorecard_version": "test-9"})
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["loc"] == "body.scorecard_version"
        past = await api.put(
            "/v1/scorecard", json={"scorecard_version": "test-2", "effective_on": D0.isoformat()}
        )
        assert past.status_code == 422
        far = await api.put(
            "/v1/scorecard", json={"scorecard_version": "test-2", "effective_on": "9999-01-01"}
        )
        assert far.status_code == 422
        reader = await api.put(
            "/v1/scorecard",
            json={"scorecard_version": "test-2"},
            headers={"authorization": f"Bearer {api_keys['read']}"},
        )
        assert reader.status_code == 403
        accepted = await api.put("/v1/scorecard", json={"scorecard_version": "test-2"})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["effective_on"] == on(1).isoformat()
        read = {"authorization": f"Bearer {api_keys['read']}"}
        current = (await api.get("/v1/scorecard", headers=read)).json()
        assert current["in_force"] == "test-1"
        # the shipped, fitted scorecard and the tests' two fixtures
        assert current["known_versions"] == [
            "2026.12-1",
            "2026.12-2",
            "2026.12-3",
            "test-1",
            "test-2",
        ]
    published = await stack.wait_published(tenant, since, 1)
    assert kinds(published) == ["ScorecardActivated"]
    assert published[0].data.effective_on == on(1)
    assert published[0].subject == tenant


async def test_a_version_put_in_force_over_http_scores_from_its_effective_day(
    stack: Any, risk: Any, tenant: str
) -> None:
    """The whole loop: the PUT writes the activation to the outbox, the relay publishes it to the
    risk topic, the service reads it back there, and the business day it names is scored under
    the new version."""
    engine = create_engine(risk.database_url, pool_size=1)
    try:
        admin = await create_api_key(engine, tenant_id=tenant, name="a", scopes=["admin"])
        read = await create_api_key(engine, tenant_id=tenant, name="r", scopes=["read"])
    finally:
        await engine.dispose()
    await stack.run_days(risk, tenant, {D0: [fact(tenant, registered("B1"))]})
    since = await stack.offsets()
    async with httpx.AsyncClient(base_url=risk.url) as api:
        accepted = await api.put(
            "/v1/scorecard",
            json={"scorecard_version": "test-2"},
            headers={"authorization": f"Bearer {admin}"},
        )
        assert accepted.status_code == 202, accepted.text
        assert kinds(await stack.wait_published(tenant, since, 1)) == ["ScorecardActivated"]
        await stack.wait_consumed(risk.group)
        await stack.run_days(risk, tenant, {on(1): []})
        headers = {"authorization": f"Bearer {read}"}
        current = (await api.get("/v1/scorecard", headers=headers)).json()
        assert current["in_force"] == "test-2"
        assert [a["scorecard_version"] for a in current["activations"]] == ["test-2"]
        profile = (await api.get("/v1/buyers/B1/risk", headers=headers)).json()
        # test-2: base 650, nothing past due +10 -> 660, PD 0.3014 %, grade 4
        assert (profile["scorecard_version"], profile["score"], profile["grade"]) == (
            "test-2",
            660,
            4,
        )
