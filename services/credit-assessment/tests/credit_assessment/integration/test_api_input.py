"""Bad input to the API answers a decision or a problem document naming the field, never a 500:
an unknown buyer is declined, another currency referred, zero or negative amounts and terms over
3,650 days refused; a policy with overlapping or missing grades or a negative amount refused; the
standard terms of every jurisdiction pass the review; expected sales and the due reviews answer
before any tick."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from arshield_credit_assessment.bootstrap import bootstrap
from arshield_credit_assessment.entrypoints.api import router
from arshield_credit_assessment.settings import CreditSettings
from arshield_events.registry import parse_event
from arshield_runtime.auth import create_api_key
from arshield_runtime.db import create_engine, migrate, outbox
from arshield_runtime.http import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(fresh_database: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], Any]]:
    settings = CreditSettings(database_url=fresh_database, environment="test")
    definition = bootstrap(settings)
    await migrate(definition.migrations, fresh_database)
    engine = create_engine(fresh_database)
    app = create_app(settings, engine, routers=[router])
    for name, value in definition.state.items():
        setattr(app.state, name, value)
    keys = {
        scope: {
            "Authorization": "Bearer "
            + await create_api_key(engine, tenant_id="acme", name=scope, scopes=[scope])
        }
        for scope in ("read", "write", "admin")
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client, keys, engine  # type: ignore[misc]
    await engine.dispose()


def body(**changes: Any) -> dict[str, Any]:
    return {"buyer_id": "b-1", "amount": {"amount": "100.00", "currency": "EUR"}, **changes}


async def test_an_unknown_buyer_is_declined_and_the_decision_goes_to_the_outbox(api: Any) -> None:
    client, keys, engine = api
    answer = await client.post("/v1/credit-checks", headers=keys["write"], json=body(order_id="o1"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "declined"
    assert [r["code"] for r in answer.json()["reasons"]] == ["unknown_buyer"]
    async with engine.connect() as connection:
        rows = (await connection.execute(sa.select(outbox.c.value))).all()
    (event,) = [parse_event(r.value) for r in rows]
    assert event.data.decision == "declined"
    assert event.data.decision_id == answer.json()["decision_id"]
    assert (
        await client.post("/v1/credit-checks", headers=keys["read"], json=body())
    ).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": {"amount": "0", "currency": "EUR"}}, "amount.amount"),
        ({"amount": {"amount": "-5", "currency": "EUR"}}, "amount.amount"),
        ({"amount": {"amount": "5", "currency": "euro"}}, "amount.currency"),
        ({"amount": {"amount": "5", "currency": "BLG"}}, "amount.currency"),
        ({"amount": {"amount": "5", "currency": "XAU"}}, "amount.currency"),
        ({"payment_terms_days": 3651}, "payment_terms_days"),
        ({"payment_terms_days": -1}, "payment_terms_days"),
        ({"buyer_id": "b\u0000"}, "buyer_id"),
    ],
)
async def test_bad_checks_are_problems_naming_the_field(
    api: Any, changes: dict[str, Any], field: str
) -> None:
    client, keys, _ = api
    answer = await client.post("/v1/credit-checks", headers=keys["write"], json=body(**changes))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in answer.json()["errors"]] == [field]


BAND = {
    "max_terms_days": 30,
    "security": "open_account",
    "capacity_percent_of_equity": "10",
    "grade_cap": "1000",
    "uninsured_appetite": "100",
    "review_months": 12,
}


@pytest.mark.parametrize(
    ("bands", "field"),
    [
        (
            [{**BAND, "from_grade": 1, "to_grade": 6}, {**BAND, "from_grade": 6, "to_grade": 10}],
            "bands.1.from_grade",
        ),
        (
            [{**BAND, "from_grade": 1, "to_grade": 5}, {**BAND, "from_grade": 7, "to_grade": 10}],
            "bands",
        ),
        ([{**BAND, "from_grade": 1, "to_grade": 10, "grade_cap": "-1"}], "bands.0.grade_cap"),
        (
            [{**BAND, "from_grade": 1, "to_grade": 10, "max_terms_days": 4000}],
            "bands.0.max_terms_days",
        ),
    ],
)
async def test_a_policy_that_overlaps_leaves_a_gap_or_is_negative_is_refused(
    api: Any, bands: list[dict[str, Any]], field: str
) -> None:
    client, keys, _ = api
    answer = await client.put(
        "/v1/credit-policy", headers=keys["admin"], json={"currency": "EUR", "bands": bands}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e["loc"] for e in answer.json()["errors"]]


async def test_a_valid_policy_is_written_as_the_next_version(api: Any) -> None:
    client, keys, _ = api
    policy = {"currency": "EUR", "bands": [{**BAND, "from_grade": 1, "to_grade": 10}]}
    first = await client.put("/v1/credit-policy", headers=keys["admin"], json=policy)
    second = await client.put("/v1/credit-policy", headers=keys["admin"], json=policy)
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    # not in force until read back from the log
    in_force = await client.get("/v1/credit-policy", headers=keys["read"])
    assert in_force.json()["policy_version"] == "credit-v0"
    page = await client.get("/v1/credit-policy/versions?limit=1", headers=keys["read"])
    assert [(v["version"], v["read_back"]) for v in page.json()["items"]] == [(2, False)]
    rest = await client.get(
        "/v1/credit-policy/versions",
        params={"cursor": page.json()["next_cursor"]},
        headers=keys["read"],
    )
    assert [v["version"] for v in rest.json()["items"]] == [1]


@pytest.mark.parametrize("jurisdiction", ["EU", "DE", "FR", "UK", "CN"])
async def test_the_standard_terms_pass_the_review(api: Any, jurisdiction: str) -> None:
    client, keys, _ = api
    answer = await client.get(f"/v1/contract-templates/{jurisdiction}", headers=keys["read"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["review"]["compliant"] is True
    assert answer.json()["review"]["findings"] == []


async def test_unknown_things_are_404(api: Any) -> None:
    client, keys, _ = api
    assert (
        await client.get("/v1/buyers/nobody/credit-file", headers=keys["read"])
    ).status_code == 404
    assert (await client.get("/v1/credit-checks/dec-x", headers=keys["read"])).status_code == 404
    decided = await client.post(
        "/v1/credit-checks/dec-x/decision",
        headers=keys["write"],
        json={"decision": "approved", "reason": "ok"},
    )
    assert decided.status_code == 404
    released = await client.post(
        "/v1/buyers/b-1/holds/h-1/release", headers=keys["write"], json={"reason": "ok"}
    )
    assert released.status_code == 404
    assert (await client.get("/v1/contract-templates/XX", headers=keys["read"])).status_code == 422


async def test_expected_sales_are_recorded_and_no_review_is_due_before_any_tick(api: Any) -> None:
    """Before the first tick the business date is today's date: the sales are recorded on it (and
    applied when read back from the log), and no limit has a review date yet."""
    client, keys, _ = api
    sales = {"monthly_sales": {"amount": "12000.50", "currency": "EUR"}}
    answer = await client.put("/v1/buyers/b-1/expected-sales", headers=keys["write"], json=sales)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "buyer_id": "b-1",
        "monthly_sales": {"amount": "12000.50", "currency": "EUR"},
        "recorded_by": "write",
        "recorded_on": datetime.now(UTC).date().isoformat(),
    }
    due = await client.get("/v1/reviews/due", headers=keys["read"])
    assert due.status_code == 200, due.text
    assert due.json()["items"] == []
