"""A demo credit insurer: receives insurance-claims' Standard Webhooks (limit requests, overdue
notifications, stop-supply confirmations, claims), verifies them with the `standardwebhooks`
library, and answers through signed callbacks: a limit request is decided by a simple rule, a claim
is paid, so the whole insurer loop runs without anything external.

    python -m arshield_cli.demo_insurer --port 8191 --secret whsec_... \
        --callback-url http://127.0.0.1:8105/v1/insurers/<id>/callbacks --api-key <agency key>

The rule for limits: granted in full up to `--full-up-to` (default 50,000), partially (that
amount) up to four times it, refused above. A claim is paid its claimed indemnity (rejected when
nothing is claimed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import typer
import uvicorn
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

log = logging.getLogger("demo-insurer")


def decide_limit(requested: Decimal, full_up_to: Decimal) -> tuple[str, Decimal]:
    """(decision, cover) for a limit request."""
    if requested <= full_up_to:
        return "full", requested
    if requested <= full_up_to * 4:
        return "partial", full_up_to
    return "refused", Decimal(0)


def create_insurer(
    secret: str,
    callback_url: str,
    api_key: str,
    *,
    full_up_to: Decimal = Decimal(50000),
    pause: float = 0.5,
) -> FastAPI:
    app = FastAPI(title="demo credit insurer")
    webhook = Webhook(secret)
    seen: set[str] = set()
    app.state.received = []
    app.state.answered = []
    tasks: set[asyncio.Task[None]] = set()

    async def call_back(answer: dict[str, Any], key: str) -> None:
        body = json.dumps(answer, separators=(",", ":"))
        message_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(message_id, now, body),
            "idempotency-key": key,
            "authorization": f"Bearer {api_key}",
            "content-type": "application/json",
        }
        async with httpx.AsyncClient(timeout=10) as client:
            for attempt in range(5):
                try:
                    response = await client.post(callback_url, content=body, headers=headers)
                except httpx.HTTPError as error:
                    log.warning("callback failed (%r), retrying", error)
                else:
                    if response.status_code < 500:
                        log.info("%s %s: %s", answer["kind"], key, response.status_code)
                        app.state.answered.append((answer, response.status_code))
                        return
                await asyncio.sleep(2**attempt)

    async def decide_request(data: dict[str, Any]) -> None:
        await asyncio.sleep(pause)
        requested = data["requested"]
        decision, cover = decide_limit(Decimal(requested["amount"]), full_up_to)
        await call_back(
            {
                "kind": "cover_decision",
                "decision_id": f"dec-{data['request_id']}",
                "buyer_id": data["buyer_id"],
                "request_id": data["request_id"],
                "decision": decision,
                "amount": {"amount": str(cover), "currency": requested["currency"]},
            },
            f"cover:{data['request_id']}",
        )

    async def settle_claim(data: dict[str, Any]) -> None:
        await asyncio.sleep(pause)
        claimed = data["claimed_indemnity"]
        paid = Decimal(claimed["amount"]) > 0
        nothing = {"amount": "0", "currency": claimed["currency"]}
        await call_back(
            {
                "kind": "claim_outcome",
                "claim_id": data["claim_id"],
                "outcome": "paid" if paid else "rejected",
                "indemnity_paid": claimed if paid else nothing,
                "reason": None if paid else "nothing claimed: the aggregate limit is used up",
            },
            f"claim:{data['claim_id']}",
        )

    def later(work: Any) -> None:
        task = asyncio.create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    @app.post("/webhooks")
    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            message = webhook.verify(body, dict(request.headers))
        except WebhookVerificationError as error:
            return Response(f"signature refused: {error}", status_code=401)
        message_id = request.headers["webhook-id"]
        app.state.received.append(message)
        if message_id in seen:  # a retry of something already taken in
            return Response(status_code=204)
        seen.add(message_id)
        kind, data = message.get("type", ""), message.get("data", {})
        log.info("received %s for buyer %s", kind, data.get("buyer_id"))
        if kind == "insurance.limit_requested":
            later(decide_request(data))
        elif kind == "insurance.claim_filed":
            later(settle_claim(data))
        # overdue notifications and stop-supply confirmations are taken note of
        return Response(status_code=204)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "received": len(app.state.received)}

    return app


def main(
    port: int = typer.Option(8191),
    secret: str = typer.Option(..., envvar="DEMO_INSURER_SECRET"),
    callback_url: str = typer.Option(..., envvar="DEMO_INSURER_CALLBACK_URL"),
    api_key: str = typer.Option(..., envvar="DEMO_INSURER_API_KEY"),
    full_up_to: str = typer.Option("50000", help="limits granted in full up to this amount"),
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s demo-insurer %(message)s")
    uvicorn.run(
        create_insurer(secret, callback_url, api_key, full_up_to=Decimal(full_up_to)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )


if __name__ == "__main__":
    typer.run(main)
