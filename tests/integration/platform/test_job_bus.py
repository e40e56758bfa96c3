"""The domain event bus: listeners are jobs enqueued with the publisher's transaction, each heard once, a
failing one retried alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.integration.platform.jobs_kit import make_jobs, registry

from belvedere.platform.db import transaction
from belvedere.platform.jobs import JobContext, Jobs, RetryPolicy, Worker
from belvedere.platform.jobs.bus import Bus, DomainEvent

HEARD: list[tuple[str, str]] = []
bus = Bus(registry)


@bus.listen("export.finished", "tidy", retry=RetryPolicy(max_attempts=2, base=timedelta(milliseconds=1)))
def tidy(ctx: JobContext, event: DomainEvent) -> None:
    HEARD.append(("tidy", event.payload["file"]))


@bus.listen("export.finished", "broken", retry=RetryPolicy(max_attempts=2, base=timedelta(milliseconds=1)))
def broken(ctx: JobContext, event: DomainEvent) -> None:
    raise RuntimeError("this listener always fails")


@pytest.fixture
def jobs(metadata_url: str) -> Jobs:
    HEARD.clear()
    return make_jobs(metadata_url)


def test_each_listener_hears_a_committed_event_once_and_a_failing_one_alone_retries(jobs: Jobs) -> None:
    event = DomainEvent("export.finished", {"file": "march.csv"}, org_id=4, project_id=9)
    with transaction(jobs.sessions) as session:
        refs = bus.publish(session, event, jobs)
        again = bus.publish(session, event, jobs)  # the same event twice: the same jobs
    assert [r.id for r in again] == [r.id for r in refs] and not any(r.created for r in again)
    worker = Worker(jobs, queues=["default"], concurrency=4)
    assert worker.run_once() == 2
    assert worker.run_once() == 1  # the failing listener's retry
    assert HEARD == [("tidy", "march.csv")]
    views = {v.name: v for v in jobs.list()}
    assert views["on:export.finished:tidy"].status == "succeeded"
    failed = views["on:export.finished:broken"]
    assert failed.status == "dead" and failed.attempts == 2 and "always fails" in (failed.last_error or "")
    assert failed.payload["id"] == event.id and failed.org_id == 4 and failed.project_id == 9


def test_an_event_published_by_a_change_that_rolls_back_is_never_heard(jobs: Jobs) -> None:
    with pytest.raises(RuntimeError), transaction(jobs.sessions) as session:
        bus.publish(session, DomainEvent("export.finished", {"file": "x"}), jobs)
        raise RuntimeError("the publisher's change failed")
    assert jobs.list() == []


def test_unknown_events_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown domain event 'export\.started'"):
        bus.listen("export.started", "x")
