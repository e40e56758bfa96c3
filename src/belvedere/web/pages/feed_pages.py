"""The insight feed in the web app: each finding with its number, what it means, what to do and the page
that shows it; members pin, dismiss and restore findings, and may ask for a run of yesterday now. Thin
forms over ``insights.feed.service``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.insights.feed import service
from belvedere.insights.feed.jobs import RUN, last_complete_day
from belvedere.platform.db import transaction
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep
from belvedere.web.ids import PathId
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}/feed"
KINDS = {
    "anomaly": "Anomaly",
    "mover": "Mover",
    "new_referrer": "New referrer",
    "funnel": "Funnel step",
    "retention": "Retention",
    "cohort": "Cohort",
}


@router.get(BASE)
def feed_page(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    dismissed = request.query_params.get("show") == "dismissed"
    with transaction(runtime.sessions) as session:
        found = [
            service.as_json(i)
            for i in service.items(session, project_id=grant.project.id, dismissed=dismissed)
        ]
    return page(
        request,
        "feed.html",
        **nav(runtime, grant),
        project=grant.project,
        items=found,
        kinds=KINDS,
        dismissed=dismissed,
        asked=request.query_params.get("asked") == "1",
        can_edit=grant.role != "viewer",
    )


@router.post(BASE + "/refresh")
def refresh(grant: ProjectMember, request: Request, runtime: RuntimeDep) -> Response:
    day = last_complete_day(datetime.now(UTC), grant.project.timezone)
    with transaction(runtime.sessions) as session:
        runtime.jobs.enqueue(
            RUN,
            {"project_id": grant.project.id, "day": day.isoformat()},
            org_id=grant.org.id,
            project_id=grant.project.id,
            session=session,
        )
    return redirect(BASE.format(project_id=grant.project.id) + "?asked=1", request)


@router.post(BASE + "/{item_id}/{action}")
def act(
    grant: ProjectMember, request: Request, runtime: RuntimeDep, item_id: PathId, action: str
) -> Response:
    with transaction(runtime.sessions) as session:
        found = service.item(session, project_id=grant.project.id, item_id=item_id)
        if found is not None and action in ("pin", "unpin"):
            service.pin(found, action == "pin")
        elif found is not None and action == "dismiss":
            service.dismiss(found, user_id=grant.user_id)
        elif found is not None and action == "restore":
            service.restore(found)
    back = "?show=dismissed" if action == "restore" else ""
    return redirect(BASE.format(project_id=grant.project.id) + back, request)
