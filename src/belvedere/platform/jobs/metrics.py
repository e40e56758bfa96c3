"""The queue in ``/metrics``: jobs by queue and status and the wait of the oldest due job, read from the
database when scraped (at most every few seconds). Runs and their durations are counted by each process
(``Metrics.observe_job``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from belvedere.platform.jobs.queue import STATUSES, Jobs, QueueStats
from belvedere.platform.jobs.registry import QUEUES


class QueueCollector:
    NAMES = ("belvedere_jobs", "belvedere_jobs_oldest_due_seconds")

    def __init__(self, jobs: Jobs, cache_seconds: float = 5.0) -> None:
        self._jobs = jobs
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._read: tuple[float, QueueStats] | None = None

    def _stats(self) -> QueueStats:
        with self._lock:
            if self._read is None or time.monotonic() - self._read[0] > self._cache_seconds:
                self._read = (time.monotonic(), self._jobs.stats())
            return self._read[1]

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        jobs = GaugeMetricFamily("belvedere_jobs", "Jobs in the queue by status", labels=["queue", "status"])
        for queue in QUEUES:
            for status in STATUSES:
                jobs.add_metric([queue, status], stats.counts.get((queue, status), 0))
        oldest = GaugeMetricFamily(
            "belvedere_jobs_oldest_due_seconds", "How long the oldest due job has waited", labels=["queue"]
        )
        for queue in QUEUES:
            oldest.add_metric([queue], stats.oldest_due_seconds.get(queue, 0.0))
        yield jobs
        yield oldest

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected on demand only: no database query at registration
