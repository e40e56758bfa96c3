"""The server runs jobs in-process; an organisation's admins see its jobs, retry a dead one and cancel a
waiting one through the API, and /metrics shows the queue."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from tests.integration.accounts.kit import build_world, fast_settings
from tests.integration.capture_kit import running
from tests.waiting import eventually

from belvedere.platform.jobs import REGISTRY, JobContext, Permanent

FLIP = "test.flip"
OUTCOMES: dict[int, list[str]] = {}  # job id → outcomes scripted by the test, first one first


@REGISTRY.job(FLIP)
def flip(ctx: JobContext) -> None:
    if OUTCOMES.get(ctx.id, ["ok"]).pop(0) == "refuse":
        raise Permanent(f"refused on attempt {ctx.attempt}")


def test_admins_see_retry_and_cancel_their_organisation_s_jobs(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, jobs={"poll_seconds": 0.05})
    with running(settings) as app:
        world = build_world(app)
        jobs = app.runtime.jobs
        admin = world.people["admin"].auth()
        base = f"/api/v1/orgs/{world.org_id}/jobs"
        refused = jobs.enqueue(FLIP, {"why": "test"}, org_id=world.org_id, project_id=world.project_id)
        OUTCOMES[refused.id] = ["refuse", "ok"]
        later = jobs.enqueue(FLIP, org_id=world.org_id, run_at=jobs.clock() + timedelta(days=1))
        theirs = jobs.enqueue(FLIP, org_id=world.other_org_id, run_at=jobs.clock() + timedelta(days=1))

        def status(job_id: int) -> str:
            return str(app.client.get(f"{base}/{job_id}", headers=admin).json()["status"])

        assert eventually(lambda: status(refused.id) == "dead", timeout=10)
        listed = app.client.get(base, headers=admin).json()["results"]
        assert [j["id"] for j in listed] == [later.id, refused.id]  # newest first; not the other org's
        dead = app.client.get(base, params={"status": "dead"}, headers=admin).json()["results"]
        assert [(j["id"], j["last_error"]) for j in dead] == [(refused.id, "refused on attempt 1")]
        one = app.client.get(f"{base}/{refused.id}", headers=admin).json()
        assert one["payload"] == {"why": "test"} and one["project_id"] == world.project_id
        assert [(a["attempt"], a["outcome"]) for a in one["history"]] == [(1, "dead")]

        retried = app.client.post(f"{base}/{refused.id}/retry", headers=admin)
        # Pending again, and the server's worker, woken at once, may already be running it.
        assert retried.status_code == 200 and retried.json()["status"] in ("pending", "running", "succeeded")
        assert eventually(lambda: status(refused.id) == "succeeded", timeout=10)
        again = app.client.post(f"{base}/{refused.id}/retry", headers=admin)
        assert again.status_code == 409 and again.json()["error"]["code"] == "job_state"
        assert "only a dead or failed job can be retried" in again.json()["error"]["message"]

        cancelled = app.client.post(f"{base}/{later.id}/cancel", headers=admin)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "dead"
        assert cancelled.json()["last_error"] == f"cancelled by user {world.people['admin'].user_id}"

        # Another organisation's job does not exist here; bad filters are refused.
        assert app.client.get(f"{base}/{theirs.id}", headers=admin).status_code == 404
        assert app.client.post(f"{base}/{theirs.id}/cancel", headers=admin).status_code == 404
        assert app.client.get(base, params={"status": "lost"}, headers=admin).status_code == 422
        assert app.client.get(base, params={"limit": 0}, headers=admin).status_code == 422

        metrics = app.client.get("/metrics").text
        # The purge schedule's first tick is an hour away: only the test's jobs are in the queue.
        assert 'belvedere_jobs{queue="default",status="succeeded"} 1.0' in metrics
        assert 'belvedere_jobs{queue="default",status="dead"} 1.0' in metrics
        assert 'belvedere_jobs{queue="default",status="pending"} 1.0' in metrics  # the other org's
        assert 'belvedere_job_runs_total{name="test.flip",outcome="dead"} 1.0' in metrics
        assert 'belvedere_job_runs_total{name="test.flip",outcome="succeeded"} 1.0' in metrics
        assert re.search(r'belvedere_jobs_oldest_due_seconds\{queue="default"\} 0\.0', metrics)


def test_the_jobs_page_lists_retries_and_cancels_for_admins_only(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, jobs={"poll_seconds": 0.05})
    with running(settings) as app:
        world = build_world(app)
        jobs = app.runtime.jobs
        admin = world.people["admin"].auth()
        refused = jobs.enqueue(FLIP, org_id=world.org_id)
        OUTCOMES[refused.id] = ["refuse", "ok"]
        later = jobs.enqueue(FLIP, org_id=world.org_id, run_at=jobs.clock() + timedelta(days=1))
        base = f"/app/orgs/{world.org_id}/jobs"

        def status(job_id: int) -> str:
            view = jobs.get(job_id)
            return view.status if view else "missing"

        assert eventually(lambda: status(refused.id) == "dead", timeout=10)
        listed = app.client.get(base, headers=admin)
        assert listed.status_code == 200
        assert f"#{refused.id} test.flip" in listed.text and "<strong>dead</strong>" in listed.text
        assert "refused on attempt 1" in listed.text and "Dead (1)" in listed.text
        dead_only = app.client.get(base, params={"status": "dead"}, headers=admin).text
        assert f"#{refused.id} " in dead_only and f"#{later.id} " not in dead_only
        retried = app.client.post(f"{base}/{refused.id}/retry", headers=admin)
        assert retried.status_code == 200 and "runs again" in retried.text
        assert eventually(lambda: status(refused.id) == "succeeded", timeout=10)
        cancelled = app.client.post(f"{base}/{later.id}/cancel", headers=admin)
        assert "is cancelled" in cancelled.text and status(later.id) == "dead"
        again = app.client.post(f"{base}/{later.id}/cancel", headers=admin)
        assert again.status_code == 409 and "only a pending or failed job can be cancelled" in again.text
        assert app.client.get(base, headers=world.people["member"].auth()).status_code == 403
        assert app.client.get(base, headers=world.people["outsider"].auth()).status_code == 404
        settings_page = app.client.get(f"/app/orgs/{world.org_id}/settings", headers=admin).text
        assert f'href="/app/orgs/{world.org_id}/jobs"' in settings_page
