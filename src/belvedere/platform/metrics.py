"""Prometheus metrics. One registry per running app (never the global one), so tests and tools can build
several apps in one process.

With capture workers, each worker writes a snapshot of its registry to a folder every second
(``write_snapshot``); the owner's ``/metrics`` merges those with its own (``render``): counters and
histograms are summed over the processes, so ``belvedere_events_accepted_total`` counts every worker's
events.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric

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
        self.marks_seconds = Histogram(
            "belvedere_page_marks_seconds",
            "Time of one pass marking the visits' pages (it holds off the batches meanwhile)",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.marked_visits = Counter(
            "belvedere_page_marks_visits", "Visits written again with new page marks", registry=r
        )
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

        self.query_seconds = Histogram(
            "belvedere_query_seconds",
            "Time to answer a query, by kind and whether the answer cache had it",
            ["kind", "cached"],
            registry=r,
            buckets=LATENCY_BUCKETS,
        )

        self.job_runs = Counter(
            "belvedere_job_runs",
            "Job runs in this process by job name and outcome",
            ["name", "outcome"],
            registry=r,
        )
        self.job_seconds = Histogram(
            "belvedere_job_seconds",
            "Duration of job runs in this process by job name",
            ["name"],
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
        )

    def observe_query(self, kind: str, cached: bool, seconds: float) -> None:
        self.query_seconds.labels(kind, "true" if cached else "false").observe(seconds)

    def observe_job(self, name: str, outcome: str, seconds: float) -> None:
        self.job_runs.labels(name, outcome).inc()
        self.job_seconds.labels(name).observe(seconds)

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        gauge.set_function(read)

    def observe_batch(self, rows: int, seconds: float) -> None:
        self.batch_rows.inc(rows)
        self.batch_seconds.observe(seconds)

    def observe_marks(self, visits: int, seconds: float) -> None:
        self.marked_visits.inc(visits)
        self.marks_seconds.observe(seconds)

    def add_step_timings(self, timings: dict[str, float]) -> None:
        for step, seconds in timings.items():
            self.step_seconds.labels(step).inc(seconds)

    def render(self, snapshots: Path | None = None) -> bytes:
        """The exposition; with ``snapshots``, merged with the capture workers' snapshots found there."""
        files = sorted(snapshots.glob("*.json")) if snapshots is not None and snapshots.is_dir() else []
        if not files:
            return generate_latest(self.registry)
        return generate_latest(_Merged(self.registry, files))

    def write_snapshot(self, path: Path) -> None:
        """This process's samples, for the owner to merge (replaced atomically)."""
        families = [_family(m) for m in self.registry.collect()]
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(families))
        os.replace(temporary, path)


class RouteTimer:
    """Observes request latencies by (method, route, status), keeping each labelled child: ``labels()``
    costs more than the observation itself."""

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._children: dict[tuple[str, str, int], Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._histogram.labels(method, route, str(status))
        child.observe(seconds)


def _family(m: Metric) -> list[Any]:
    return [m.name, m.documentation, m.type, m.unit, [[s.name, s.labels, s.value] for s in m.samples]]


class _Merged:
    """The owner's registry and the workers' snapshots as one collector: samples of the same name and labels
    are added up (``_created`` timestamps: the earliest; gauges: the owner's own values come first and the
    workers' are added, which is right for their sizes and counts)."""

    def __init__(self, registry: CollectorRegistry, files: list[Path]) -> None:
        self._registry = registry
        self._files = files

    def collect(self) -> Iterator[Metric]:
        families: dict[str, tuple[Metric, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] = {}
        for name, documentation, kind, unit, samples in self._sources():
            if name not in families:
                families[name] = (Metric(name, documentation, kind, unit), {})
            values = families[name][1]
            for sample_name, labels, value in samples:
                key = (sample_name, tuple(sorted(labels.items())))
                if key not in values:
                    values[key] = value
                elif sample_name.endswith("_created"):
                    values[key] = min(values[key], value)
                else:
                    values[key] += value
        for metric, values in families.values():
            for (sample_name, labels), value in values.items():
                metric.add_sample(sample_name, dict(labels), value)
            yield metric

    def _sources(self) -> Iterator[list[Any]]:
        for m in self._registry.collect():
            yield _family(m)
        for path in self._files:
            try:
                yield from orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # being replaced, or a worker that never wrote one: skip it this time
