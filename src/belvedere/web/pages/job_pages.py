"""The organisation's background jobs, for its admins: what is queued, running, failed or dead (alert
evaluations, deliveries, listeners), each with its attempts; a dead job can be retried and a waiting one
cancelled. The same use cases as the JSON API (``platform.jobs.Jobs``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from belvedere.platform.errors import BelvedereError
from belvedere.platform.jobs import STATUSES, Status
from belvedere.web.access import Admin, RuntimeDep
from belvedere.web.ids import PathId
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
JOBS = "/app/orgs/{org_id}/jobs"


def _jobs(
    request: Request, runtime: Any, grant: Any, status: Status | None, code: int = 200, **extra: Any
) -> Response:
    views = runtime.jobs.list(status=status, org_id=grant.org.id, limit=100)
    counts: dict[str, int] = {}
    for view in runtime.jobs.list(org_id=grant.org.id, limit=500):
        counts[view.status] = counts.get(view.status, 0) + 1
    return page(
        request,
        "org_jobs.html",
        code,
        **nav(runtime, grant),
        project=None,
        jobs=views,
        shown=status,
        statuses=STATUSES,
        counts=counts,
        **extra,
    )


@router.get(JOBS)
def org_jobs(
    grant: Admin, request: Request, runtime: RuntimeDep, status: Annotated[Status | None, Query()] = None
) -> Response:
    return _jobs(request, runtime, grant, status)


def _act(request: Request, runtime: Any, grant: Any, job_id: int, action: str) -> Response:
    try:
        if action == "retry":
            view = runtime.jobs.retry(job_id, org_id=grant.org.id)
            notice = f"Job {view.id} ({view.name}) runs again."
        else:
            view = runtime.jobs.cancel(job_id, org_id=grant.org.id, by=f"user {grant.user_id}")
            notice = f"Job {view.id} ({view.name}) is cancelled."
    except BelvedereError as exc:
        return _jobs(request, runtime, grant, None, exc.status, error=exc.message)
    return _jobs(request, runtime, grant, None, notice=notice)


@router.post(JOBS + "/{job_id}/retry")
def retry_job(job_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(request, runtime, grant, job_id, "retry")


@router.post(JOBS + "/{job_id}/cancel")
def cancel_job(job_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(request, runtime, grant, job_id, "cancel")
