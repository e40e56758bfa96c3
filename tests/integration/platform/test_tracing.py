"""Issue #29: OpenTelemetry traces follow a captured event from a capture process through the Redis stream to
the store owner's relay, and a query from the API to the store; log lines carry the trace's ids; the OTLP
exporter really sends (to an HTTP receiver of the test's own). Off by default."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
import structlog
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient
from tests.integration.accounts.kit import fast_settings
from tests.integration.capture_kit import running
from tests.waiting import eventually

from belvedere.config import Settings, TracingSettings
from belvedere.ingest.worker import CaptureWorker
from belvedere.platform import tracing
from belvedere.platform.logging import configure_logging
from belvedere.web.capture_server import CaptureServer

REDIS_URL = "redis://127.0.0.1:6379/0"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.shutdown()


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    key = f"belvedere-test:{uuid.uuid4()}"
    yield fast_settings(tmp_path, ingest={"stream_url": REDIS_URL, "stream_key": key})
    redis.Redis.from_url(REDIS_URL).delete(key)


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def test_a_captured_event_is_traced_through_the_stream_to_the_relay(
    spans: InMemorySpanExporter, settings: Settings
) -> None:
    with running(settings) as owner:
        with TestClient(CaptureServer(CaptureWorker(settings, None))) as capture:
            sent = capture.post(
                "/api/v1/capture",
                json={"event": "signed_up", "distinct_id": "u1"},
                headers={"Authorization": f"Bearer {owner.project.write_key}", "traceparent": CALLER},
            )
            assert sent.status_code == 202, sent.text
        assert owner.wait_stored(1) == 1
        [captured] = _named(spans, "capture")
        assert format(captured.context.trace_id, "032x") == TRACE_ID  # the caller's trace continues
        assert captured.attributes is not None and captured.attributes["accepted"] == 1
        assert eventually(lambda: any(_named(spans, "relay")))
        relayed = [s for s in _named(spans, "relay") if s.links]
        assert [link.context.span_id for s in relayed for link in s.links] == [captured.context.span_id]


def test_a_query_is_traced_from_the_request_to_the_store(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    with running(fast_settings(tmp_path)) as app:
        answer = app.client.post(
            f"/api/v1/projects/{app.project.project.id}/query",
            json={"kind": "trends", "series": [{"event": "signed_up"}]},
            headers={**app.read_auth(), "traceparent": CALLER},
        )
        assert answer.status_code == 200, answer.text
    [request] = [s for s in spans.get_finished_spans() if s.name == "HTTP POST"]
    [query] = _named(spans, "query")
    fetches = _named(spans, "store.fetch")
    assert format(request.context.trace_id, "032x") == TRACE_ID
    assert query.parent is not None and query.parent.span_id == request.context.span_id
    assert fetches and all(
        f.parent is not None and f.parent.span_id == query.context.span_id for f in fetches
    )
    assert query.attributes is not None and query.attributes["query.kind"] == "trends"
    assert request.attributes is not None and request.attributes["http.response.status_code"] == 200


def test_log_lines_inside_a_span_carry_its_ids(spans: InMemorySpanExporter) -> None:
    configure_logging("info", json=True, cache=False)
    assert tracing.add_trace_ids in structlog.get_config()["processors"]
    with tracing.span("work") as current:
        event = tracing.add_trace_ids(None, "info", {"event": "x"})
    context = current.get_span_context()
    assert event["trace_id"] == format(context.trace_id, "032x")
    assert event["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in tracing.add_trace_ids(None, "info", {"event": "outside"})


def test_tracing_is_off_by_default_and_costs_nothing() -> None:
    assert not tracing.enabled()
    with tracing.span("anything") as current:
        assert not current.get_span_context().is_valid
        assert tracing.traceparent() is None


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_otlp_exporter_sends_the_spans() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
        tracing.configure(TracingSettings(otlp_endpoint=endpoint), "capture")
        with tracing.span("sent over otlp", {"project_id": 7}):
            pass
        tracing.shutdown()  # flushes the batch
    finally:
        server.shutdown()
    [(path, content_type, body)] = _Receiver.received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    [resource] = request.resource_spans
    service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
    assert service == "belvedere-capture"
    assert [s.name for scope in resource.scope_spans for s in scope.spans] == ["sent over otlp"]
