"""Belvedere's own jobs about jobs, and how a process builds its queue and worker from the settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from belvedere.config import JobSettings
from belvedere.platform.jobs import claims
from belvedere.platform.jobs.context import JobContext
from belvedere.platform.jobs.queue import Jobs
from belvedere.platform.jobs.registry import REGISTRY, RetryPolicy, ScheduleSpec, job
from belvedere.platform.jobs.waker import LocalWaker, RedisWaker, Waker
from belvedere.platform.jobs.worker import Worker

PURGE = "jobs.purge"


@job(PURGE, retry=RetryPolicy(max_attempts=3))
def purge_finished_jobs(ctx: JobContext) -> None:
    """Forget succeeded jobs (and effects) older than ``keep_days``; dead jobs wait for an administrator."""
    claims.purge(ctx.session, ctx.now - timedelta(days=int(ctx.payload["keep_days"])))


def build_jobs(settings: JobSettings, sessions: sessionmaker[Session]) -> Jobs:
    waker: Waker = RedisWaker(settings.wake_url) if settings.wake_url else LocalWaker()
    REGISTRY.schedule(
        ScheduleSpec(PURGE, PURGE, every=timedelta(hours=1), payload={"keep_days": settings.keep_days})
    )
    return Jobs(sessions, REGISTRY, waker=waker)


def build_worker(settings: JobSettings, jobs: Jobs, queues: Sequence[str], **options: object) -> Worker:
    return Worker(
        jobs,
        queues=queues,
        concurrency=settings.concurrency,
        lease=timedelta(seconds=settings.lease_seconds),
        poll=settings.poll_seconds,
        **options,  # type: ignore[arg-type]
    )
