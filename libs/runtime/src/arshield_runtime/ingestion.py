"""HTTP ingestion for ERPs that cannot produce to Kafka: validate CloudEvents, then publish them.

The body is decoded and validated by `arshield_events.registry.parse_events`, the very rules the
consumers apply to a Kafka record (`parse_event`): repeated keys, JSON floats, control characters,
dates out of range and amounts finer than the currency are refused here, before anything is
published, instead of being dead-lettered later.
"""

from __future__ import annotations

import re
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from arshield_events import topics
from arshield_events.envelope import CONTENT_TYPE, CloudEvent
from arshield_events.registry import (
    BATCH_CONTENT_TYPE,
    MAX_BATCH_EVENTS,
    EventRejected,
    MalformedJson,
    event_headers,
    parse_events,
    serialize_event,
)
from arshield_runtime.http import PROBLEM_JSON, ProblemError, WritePrincipal
from arshield_runtime.telemetry import current_trace_headers

INGESTIBLE_TOPICS = frozenset({topics.ERP, topics.EXTERNAL})
MAX_BATCH = MAX_BATCH_EVENTS
JSON_CONTENT_TYPE = "application/json"
"""Plain JSON: one event object or a batch array, told apart by the body's first character."""
ACCEPTED_CONTENT_TYPES = (CONTENT_TYPE, BATCH_CONTENT_TYPE, JSON_CONTENT_TYPE)
_INTERNAL_SOURCE = re.compile(r"arshield(?:$|[/:])", re.IGNORECASE)
"""Sources of the platform's own services (`arshield/ledger`): never from outside."""


class Accepted(BaseModel):
    accepted: int = Field(description="events published (exact repeats in a batch count once)")
    ids: list[str] = Field(description="ids of the published events, in request order")
    duplicates: list[int] = Field(
        default_factory=list,
        description="positions of batch items that repeat an earlier item exactly "
        "(same source, id and content); they were published once",
    )


_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A CloudEvents 1.0 event in structured JSON mode. `data` follows the schema "
    "of `type`, published per event type as libs/events/schemas/<type>.json; only "
    "arshield.erp.* and arshield.external.* types are accepted here.",
    "required": ["specversion", "id", "source", "type", "subject", "time", "tenantid", "data"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "maxLength": 200},
        "source": {"type": "string", "description": "the ERP, e.g. erp/sap-eu; not arshield/*"},
        "type": {"type": "string", "examples": ["arshield.erp.InvoiceIssued.v1"]},
        "subject": {"type": "string", "description": "the buyer id"},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "tenantid": {"type": "string", "description": "the API key's tenant"},
        "correlationid": {"type": "string"},
        "causationid": {"type": "string"},
        "data": {"type": "object"},
    },
}
_EXAMPLE_EVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "7d0f3b1e-5c3a-4c1e-9a43-2d6f0e1c9b10",
    "source": "erp/sap-eu",
    "type": "arshield.erp.InvoiceIssued.v1",
    "subject": "BUY-1",
    "time": "2024-03-01T09:00:00Z",
    "tenantid": "acme",
    "data": {
        "invoice_id": "INV-1",
        "invoice_number": "2024-0001",
        "buyer_id": "BUY-1",
        "issued_on": "2024-03-01",
        "due_on": "2024-03-31",
        "amount": {"amount": "1234.50", "currency": "EUR"},
        "payment_terms_days": 30,
    },
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": _ENVELOPE_SCHEMA,
    "minItems": 1,
    "maxItems": MAX_BATCH,
}
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem; `errors` name each field (`loc`, `[index].` for batches)",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "string"}, "msg": {"type": "string"}},
            },
        },
    },
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}


OPENAPI_EXTRA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One event or a batch; all are validated before any is published.",
        "content": {
            CONTENT_TYPE: {"schema": _ENVELOPE_SCHEMA, "example": _EXAMPLE_EVENT},
            BATCH_CONTENT_TYPE: {"schema": _BATCH_SCHEMA, "example": [_EXAMPLE_EVENT]},
            JSON_CONTENT_TYPE: {
                "schema": {"oneOf": [_ENVELOPE_SCHEMA, _BATCH_SCHEMA]},
                "example": _EXAMPLE_EVENT,
            },
        },
    }
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Not acceptable JSON: syntax, repeated key, NaN, not UTF-8, nested too deep"),
    403: _problem("Another tenant's event, a platform source (arshield/*), or a missing scope"),
    413: _problem("Body larger than the service's limit"),
    415: _problem(f"Content type not one of {', '.join(ACCEPTED_CONTENT_TYPES)}"),
    422: _problem(
        "An invalid event (each field named in `errors`), a batch item that is not an object, "
        "a batch shape that does not match the content type, conflicting duplicates, or a type "
        "not accepted from outside"
    ),
}

router = APIRouter(prefix="/v1", tags=["ingestion"])


def _media_type(request: Request) -> str:
    header = request.headers.get("content-type", "")
    media, _, parameters = header.partition(";")
    media = media.strip().lower()
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise ProblemError(415, "Unsupported media type", "events are UTF-8 JSON")
    if media not in ACCEPTED_CONTENT_TYPES:
        raise ProblemError(
            415,
            "Unsupported media type",
            f"send {CONTENT_TYPE} (one event), {BATCH_CONTENT_TYPE} (a JSON array of events) "
            f"or {JSON_CONTENT_TYPE} (either), not {media or 'no content type'}",
        )
    return media


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    openapi_extra=OPENAPI_EXTRA,
    responses=RESPONSES,
)
async def ingest(request: Request, principal: WritePrincipal) -> Accepted:
    """Accept one CloudEvent (`application/cloudevents+json`), a batch
    (`application/cloudevents-batch+json`, a JSON array of 1 to 1000 events), or either as
    `application/json` (an array is a batch). All are validated before any is published: one bad
    event refuses the whole request and publishes nothing. Two events with the same source and id
    but different content refuse the batch; an exact repeat is published once."""
    media = _media_type(request)
    raw = await request.body()
    batch = media == BATCH_CONTENT_TYPE or (media == JSON_CONTENT_TYPE and raw.lstrip()[:1] == b"[")
    try:
        events = parse_events(raw, batch=batch)
    except MalformedJson as malformed:
        raise ProblemError(
            400, "Malformed JSON", str(malformed), errors=_problem_errors(malformed)
        ) from malformed
    except EventRejected as rejected:
        raise ProblemError(
            422, "Invalid event", str(rejected), errors=_problem_errors(rejected)
        ) from rejected
    _check_origin(events, principal.tenant_id, batch)
    published: dict[tuple[str, str], CloudEvent[Any]] = {}
    duplicates = []
    for index, event in enumerate(events):
        if published.setdefault((event.source, event.id), event) is not event:
            duplicates.append(index)
    await _publish(request, list(published.values()))
    return Accepted(
        accepted=len(published), ids=[e.id for e in published.values()], duplicates=duplicates
    )


def _problem_errors(rejected: EventRejected) -> list[dict[str, Any]] | None:
    return [{"loc": error["loc"], "msg": error["msg"]} for error in rejected.errors] or None


def _check_origin(events: list[CloudEvent[Any]], tenant_id: str, batch: bool) -> None:
    """Refuse events an ERP key may not publish: 403 for another tenant or a platform source,
    422 for a type outside the ERP and external topics."""
    forbidden: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        prefix = f"[{index}]." if batch else ""
        if event.tenantid != tenant_id:
            forbidden.append({"loc": f"{prefix}tenantid", "msg": "not this key's tenant"})
        if _INTERNAL_SOURCE.match(event.source):
            forbidden.append(
                {
                    "loc": f"{prefix}source",
                    "msg": f"{event.source} is a platform service's source; "
                    "send the ERP's own source, e.g. erp/sap-eu",
                }
            )
        if event.data.topic not in INGESTIBLE_TOPICS:
            invalid.append(
                {"loc": f"{prefix}type", "msg": f"{event.type} is not accepted from outside"}
            )
    for status, title, errors in ((403, "Forbidden", forbidden), (422, "Invalid event", invalid)):
        if errors:
            detail = "; ".join(f"{error['loc']}: {error['msg']}" for error in errors[:10])
            raise ProblemError(status, title, detail, errors=errors[:100])


async def _publish(request: Request, events: list[CloudEvent[Any]]) -> None:
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
