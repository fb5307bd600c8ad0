"""A demo collection agency: receives case hand-overs as Standard Webhooks, verifies them with the
`standardwebhooks` library, and reports back through signed callbacks (accepted, then the payment
collected, then closed), so the whole agency loop runs without anything external.

    python -m arshield_cli.demo_agency --port 8190 --secret whsec_... \
        --callback-url http://127.0.0.1:8102/v1/agencies/<id>/callbacks --api-key <agency key>
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import typer
import uvicorn
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

log = logging.getLogger("demo-agency")


def create_agency(secret: str, callback_url: str, api_key: str, pause: float = 0.5) -> FastAPI:
    app = FastAPI(title="demo collection agency")
    webhook = Webhook(secret)
    seen: set[str] = set()
    app.state.received = []
    tasks: set[asyncio.Task[None]] = set()

    async def call_back(update: dict[str, Any]) -> None:
        body = json.dumps(update, separators=(",", ":"))
        message_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(message_id, now, body),
            "idempotency-key": f"{update['case_id']}:{update['status']}",
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
                        log.info(
                            "case %s -> %s: %s",
                            update["case_id"],
                            update["status"],
                            response.status_code,
                        )
                        return
                await asyncio.sleep(2**attempt)

    async def work_the_case(case: dict[str, Any]) -> None:
        case_id = case["case_id"]
        await asyncio.sleep(pause)
        await call_back(
            {"case_id": case_id, "status": "accepted", "agency_reference": f"DC-{case_id[-6:]}"}
        )
        await asyncio.sleep(pause)
        await call_back(
            {
                "case_id": case_id,
                "status": "payment_collected",
                "collected": case["amount"],
                "note": "paid in full after our call",
            }
        )
        await asyncio.sleep(pause)
        await call_back({"case_id": case_id, "status": "closed"})

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
        if message.get("type", "").endswith("case.opened"):
            task = asyncio.create_task(work_the_case(message["data"]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return Response(status_code=204)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "received": len(app.state.received)}

    return app


def main(
    port: int = typer.Option(8190),
    secret: str = typer.Option(..., envvar="DEMO_AGENCY_SECRET"),
    callback_url: str = typer.Option(..., envvar="DEMO_AGENCY_CALLBACK_URL"),
    api_key: str = typer.Option(..., envvar="DEMO_AGENCY_API_KEY"),
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s demo-agency %(message)s")
    uvicorn.run(
        create_agency(secret, callback_url, api_key),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )


if __name__ == "__main__":
    typer.run(main)
