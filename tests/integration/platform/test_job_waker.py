"""Waking workers through Redis: a job enqueued in one process starts in another at once, not at the next
poll; with Redis gone, nothing is lost and the poll still finds every job."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from pathlib import Path

from tests.integration.platform.jobs_kit import make_jobs, registry
from tests.waiting import eventually

from belvedere.platform.db import make_engine, make_session_factory
from belvedere.platform.jobs import Jobs, Worker
from belvedere.platform.jobs.waker import RedisWaker

REDIS_URL = "redis://127.0.0.1:6379/0"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pair(url: str, redis_url: str) -> tuple[Jobs, Jobs]:
    """Two queues over one database, as two processes would have: one enqueues, one works."""
    enqueuer = make_jobs(url)
    enqueuer.waker = RedisWaker(redis_url)
    working = Jobs(make_session_factory(make_engine(url)), registry, waker=RedisWaker(redis_url))
    return enqueuer, working


def _status(jobs: Jobs, job_id: int) -> str:
    view = jobs.get(job_id)
    return view.status if view else "missing"


def test_a_job_enqueued_elsewhere_wakes_an_idle_worker_at_once(tmp_path: Path) -> None:
    enqueuer, working = _pair(f"sqlite:///{tmp_path / 'meta.db'}", REDIS_URL)
    worker = Worker(working, queues=["default"], poll=30.0, housekeeping=timedelta(hours=1))
    worker.start()
    try:
        time.sleep(0.3)  # the worker has claimed nothing and waits on Redis
        begun = time.monotonic()
        ref = enqueuer.enqueue("record", {"w": "woken"})
        assert eventually(lambda: _status(enqueuer, ref.id) == "succeeded", timeout=10)
        assert time.monotonic() - begun < 10  # the poll alone would take 30 s
    finally:
        worker.stop()
        enqueuer.waker.close()
        working.waker.close()


def test_without_redis_enqueue_works_and_the_poll_still_runs_the_job(tmp_path: Path) -> None:
    down = f"redis://127.0.0.1:{_closed_port()}/0"
    enqueuer, working = _pair(f"sqlite:///{tmp_path / 'meta.db'}", down)
    worker = Worker(working, queues=["default"], poll=0.3)
    worker.start()
    try:
        ref = enqueuer.enqueue("record", {"w": "polled"})  # the failed wake-up is only logged
        assert eventually(lambda: _status(enqueuer, ref.id) == "succeeded", timeout=10)
    finally:
        worker.stop()
