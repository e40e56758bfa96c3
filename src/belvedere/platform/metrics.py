"""Prometheus metrics. One registry per running app (never the global one), so tests and tools can build
several apps in one process."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_accepted = Counter(
            "belvedere_events_accepted", "Events accepted into the spool", registry=r
        )
        self.events_rejected = Counter(
            "belvedere_events_rejected", "Events rejected as invalid, by reason", ["reason"], registry=r
        )
        self.events_dropped = Counter(
            "belvedere_events_dropped",
            "Valid events dropped on purpose (bots…), by reason",
            ["reason"],
            registry=r,
        )
        self.requests_refused = Counter(
            "belvedere_capture_refused", "Capture requests refused whole, by reason", ["reason"], registry=r
        )
        self.batch_seconds = Histogram(
            "belvedere_store_batch_seconds",
            "Time to write one batch into the event store",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.batch_rows = Counter("belvedere_store_rows", "Rows written into the event store", registry=r)
        self.step_seconds = Counter(
            "belvedere_ingest_step_seconds", "Time spent in each ingest pipeline step", ["step"], registry=r
        )
        self.http_seconds = Histogram(
            "belvedere_http_request_seconds",
            "HTTP request latency by route",
            ["method", "route", "status"],
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.spool_depth = Gauge(
            "belvedere_spool_depth_bytes", "Spool bytes not yet in the store", registry=r
        )
        self.spool_age = Gauge("belvedere_spool_age_seconds", "Age of the oldest spooled batch", registry=r)
        self.open_sessions = Gauge("belvedere_open_sessions", "Visits currently open in memory", registry=r)
        self.relay_backlog = Gauge(
            "belvedere_relay_backlog_bytes", "Capture workers' spooled bytes not yet relayed", registry=r
        )

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        gauge.set_function(read)

    def observe_batch(self, rows: int, seconds: float) -> None:
        self.batch_rows.inc(rows)
        self.batch_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
