"""Job workers as real processes on SQLite and PostgreSQL: four of them drain one queue with every job's
effect committed once, and a worker SIGKILLed in the middle of a delivery leaves a job that another worker
completes, with the delivery accepted once by a receiver that de-duplicates by id."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import distinct, func, make_url, select
from tests.integration.platform.jobs_kit import effects_seen, make_jobs
from tests.integration.platform.receiver_kit import Received, receiving
from tests.waiting import eventually

from belvedere.platform.db import transaction
from belvedere.platform.jobs import Jobs

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def worker_process(url: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.platform.jobs_kit", url, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        while (line := process.stdout.readline()) and line.strip() != "ready":
            pass  # its log lines
        assert line, "the worker process ended before it was ready"
        yield process
    finally:
        if process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()  # asks it to stop
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _done(jobs: Jobs, count: int) -> bool:
    return jobs.stats().counts.get(("default", "succeeded"), 0) >= count


def test_four_worker_processes_drain_a_queue_and_commit_each_effect_once(metadata_url: str) -> None:
    jobs = make_jobs(metadata_url)
    total = 2000
    with transaction(jobs.sessions) as session:  # one transaction: the setup is not what is measured
        for i in range(total):
            jobs.enqueue("record", {"i": i}, session=session)
    names = [f"w{i}" for i in range(4)]
    with (
        worker_process(metadata_url, "--name", names[0]),
        worker_process(metadata_url, "--name", names[1]),
        worker_process(metadata_url, "--name", names[2]),
        worker_process(metadata_url, "--name", names[3]),
    ):
        assert eventually(lambda: _done(jobs, total), timeout=180, interval=0.2)
    with transaction(jobs.sessions) as session:
        rows = session.scalar(select(func.count()).select_from(effects_seen))
        distinct_jobs = session.scalar(select(func.count(distinct(effects_seen.c.job_id))))
    assert rows == total and distinct_jobs == total
    stats = jobs.stats()
    assert stats.counts == {("default", "succeeded"): total}
    workers = {v.history[0].worker for v in [jobs.get(j.id) for j in jobs.list(limit=200)] if v}
    assert len(workers) > 1, "the jobs should be shared between the workers"


@contextmanager
def write_lock(url: str, table: str = "job_effects") -> Iterator[None]:
    """Hold the metadata database's write lock (SQLite: all of it; PostgreSQL: on ``table``), so that a
    worker recording what it did waits."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(
            make_url(url).database or "", isolation_level=None, timeout=10, check_same_thread=False
        )
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection:
        connection.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield
        connection.rollback()


@pytest.mark.parametrize("moment", ["during the request", "after the answer, before it is recorded"])
def test_a_worker_killed_mid_delivery_leaves_the_job_to_another_which_delivers_it_once(
    metadata_url: str, moment: str
) -> None:
    jobs = make_jobs(metadata_url)
    with receiving() as receiver:
        ref = jobs.enqueue("deliver", {"url": receiver.url, "n": 1})
        first = worker_process(metadata_url, "--lease", "2", "--name", "doomed")
        process = first.__enter__()
        locked: list[object] = []

        def kill_it(_: Received) -> None:
            if len(receiver.requests) > 1:
                return  # the second worker's delivery is answered normally
            if moment == "during the request":
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return
            lock = write_lock(metadata_url)
            lock.__enter__()  # the worker will wait on it to record the effect
            locked.append(lock)

        receiver.before_answer = kill_it
        try:
            assert eventually(lambda: bool(locked) or process.poll() is not None, timeout=20)
            if locked:
                time.sleep(0.5)  # the worker has the 2xx and waits for the lock
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                locked[0].__exit__(None, None, None)  # type: ignore[attr-defined]
            assert process.wait(20) == -signal.SIGKILL
            with worker_process(metadata_url, "--lease", "2", "--name", "survivor"):
                assert eventually(lambda: _done(jobs, 1), timeout=30, interval=0.1)
        finally:
            first.__exit__(None, None, None)
    view = jobs.get(ref.id)
    assert view is not None and view.status == "succeeded" and view.attempts == 2
    assert [(a.worker, a.outcome) for a in view.history] == [("doomed", "lost"), ("survivor", "succeeded")]
    assert len(receiver.requests) == 2  # at least once on the wire
    assert receiver.unique("Delivery-Id") == {f"deliver:{ref.id}"}  # exactly once for the receiver
