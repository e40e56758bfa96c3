"""The job platform: a durable queue and scheduler in the metadata database (docs/design/jobs-platform.md)."""

from belvedere.platform.jobs.context import JobContext
from belvedere.platform.jobs.queue import STATUSES, JobRef, Jobs, JobStateError, JobView, QueueStats, Status
from belvedere.platform.jobs.registry import (
    QUEUES,
    REGISTRY,
    Permanent,
    Registry,
    RetryPolicy,
    ScheduleSpec,
    job,
)
from belvedere.platform.jobs.worker import Worker

__all__ = [
    "QUEUES",
    "REGISTRY",
    "STATUSES",
    "JobContext",
    "JobRef",
    "JobStateError",
    "JobView",
    "Jobs",
    "Permanent",
    "QueueStats",
    "Registry",
    "RetryPolicy",
    "ScheduleSpec",
    "Status",
    "Worker",
    "job",
]
