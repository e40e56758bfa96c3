"""An organisation's background jobs (alert evaluations, deliveries, exports): its admins see them, retry a
dead one and cancel a waiting one. Jobs of no organisation (upkeep) are the operator's, through
`belvedere jobs`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from belvedere.platform.errors import NotFound
from belvedere.platform.jobs import STATUSES, Status
from belvedere.web.access import Admin, RuntimeDep
from belvedere.web.ids import MAX_ID, PathId

router = APIRouter(prefix="/api/v1", tags=["jobs"])
JOBS = "/orgs/{org_id}/jobs"


@router.get(JOBS, summary="The organisation's background jobs, newest first")
def list_jobs(
    grant: Admin,
    runtime: RuntimeDep,
    status: Annotated[Status | None, Query(description=f"One of {', '.join(STATUSES)}.")] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page: the last id seen.")] = None,
) -> dict[str, Any]:
    views = runtime.jobs.list(status=status, name=name, org_id=grant.org.id, limit=limit, before_id=before_id)
    return {"results": [v.as_json() for v in views]}


@router.get(JOBS + "/{job_id}", summary="One job, with each attempt")
def get_job(job_id: PathId, grant: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    view = runtime.jobs.get(job_id, org_id=grant.org.id)
    if view is None:
        raise NotFound(f"There is no job {job_id}.")
    return view.as_json()


@router.post(JOBS + "/{job_id}/retry", summary="Run a dead or failed job again now")
def retry_job(job_id: PathId, grant: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    return runtime.jobs.retry(job_id, org_id=grant.org.id).as_json()


@router.post(JOBS + "/{job_id}/cancel", summary="Give up a pending or failed job")
def cancel_job(job_id: PathId, grant: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    return runtime.jobs.cancel(job_id, org_id=grant.org.id, by=f"user {grant.user_id}").as_json()
