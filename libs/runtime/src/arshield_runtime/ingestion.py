"""HTTP ingestion for ERPs that cannot produce to Kafka: validate CloudEvents, then publish them."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Request
from pydantic import BaseModel

from arshield_events import topics
from arshield_events.registry import EventRejected, event_headers, parse_event, serialize_event
from arshield_runtime.http import ProblemError, WritePrincipal
from arshield_runtime.telemetry import current_trace_headers

INGESTIBLE_TOPICS = frozenset({topics.ERP, topics.EXTERNAL})
MAX_BATCH = 1000


class Accepted(BaseModel):
    accepted: int
    ids: list[str]


router = APIRouter(prefix="/v1", tags=["ingestion"])


@router.post("/events", status_code=202, response_model=Accepted)
async def ingest(request: Request, principal: WritePrincipal) -> Accepted:
    """Accept one CloudEvent (`application/cloudevents+json`) or a batch
    (`application/cloudevents-batch+json`, a JSON array). All are validated before any is
    published: one bad event refuses the whole request and publishes nothing."""
    raw = await request.body()
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ProblemError(400, "Malformed JSON", str(error)) from error
    documents: list[Any] = document if isinstance(document, list) else [document]
    if not documents or len(documents) > MAX_BATCH:
        raise ProblemError(422, "Invalid request", f"send between 1 and {MAX_BATCH} events")
    events = []
    for index, item in enumerate(documents):
        prefix = f"[{index}]." if isinstance(document, list) else ""
        try:
            event = parse_event(json.dumps(item) if not isinstance(item, str) else item)
        except EventRejected as rejected:
            errors = [{**e, "loc": f"{prefix}{e['loc']}"} for e in rejected.errors]
            raise ProblemError(
                422, "Invalid event", f"{prefix}{rejected}", errors=errors or None
            ) from rejected
        if event.tenantid != principal.tenant_id:
            raise ProblemError(403, "Forbidden", f"{prefix}tenantid is not this key's tenant")
        if event.data.topic not in INGESTIBLE_TOPICS:
            raise ProblemError(
                422, "Invalid event", f"{prefix}type {event.type} is not accepted from outside"
            )
        events.append(event)
    producer: AIOKafkaProducer = request.app.state.producer
    trace = [(name, value.encode()) for name, value in current_trace_headers().items()]
    futures = [
        await producer.send(
            event.data.topic,
            value=serialize_event(event),
            key=event.key.encode(),
            headers=[*event_headers(event), *trace],
        )
        for event in events
    ]
    for future in futures:
        await future
    return Accepted(accepted=len(events), ids=[event.id for event in events])
