"""What jobs and schedules exist: handlers register with ``@job``, recurring work with ``schedule``.

A job's handler takes a ``JobContext`` and returns nothing; what it writes through ``ctx.session`` commits
only with its success. Raise ``Permanent`` for an error that retrying cannot fix (bad input, a receiver's
4xx): the job goes straight to ``dead``. Any other exception is retried with backoff.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from belvedere.platform.jobs.context import JobContext

QUEUES = ("default", "notify", "store")  # `store` reads the event store: only the server takes it (DuckDB)


class Permanent(Exception):
    """An error that another attempt would meet again: the job is dead at once."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits a uniform time in [0, min(cap, base·2^(n-1))],
    so that jobs failing together do not come back together. After ``max_attempts`` runs, the job is dead."""

    max_attempts: int = 5
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)

    def ceiling(self, attempt: int) -> timedelta:
        exponent = min(max(attempt - 1, 0), 40)  # 2^40 base-periods exceeds any cap; keeps the float finite
        return min(self.cap, self.base * (1 << exponent))

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        return self.ceiling(attempt) * rng.random()


Handler = Callable[["JobContext"], None]


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    handler: Handler
    queue: str = "default"
    retry: RetryPolicy = RetryPolicy()
    timeout: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A recurring job: ``cron`` (five fields, read in ``tz``) or ``every`` (an interval)."""

    name: str
    job: str
    cron: str | None = None
    every: timedelta | None = None
    tz: str = "UTC"
    payload: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every is None):
            raise ValueError(f"schedule {self.name!r}: give exactly one of cron and every")
        if self.every is not None and self.every < timedelta(seconds=1):
            raise ValueError(f"schedule {self.name!r}: every must be at least a second")


class Registry:
    """Jobs and schedules by name. The process-wide ``REGISTRY`` holds Belvedere's own; tests build their
    own registry so that their jobs stay theirs."""

    def __init__(self) -> None:
        self.jobs: dict[str, JobSpec] = {}
        self.schedules: dict[str, ScheduleSpec] = {}

    def job(
        self,
        name: str,
        *,
        queue: str = "default",
        retry: RetryPolicy | None = None,
        timeout: timedelta = timedelta(minutes=5),
    ) -> Callable[[Handler], Handler]:
        if queue not in QUEUES:
            raise ValueError(f"job {name!r}: queue {queue!r} is not one of {', '.join(QUEUES)}")

        def register(handler: Handler) -> Handler:
            if name in self.jobs and self.jobs[name].handler is not handler:
                raise ValueError(f"job {name!r} is registered twice")
            self.jobs[name] = JobSpec(name, handler, queue, retry or RetryPolicy(), timeout)
            return handler

        return register

    def schedule(self, spec: ScheduleSpec) -> None:
        self.schedules[spec.name] = spec

    def spec(self, name: str) -> JobSpec:
        try:
            return self.jobs[name]
        except KeyError:
            raise LookupError(f"no job is registered as {name!r}") from None


REGISTRY = Registry()
job = REGISTRY.job
