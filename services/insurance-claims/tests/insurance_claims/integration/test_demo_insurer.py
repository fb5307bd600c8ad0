"""The demo insurer (`arshield_cli.demo_insurer`) as the service's partner over loopback: it
decides a limit request by its rule and pays the claim of a buyer that became insolvent, all
through signed webhooks and signed callbacks."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import uvicorn

from arshield_cli.demo_insurer import create_insurer, decide_limit
from arshield_cli.testing import free_port
from arshield_events.risk import BuyerInsolvent
from arshield_runtime.webhooks.signing import new_secret

from .test_service import BUYER, D, Flow, days, fact, invoice

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_the_demo_insurers_rule_for_limits() -> None:
    assert decide_limit(Decimal(8000), Decimal(50000)) == ("full", Decimal(8000))
    assert decide_limit(Decimal(120000), Decimal(50000)) == ("partial", Decimal(50000))
    assert decide_limit(Decimal(250000), Decimal(50000)) == ("refused", Decimal(0))


async def until(check: Any, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.2)


async def test_the_demo_insurer_grants_cover_and_pays_the_claim_of_an_insolvent_buyer(
    stack: Any, service: Any, tenant: str, api_keys: dict[str, str]
) -> None:
    flow = Flow(stack, service, tenant, api_keys)
    secret, port = new_secret(), free_port()
    created = await flow.api.post(
        "/v1/insurers",
        headers=flow.auth("admin"),
        json={"name": "Demo insurer", "url": f"http://127.0.0.1:{port}/webhooks", "secret": secret},
    )
    assert created.status_code == 201, created.text
    insurer_id = created.json()["insurer_id"]
    app = create_insurer(
        secret,
        f"{service.url}/v1/insurers/{insurer_id}/callbacks",
        api_keys["agency"],
        pause=0.05,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    try:
        await flow.put_policy(insurer_id=insurer_id)
        await flow.days(date(2025, 1, 2))
        asked = await flow.api.post(
            f"/v1/buyers/{BUYER}/limit-requests",
            headers=flow.auth("write"),
            json={"policy_id": "POL-1", "amount": {"amount": "8000.00", "currency": "EUR"}},
        )
        assert asked.status_code == 202, asked.text

        async def covered() -> Any:
            answer = await flow.api.get(f"/v1/buyers/{BUYER}/cover", headers=flow.auth("read"))
            in_force = answer.json().get("in_force") if answer.status_code == 200 else None
            return in_force if in_force and in_force["decided_by"] == "insurer" else None

        in_force = await until(covered)
        assert in_force["decision"] == "full"
        assert Decimal(in_force["amount"]) == Decimal(8000)

        await flow.publish(fact(tenant, invoice("A", "6000.00", D), D - days(60)))
        await flow.days(D + days(1))
        insolvent = BuyerInsolvent(buyer_id=BUYER, source="manual", insolvent_on=D + days(5))
        await flow.publish(fact(tenant, insolvent, D + days(5), source="arshield/risk-monitor"))
        await flow.days(D + days(6))

        async def paid() -> Any:
            claims = (await flow.api.get("/v1/claims", headers=flow.auth("read"))).json()
            items = [c for c in claims["items"] if c["status"] == "paid"]
            return items[0] if items else None

        claim = await until(paid)
        assert Decimal(claim["claimed_indemnity"]) == Decimal("5400")  # 90 % of 6,000
        assert Decimal(claim["indemnity_paid"]) == Decimal("5400")
        kinds = [m["type"] for m in app.state.received]
        assert "insurance.overdue_notified" in kinds
        assert "insurance.claim_filed" in kinds
    finally:
        server.should_exit = True
        await serving
        await flow.api.aclose()
