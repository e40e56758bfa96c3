"""`belvedere worker` SIGKILLed in the middle of an alert's webhook delivery, on SQLite and PostgreSQL:
another worker delivers it, and the receiver, which de-duplicates by delivery id, accepts it once (the wire
sees it twice: at least once, never lost)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.conftest import TEST_SECRET
from tests.e2e.server_kit import env_for
from tests.integration.platform.receiver_kit import Received, receiving
from tests.integration.platform.test_job_workers import write_lock
from tests.waiting import eventually

from belvedere.accounts.plans import Plans
from belvedere.accounts.projects import create_for_operator
from belvedere.config import Settings
from belvedere.job_catalog import load_handlers, provide
from belvedere.notify import deliveries
from belvedere.notify.channels import WebhookChannel
from belvedere.notify.models import Delivery
from belvedere.notify.signing import verify
from belvedere.platform import migrate
from belvedere.platform.db import make_engine, make_session_factory, transaction
from belvedere.platform.jobs import Jobs
from belvedere.platform.jobs.upkeep import build_jobs
from belvedere.platform.mail import Mailer

pytestmark = pytest.mark.slow
SECRET = "whsec_the-receiver-knows-this-one"


@contextmanager
def worker(data_dir: Path, url: str) -> Iterator[subprocess.Popen[str]]:
    env = env_for(
        data_dir,
        BELVEDERE_DATABASE_URL=url,
        BELVEDERE_OUTBOUND__ALLOW_PRIVATE_NETWORKS="true",
        BELVEDERE_JOBS__LEASE_SECONDS="5",
        BELVEDERE_JOBS__POLL_SECONDS="0.1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "belvedere", "worker", "--queue", "notify"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        while (line := process.stdout.readline()) and "taking jobs from notify" not in line:
            pass
        assert line, "the worker ended before it was ready"
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _queue_alert(url: str, receiver_url: str) -> tuple[Jobs, int]:
    settings = Settings(env="test", secret_key=TEST_SECRET, database_url=url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    load_handlers()
    jobs = build_jobs(settings.jobs, make_session_factory(engine))
    _, channels = provide(jobs, settings, Plans(settings.plans), Mailer(settings.mail))
    with transaction(jobs.sessions) as session:
        project, _ = create_for_operator(
            session, organisation="Crash", name="Site", plans=Plans(settings.plans)
        )
        draft = WebhookChannel(type="webhook", name="Ops", url=receiver_url, secret=SECRET)
        channel, _ = channels.create(
            session, project_id=project.project.id, plan="unlimited", draft=draft, user_id=None
        )
        message = {
            "kind": "transition",
            "title": "Firing: Signups",
            "alert": {"id": 1, "name": "Signups", "url": "http://x/alerts/1"},
            "project_id": project.project.id,
            "state": "firing",
            "previous_state": "ok",
            "value": 3.0,
            "threshold": 2.0,
            "metric": "signup (count)",
            "condition": "above 2",
            "bucket": {"start": "2026-12-07T01:00:00+00:00", "end": "2026-12-07T02:00:00+00:00"},
            "fired_at": "2026-12-07T02:01:00+00:00",
        }
        delivery = deliveries.queue(
            session,
            jobs,
            channel=channel,
            kind="firing",
            message=message,
            key="alert:1:1:1",
            org_id=project.project.organisation_id,
        )
        delivery_id = delivery.id
    return jobs, delivery_id


@pytest.mark.parametrize("moment", ["during the request", "after the answer, before it is recorded"])
def test_a_worker_killed_mid_delivery_leaves_it_to_another_and_the_receiver_gets_it_once(
    tmp_path: Path, metadata_url: str, moment: str
) -> None:
    with receiving() as receiver:
        jobs, delivery_id = _queue_alert(metadata_url, receiver.url)
        first = worker(tmp_path, metadata_url)
        process = first.__enter__()
        held: list[object] = []

        def kill_it(_: Received) -> None:
            if len(receiver.requests) > 1:
                return
            if moment == "during the request":
                os.kill(process.pid, signal.SIGKILL)
                return
            lock = write_lock(metadata_url, "deliveries")
            lock.__enter__()  # the worker, holding the 2xx, waits for it to record the delivery
            held.append(lock)

        receiver.before_answer = kill_it
        try:
            assert eventually(lambda: bool(held) or process.poll() is not None, timeout=30)
            if held:
                time.sleep(0.5)
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
                held[0].__exit__(None, None, None)  # type: ignore[attr-defined]
            assert process.wait(10) == -signal.SIGKILL
            with worker(tmp_path, metadata_url):
                done = lambda: (jobs.list(name="notify.deliver") or [None])[0]  # noqa: E731
                assert eventually(
                    lambda: getattr(done(), "status", "") == "succeeded", timeout=40, interval=0.1
                )
        finally:
            first.__exit__(None, None, None)
    assert len(receiver.requests) == 2  # at least once on the wire
    ids = receiver.unique("Belvedere-Delivery-Id")
    assert len(ids) == 1  # exactly once for a receiver that de-duplicates
    for got in receiver.requests:
        assert verify(SECRET, got.headers["belvedere-signature"], got.body, int(time.time()))
        assert got.json()["id"] in ids and got.json()["state"] == "firing"
    with transaction(jobs.sessions) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("sent", 2, 200)
    (job,) = jobs.list(name="notify.deliver")
    view = jobs.get(job.id)
    assert view is not None and [a.outcome for a in view.history] == ["lost", "succeeded"]
