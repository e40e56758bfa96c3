"""The job platform on a real SQLite file and a real PostgreSQL database: enqueue once, retries with backoff
to dead, admin retry and cancel, leases given back and fenced, schedules ticking once across workers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.integration.platform.jobs_kit import effects_seen, make_jobs, registry

from belvedere.platform.db import transaction
from belvedere.platform.errors import NotFound
from belvedere.platform.jobs import Jobs, JobStateError, ScheduleSpec, Worker
from belvedere.platform.jobs.models import Job

START = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # the eve of Europe's spring-forward


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jobs(metadata_url: str, clock: Clock) -> Jobs:
    made = make_jobs(metadata_url)
    made.clock = clock
    return made


def _worker(jobs: Jobs, **options: object) -> Worker:
    return Worker(jobs, queues=["default"], **options)  # type: ignore[arg-type]


def _seen(jobs: Jobs, job_id: int | None = None) -> int:
    statement = select(func.count()).select_from(effects_seen)
    if job_id is not None:
        statement = statement.where(effects_seen.c.job_id == job_id)
    with transaction(jobs.sessions) as session:
        return int(session.scalar(statement) or 0)


def test_the_same_key_enqueued_twice_is_one_job_that_runs_once(jobs: Jobs) -> None:
    first = jobs.enqueue("record", {"w": "a"}, key="order-42")
    second = jobs.enqueue("record", {"w": "b"}, key="order-42")
    other = jobs.enqueue("record", {"w": "c"})
    assert first.created and not second.created and second.id == first.id and other.id != first.id
    assert _worker(jobs, concurrency=5).run_once() == 2
    view = jobs.get(first.id)
    assert view is not None and view.status == "succeeded" and view.attempts == 1
    assert view.payload == {"w": "a"}
    assert [a.outcome for a in view.history] == ["succeeded"]
    assert _seen(jobs, first.id) == 1 and _seen(jobs) == 2


def test_enqueue_inside_a_transaction_that_rolls_back_leaves_no_job(jobs: Jobs) -> None:
    with pytest.raises(RuntimeError), transaction(jobs.sessions) as session:
        jobs.enqueue("record", {}, session=session)
        raise RuntimeError("the caller's work failed")
    assert jobs.list() == []


def test_bad_enqueues_are_refused_with_the_reason(jobs: Jobs) -> None:
    with pytest.raises(LookupError, match="no job is registered as 'nope'"):
        jobs.enqueue("nope")
    with pytest.raises(ValueError, match="payload must be JSON"):
        jobs.enqueue("record", {"x": object()})
    with pytest.raises(ValueError, match="at most 65,536"):
        jobs.enqueue("record", {"x": "y" * 70_000})
    with pytest.raises(ValueError, match="1 to 200 characters"):
        jobs.enqueue("record", key="k" * 201)
    assert jobs.list() == []


def test_failures_back_off_then_die_with_their_error_and_an_admin_retry_runs_it_again(
    jobs: Jobs, clock: Clock
) -> None:
    ref = jobs.enqueue("flaky", {"succeed_on": 5})
    worker = _worker(jobs)
    assert worker.run_once() == 1
    view = jobs.get(ref.id)
    assert view is not None and view.status == "failed" and view.attempts == 1
    assert "flaky failure on attempt 1" in (view.last_error or "")
    # Full jitter: the second attempt is due within [0, 10 s] of the failure (base 10 s).
    assert START <= view.run_at <= START + timedelta(seconds=10)
    clock.advance(seconds=10)
    assert worker.run_once() == 1
    view = jobs.get(ref.id)
    assert view is not None and view.status == "failed" and view.run_at <= clock.now + timedelta(seconds=20)
    clock.advance(seconds=20)
    assert worker.run_once() == 1
    view = jobs.get(ref.id)
    assert view is not None and view.status == "dead" and view.attempts == 3
    assert "flaky failure on attempt 3" in (view.last_error or "")
    assert [a.outcome for a in view.history] == ["failed", "failed", "dead"]
    clock.advance(hours=1)
    assert worker.run_once() == 0  # dead stays dead
    with pytest.raises(JobStateError, match="only a pending or failed job can be cancelled"):
        jobs.cancel(ref.id)

    retried = jobs.retry(ref.id)
    assert retried.status == "pending" and retried.max_attempts == 6
    for _ in range(2):  # attempts 4 (fails) and 5 (succeeds)
        assert worker.run_once() == 1
        clock.advance(seconds=100)
    view = jobs.get(ref.id)
    assert view is not None and view.status == "succeeded" and view.attempts == 5
    assert [a.outcome for a in view.history][-2:] == ["failed", "succeeded"]
    assert _seen(jobs, ref.id) == 1
    with pytest.raises(JobStateError, match="only a dead or failed job can be retried"):
        jobs.retry(ref.id)


def test_a_permanent_error_is_dead_at_once_and_cancel_stops_a_waiting_job(jobs: Jobs, clock: Clock) -> None:
    refused = jobs.enqueue("refuse")
    later = jobs.enqueue("record", run_at=clock.now + timedelta(hours=1))
    assert _worker(jobs).run_once() == 1
    view = jobs.get(refused.id)
    assert view is not None and view.status == "dead" and view.attempts == 1
    assert view.last_error == "the input is wrong: no retry can fix it"
    cancelled = jobs.cancel(later.id, by="ann@example.com")
    assert cancelled.status == "dead" and cancelled.last_error == "cancelled by ann@example.com"
    clock.advance(hours=2)
    assert _worker(jobs).run_once() == 0
    assert _seen(jobs) == 0


def test_a_job_whose_worker_died_is_given_back_and_a_stale_worker_cannot_finish_it(
    jobs: Jobs, clock: Clock
) -> None:
    ref = jobs.enqueue("record", {"w": "first"})
    stale = _worker(jobs, lease=timedelta(seconds=30), name="stale")
    (claim,) = stale.claim(1)  # it claims the job, then stalls past its lease
    clock.advance(seconds=31)
    other = _worker(jobs, lease=timedelta(seconds=30), name="other")
    assert other.run_once() == 1  # reaps the lost lease, claims again, runs it
    view = jobs.get(ref.id)
    assert view is not None and view.status == "succeeded" and view.attempts == 2
    assert [(a.worker, a.outcome) for a in view.history] == [("stale", "lost"), ("other", "succeeded")]
    # The stale worker wakes up and runs the job it claimed: its write is rolled back, its outcome refused.
    assert stale.execute(claim) == "lost"
    assert _seen(jobs, ref.id) == 1
    view = jobs.get(ref.id)
    assert view is not None and view.status == "succeeded"


def test_a_lost_lease_on_the_last_attempt_is_dead(jobs: Jobs, clock: Clock) -> None:
    ref = jobs.enqueue("record")
    worker = _worker(jobs, lease=timedelta(seconds=5))
    for _ in range(3):  # max_attempts of "record"
        assert len(worker.claim(1)) == 1
        clock.advance(seconds=6)
        worker.housekeeping(clock.now)
    view = jobs.get(ref.id)
    assert view is not None and view.status == "dead" and view.last_error is not None
    assert "lease expired" in view.last_error
    assert [a.outcome for a in view.history] == ["lost", "lost", "lost"]


def test_list_filters_pages_and_stats(jobs: Jobs, clock: Clock) -> None:
    ids = [jobs.enqueue("record", org_id=1 if i % 2 else 2).id for i in range(5)]
    jobs.enqueue("refuse", org_id=1)
    assert [v.id for v in jobs.list(name="record", limit=2)] == ids[::-1][:2]
    assert [v.id for v in jobs.list(name="record", before_id=ids[2])] == ids[1::-1]
    assert {v.id for v in jobs.list(org_id=1, name="record")} == {ids[1], ids[3]}
    assert jobs.get(ids[0], org_id=1) is None and jobs.get(ids[1], org_id=1) is not None
    with pytest.raises(NotFound, match=f"There is no job {ids[0]}"):
        jobs.retry(ids[0], org_id=1)
    clock.advance(seconds=90)
    stats = jobs.stats()
    assert stats.counts == {("default", "pending"): 6}
    assert stats.oldest_due_seconds == {"default": 90.0}
    _worker(jobs, concurrency=10).run_once()
    assert jobs.stats().counts == {("default", "succeeded"): 5, ("default", "dead"): 1}
    assert jobs.stats().oldest_due_seconds == {}


def test_a_schedule_ticks_once_when_several_workers_race_and_once_after_downtime(
    jobs: Jobs, clock: Clock
) -> None:
    registry.schedule(ScheduleSpec("hourly-record", "record", every=timedelta(hours=1)))
    try:
        workers = [_worker(jobs, name=f"w{i}") for i in range(3)]
        for w in workers:
            w.sync_schedules()
        clock.advance(hours=1)
        barrier = threading.Barrier(3)

        def race(w: Worker) -> None:
            barrier.wait()
            w.housekeeping(clock.now)

        threads = [threading.Thread(target=race, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        (tick,) = jobs.list(name="record")
        assert tick.payload == {"scheduled_for": "2026-03-29T00:30:00+00:00"}
        assert tick.idempotency_key == "sched:hourly-record:2026-03-29T00:30:00+00:00"
        clock.advance(hours=3, minutes=10)  # three ticks missed while nothing ran: one run, phase kept
        workers[0].housekeeping(clock.now)
        workers[1].housekeeping(clock.now)
        assert [v.payload["scheduled_for"] for v in jobs.list(name="record")] == [
            "2026-03-29T03:30:00+00:00",
            "2026-03-29T00:30:00+00:00",
        ]
        clock.advance(minutes=49)
        workers[2].housekeeping(clock.now)
        assert len(jobs.list(name="record")) == 2  # 04:29: the next tick is 04:30
    finally:
        registry.schedules.pop("hourly-record")


def test_a_cron_schedule_runs_at_local_time_across_the_change_to_summer_time(
    jobs: Jobs, clock: Clock
) -> None:
    registry.schedule(ScheduleSpec("paris-9am", "record", cron="0 9 * * *", tz="Europe/Paris"))
    try:
        worker = _worker(jobs)
        worker.sync_schedules()
        seen: list[str] = []
        for _ in range(3):  # 28, 29 (the clocks go forward) and 30 March
            clock.advance(days=1)
            worker.housekeeping(clock.now)
        seen = sorted(v.payload["scheduled_for"] for v in jobs.list(name="record"))
        # 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer; the clock starts 28 March 23:30 UTC.
        assert seen == ["2026-03-29T07:00:00+00:00", "2026-03-30T07:00:00+00:00", "2026-03-31T07:00:00+00:00"]
    finally:
        registry.schedules.pop("paris-9am")


def test_jobs_table_holds_what_enqueue_wrote(jobs: Jobs, clock: Clock) -> None:
    ref = jobs.enqueue("record", {"w": "x"}, key="k1", org_id=3, project_id=7, priority=2)
    with transaction(jobs.sessions) as session:
        job = session.get(Job, ref.id)
        assert job is not None
        assert (job.queue, job.status, job.max_attempts, job.timeout_seconds) == (
            "default",
            "pending",
            3,
            300,
        )
        assert (job.org_id, job.project_id, job.priority) == (3, 7, 2)
