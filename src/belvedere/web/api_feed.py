"""The insight feed of a project, as JSON (see docs/api.md#the-insight-feed). Viewers read; members pin,
dismiss, restore and ask for a run now. Ids of another project answer 404."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.orm import Session

from belvedere.accounts.grants import ProjectGrant
from belvedere.insights.feed import service
from belvedere.insights.feed.jobs import RUN, last_complete_day
from belvedere.insights.feed.models import FeedItem
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep, SessionDep
from belvedere.web.errors import ApiError
from belvedere.web.ids import PathId

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["insights"])


class PinBody(BaseModel):
    pinned: bool = True


def _item(session: Session, grant: ProjectGrant, item_id: int) -> FeedItem:
    found = service.item(session, project_id=grant.project.id, item_id=item_id)
    if found is None:
        raise ApiError(404, "not_found", "No such finding in this project.")
    return found


@router.get("/feed", summary="The insight feed: findings, pinned first, then newest")
def feed(grant: ProjectViewer, session: SessionDep, dismissed: bool = False) -> dict[str, Any]:
    found = service.items(session, project_id=grant.project.id, dismissed=dismissed)
    return {"results": [service.as_json(i) for i in found]}


@router.post("/feed/refresh", status_code=202, summary="Read the last complete day again now")
def refresh(grant: ProjectMember, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    day = last_complete_day(datetime.now(UTC), grant.project.timezone)
    ref = runtime.jobs.enqueue(
        RUN,
        {"project_id": grant.project.id, "day": day.isoformat()},
        org_id=grant.org.id,
        project_id=grant.project.id,
        session=session,
    )
    return {"job_id": ref.id, "day": day.isoformat()}


@router.post("/feed/{item_id}/pin", summary="Pin (or unpin) a finding at the top")
def pin(item_id: PathId, body: PinBody, grant: ProjectMember, session: SessionDep) -> dict[str, Any]:
    found = _item(session, grant, item_id)
    service.pin(found, body.pinned)
    return service.as_json(found)


@router.post("/feed/{item_id}/dismiss", summary="Dismiss a finding (it leaves the feed)")
def dismiss(item_id: PathId, grant: ProjectMember, session: SessionDep) -> dict[str, Any]:
    found = _item(session, grant, item_id)
    service.dismiss(found, user_id=grant.user_id)
    return service.as_json(found)


@router.post("/feed/{item_id}/restore", summary="Bring a dismissed finding back")
def restore(item_id: PathId, grant: ProjectMember, session: SessionDep) -> dict[str, Any]:
    found = _item(session, grant, item_id)
    service.restore(found)
    return service.as_json(found)
