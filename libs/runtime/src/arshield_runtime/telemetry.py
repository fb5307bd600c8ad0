"""Tracing and metrics: trace context rides in Kafka headers and outbox rows; Prometheus metrics."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

_configured = False


def configure_tracing(
    service_name: str, otlp_endpoint: str | None, sample_ratio: float | None = None
) -> None:
    """Install a real tracer provider once, so every hop has a trace id even without an exporter.

    Spans (HTTP, database through asyncpg, the service's own) are recorded only for sampled traces:
    by default every trace when there is an exporter to send them to, none otherwise, so tracing
    costs next to nothing when nobody looks. An upstream's sampling decision is followed.
    """
    global _configured
    if _configured:
        return
    ratio = sample_ratio if sample_ratio is not None else (1.0 if otlp_endpoint else 0.0)
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"arshield-{service_name}"}),
        sampler=ParentBased(TraceIdRatioBased(ratio)),
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    _configured = True


tracer = trace.get_tracer("arshield")


def context_from_headers(headers: Iterable[tuple[str, bytes]] | None) -> otel_context.Context:
    carrier = {key: value.decode("latin-1") for key, value in headers or () if value is not None}
    return extract(carrier)


_last_injected: tuple[otel_context.Context | None, dict[str, str]] = (None, {})


def current_trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the active span, for an outbox row or an HTTP call.

    Contexts are immutable, so the headers of the last one asked about are kept: a handler that
    emits several events injects once.
    """
    global _last_injected
    active = otel_context.get_current()
    known, carrier = _last_injected
    if active is not known:
        carrier = {}
        inject(carrier, context=active)
        _last_injected = (active, carrier)
    return dict(carrier)


_CONSUMED_TRACEPARENT: ContextVar[str | None] = ContextVar("consumed_traceparent", default=None)


def consumed_traceparent() -> str | None:
    """The `traceparent` header of the record being handled (None outside a consumer's handler, or
    when the record carried none). State that later decisions continue (an invoice's trace) keeps
    this, not the consumer's own span: it is the same live and in a rebuild, sampled or not."""
    return _CONSUMED_TRACEPARENT.get()


@contextmanager
def consuming(headers: Iterable[tuple[str, bytes]] | None) -> Iterator[None]:
    """While handling a record with these Kafka headers (see `consumed_traceparent`)."""
    value = next((v for k, v in headers or () if k == "traceparent" and v is not None), None)
    token = _CONSUMED_TRACEPARENT.set(value.decode("latin-1") if value is not None else None)
    try:
        yield
    finally:
        _CONSUMED_TRACEPARENT.reset(token)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the active span, to keep with state that later decisions
    continue (e.g. an invoice's, so its dunning webhook joins the invoice's trace)."""
    return current_trace_headers().get("traceparent")


def trace_headers_of(mapping: Mapping[str, str]) -> otel_context.Context:
    return extract(dict(mapping))


# --- Prometheus metrics (one registry per process; labels keep services apart in shared tests) ---
EVENTS_CONSUMED = Counter(
    "arshield_events_consumed", "Events handled (new effects)", ["service", "topic", "type"]
)
EVENTS_DUPLICATE = Counter(
    "arshield_events_duplicate", "Redelivered events skipped by the inbox", ["service", "topic"]
)
EVENTS_FAILED = Counter(
    "arshield_events_failed",
    "Handler failures (before retry or dead-lettering)",
    ["service", "topic"],
)
EVENTS_DEAD_LETTERED = Counter(
    "arshield_events_dead_lettered", "Events sent to a dead-letter topic", ["service", "topic"]
)
TRANSIENT_RETRIES = Counter(
    "arshield_transient_retries", "Batches retried after a transient failure", ["service"]
)
BATCH_SECONDS = Histogram(
    "arshield_batch_seconds", "Time to handle one consumed batch", ["service"]
)
OUTBOX_BACKLOG = Gauge("arshield_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_AGE = Gauge(
    "arshield_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
OUTBOX_PUBLISHED = Counter("arshield_outbox_published", "Outbox rows published", ["service"])


M = TypeVar("M", bound=MetricWrapperBase)


@functools.cache
def labelled(metric: M, *labels: str) -> M:
    """`metric.labels(*labels)`, looked up once: hot paths count without the lock and checks."""
    return metric.labels(*labels)
