"""Database spans in traces, only for sampled traces: a query under a sampled span gets a child
span from the asyncpg instrumentation; unsampled, nothing is recorded but the trace id still
travels. Each case runs in a fresh interpreter, as a service process would (the tracer provider
is process-wide and set once)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

SCRIPT = """
import asyncio, json, sys
import asyncpg
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from arshield_runtime.telemetry import configure_tracing, current_trace_headers, tracer

configure_tracing("test", None, float(sys.argv[2]))
exporter = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))

async def main():
    connection = await asyncpg.connect(sys.argv[1])
    try:
        with tracer.start_as_current_span("handle batch"):
            await connection.fetchval("SELECT 1")
            headers = current_trace_headers()
    finally:
        await connection.close()
    spans = [
        {"name": s.name, "system": s.attributes.get("db.system"),
         "parent": s.parent.span_id if s.parent else None, "id": s.context.span_id}
        for s in exporter.get_finished_spans()
    ]
    print(json.dumps({"spans": spans, "traceparent": headers.get("traceparent")}))

asyncio.run(main())
"""


def traced(dsn: str, ratio: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, dsn, str(ratio)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_query_in_a_sampled_trace_is_a_database_span_of_its_handler(
    postgres_admin_dsn: str,
) -> None:
    result = traced(postgres_admin_dsn, 1.0)
    spans = result["spans"]
    assert isinstance(spans, list)
    (handler,) = [s for s in spans if s["name"] == "handle batch"]
    database = [s for s in spans if s["system"] == "postgresql"]
    assert database, spans
    assert {s["parent"] for s in database} == {handler["id"]}
    assert int(str(result["traceparent"]).split("-")[3], 16) & 1  # the sampled flag


def test_an_unsampled_trace_records_nothing_but_its_id_still_travels(
    postgres_admin_dsn: str,
) -> None:
    result = traced(postgres_admin_dsn, 0.0)
    assert result["spans"] == []
    traceparent = str(result["traceparent"])
    version, trace_id, _, flags = traceparent.split("-")
    assert version == "00"
    assert trace_id != "0" * 32
    assert not int(flags, 16) & 1  # not sampled
