"""The backtest report over HTTP on the real Kafka and PostgreSQL: a small history whose figures
are worked out by hand from the dates of its alerts, scores and insolvencies (the test scorecard
tests/fixtures/scorecards/test-1, default alert rules: no persistence)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from arshield_events.external import BuyerRatingPublished, InsolvencyNoticePublished

from .test_service import D0, fact, invoice, on, registered

pytestmark = pytest.mark.integration


def notice(buyer: str, day: int) -> InsolvencyNoticePublished:
    return InsolvencyNoticePublished(
        buyer_id=buyer,
        provider_id="court-register",
        proceeding="proceedings_opened",
        notice_ref=f"IN-{buyer}",
        published_on=on(day),
    )


async def test_the_backtest_report_judges_the_published_history(
    stack: Any, risk: Any, tenant: str, api_keys: dict[str, str]
) -> None:
    rating = BuyerRatingPublished(buyer_id="B2", provider_id="agency", grade=8, published_on=D0)
    days: dict[Any, list[Any]] = {
        # B1 never pays its invoice (watch on day 11, critical at grade 9 on day 40, insolvent
        # on day 102: already critical, not alerted again); B2 is rated 8 (a warning from day 10) and never defaults; B3 pays nothing,
        # owes nothing and goes insolvent on day 102 unwarned
        D0: [
            fact(tenant, registered("B1")),
            fact(tenant, registered("B2")),
            fact(tenant, registered("B3")),
            fact(tenant, invoice("I1", "B1", on(10))),
            fact(tenant, rating, source="external/test"),
        ],
        on(10): [],
        on(11): [],
        on(20): [],
        on(40): [],
        on(102): [
            fact(tenant, notice("B1", 102), source="external/test"),
            fact(tenant, notice("B3", 102), source="external/test"),
        ],
        on(103): [],
    }
    await stack.run_days(risk, tenant, days)

    read = {"authorization": f"Bearer {api_keys['read']}"}
    async with httpx.AsyncClient(base_url=risk.url, headers=read) as api:
        alerts = (await api.get("/v1/alerts", params={"limit": 20})).json()["items"]
        assert sorted((a["buyer_id"], a["level"], a["raised_on"]) for a in alerts) == [
            ("B1", "critical", on(40).isoformat()),
            ("B1", "watch", on(11).isoformat()),
            ("B2", "warning", on(10).isoformat()),
            ("B3", "critical", on(102).isoformat()),
        ]
        report = (await api.get("/v1/backtest", params={"limit": 1})).json()
        # the whole history: first score on day 10, last business day 103 (94 days)
        assert (report["from_on"], report["to_on"]) == (on(10).isoformat(), on(103).isoformat())
        assert (report["buyers"], report["defaulters"]) == (3, 2)
        years = 94 / 365
        # warnings: B1 (critical, day 40, 62 days ahead) and B2 (day 10, a false alarm); B3's
        # critical alert came with its default, not before it
        assert report["warning"] == {
            "warned": 2,
            "true_warnings": 1,
            "defaulters": 2,
            "caught": 1,
            "precision": 0.5,
            "recall": 0.5,
            "false_alarms_per_100_per_year": pytest.approx(100 / (1 * years)),
            "lead_median": 62.0,
            "lead_q1": 62.0,
            "lead_q3": 62.0,
            "share_90d_ahead": 0.0,
        }
        # watch: B1 from day 11, 91 days ahead: half the defaulters warned 90 days or more ahead
        assert (report["watch"]["lead_median"], report["watch"]["share_90d_ahead"]) == (91.0, 0.5)
        # 91 days before day 102 (day 11): B1's PD 0.995 % (score 600: 1 / (1 + e^4.6)) and B3's
        # 0.816 % (610: 1 / (1 + e^4.8)) both below the PD of B2, the healthy buyer rated 8,
        # 2.66 % (550: 1 / (1 + e^3.6)): every pair ordered wrong
        assert report["pd_auc"] == [
            {"days_before": 91, "auc": 0.0},
            {"days_before": 182, "auc": None},
            {"days_before": 365, "auc": None},
        ]
        assert report["items"] == [
            {
                "buyer_id": "B1",
                "default_on": on(102).isoformat(),
                "first_watch_on": on(11).isoformat(),
                "first_warning_on": on(40).isoformat(),
                "warning_lead_days": 62,
                "watch_lead_days": 91,
            }
        ]
        rest = (await api.get("/v1/backtest", params={"cursor": report["next_cursor"]})).json()
        assert [d["buyer_id"] for d in rest["items"]] == ["B3"]
        assert rest["items"][0]["warning_lead_days"] is None
        assert rest["next_cursor"] is None

        # from day 45: B1's alerts came before the period, so nothing foretold either default
        later = (
            await api.get(
                "/v1/backtest", params={"from": on(45).isoformat(), "to": on(103).isoformat()}
            )
        ).json()
        assert (later["warning"]["warned"], later["warning"]["recall"]) == (0, 0.0)
        bad = await api.get(
            "/v1/backtest", params={"from": on(2).isoformat(), "to": on(1).isoformat()}
        )
        assert bad.status_code == 422
        assert (await api.get("/v1/backtest", params={"cursor": "junk"})).status_code == 400
        other = await api.get(
            "/v1/backtest", headers={"authorization": f"Bearer {api_keys['other']}"}
        )
        assert other.status_code == 404
