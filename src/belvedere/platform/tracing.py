"""OpenTelemetry traces across processes (issue #29): off unless ``tracing.otlp_endpoint`` is set.

What is traced: every HTTP request (a caller's ``traceparent`` header continues its trace), a capture
request's events on their way (the capture span's context travels with the record in the ingest stream, and
the owner's relay span links to the spans of the records it moved), each store write, and each query with
its statements. Log lines written inside a span carry its ``trace_id`` and ``span_id`` (``add_trace_ids``),
so JSON logs and traces meet.

The provider is this module's own (``install``), not the process-wide one: tests install an in-memory
exporter and remove it, and with tracing off every call below is a no-op of the OpenTelemetry API.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Tracer

from belvedere.config import TracingSettings

_NOOP = trace.NoOpTracer()
_PROPAGATED = (b"traceparent", b"tracestate")
_tracer: Tracer = _NOOP
_provider: Any = None


def configure(settings: TracingSettings, role: str) -> None:
    """Export spans over OTLP/HTTP to ``settings.otlp_endpoint`` as service ``belvedere-<role>``."""
    if settings.otlp_endpoint is None:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"belvedere-{role}"}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    install(provider)
    atexit.register(shutdown)  # the last spans are exported however the process ends its main


def install(provider: Any) -> None:
    """Trace with ``provider`` (an SDK ``TracerProvider``); None: stop tracing (spans become no-ops)."""
    global _tracer, _provider
    if _provider is not None and _provider is not provider:
        _provider.shutdown()  # exports what is pending
    _provider = provider
    _tracer = provider.get_tracer("belvedere") if provider is not None else _NOOP


def shutdown() -> None:
    install(None)


def enabled() -> bool:
    return _provider is not None


@contextmanager
def span(
    name: str,
    attributes: dict[str, Any] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Context | None = None,
    links: Iterable[Link] = (),
) -> Iterator[Span]:
    """A span around the block, current inside it (child of the current span unless ``parent``). Tracing
    off, nothing at all: the capture path runs thousands of times a second."""
    if _provider is None:
        yield trace.INVALID_SPAN
        return
    values = {k: v for k, v in (attributes or {}).items() if v is not None}
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, links=list(links), attributes=values
    ) as current:
        yield current


def incoming(headers: Iterable[tuple[bytes, bytes]]) -> Context | None:
    """The trace an HTTP request continues (its ``traceparent`` header), when tracing and inside no span."""
    if _provider is None or trace.get_current_span().get_span_context().is_valid:
        return None
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _PROPAGATED}
    return propagate.extract(carrier) if carrier else None


def traceparent() -> str | None:
    """The current span's context as a W3C ``traceparent``, to send with a record; None when not tracing."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def link_to(parents: Iterable[str | None]) -> list[Link]:
    """Links to the spans whose ``traceparent`` came with the records a batch holds."""
    found = []
    for value in parents:
        if not value:
            continue
        context = trace.get_current_span(propagate.extract({"traceparent": value})).get_span_context()
        if context.is_valid:
            found.append(Link(context))
    return found


def add_trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current span's ids on every line logged inside it."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event
