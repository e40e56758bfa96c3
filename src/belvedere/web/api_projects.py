"""Projects of an organisation: list, create (within the plan's limit), read, change, delete, and rotate the
public write key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from belvedere.accounts import organisations
from belvedere.accounts.grants import Grant
from belvedere.accounts.keys import new_write_key
from belvedere.accounts.models import Organisation, Project
from belvedere.accounts.service import create_project_in, project_json
from belvedere.accounts.settings import ProjectSettings, check_timezone
from belvedere.platform.db import transaction
from belvedere.web.access import Admin, RuntimeDep, Viewer, audit
from belvedere.web.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["projects"])
PROJECT = "/projects/{project_id}"


class ProjectBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field("UTC", max_length=64)
    settings: ProjectSettings = Field(default_factory=ProjectSettings)


class ProjectPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, max_length=64)
    settings: ProjectSettings | None = None


def _timezone(name: str) -> str:
    try:
        return check_timezone(name)
    except ValueError as exc:
        raise ApiError(
            422, "invalid_request", str(exc), [{"field": "body.timezone", "message": str(exc)}]
        ) from None


def _project(session: Session, grant: Grant) -> Project:
    """The project the route's path names (``Access`` has checked the caller may act on it)."""
    assert grant.project is not None
    project = session.get(Project, grant.project.id)
    if project is None:  # deleted since the access check
        raise ApiError(404, "not_found", "No such project.")
    return project


@router.get("/orgs/{org_id}/projects", summary="Projects of the organisation")
def list_projects(grant: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        org = session.get(Organisation, grant.org.id)
        assert org is not None
        return {"results": [project_json(p) for p in sorted(org.projects, key=lambda p: p.id)]}


@router.post("/orgs/{org_id}/projects", status_code=201, summary="Create a project (returns its keys)")
def create(body: ProjectBody, grant: Admin, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    _timezone(body.timezone)
    with transaction(runtime.sessions) as session:
        used = organisations.project_count(session, organisation_id=grant.org.id)
        runtime.plans.check_limit(grant.org.plan, "projects", used)
        created = create_project_in(
            session,
            organisation_id=grant.org.id,
            name=body.name,
            timezone=body.timezone,
            settings=body.settings,
        )
        audit(session, grant, request, "project_created", project_id=created.project.id)
    return {
        "project_id": created.project.id,
        "name": created.project.name,
        "timezone": created.project.timezone,
        "write_key": created.write_key,
        "api_key": created.api_key,
    }


@router.get(PROJECT, summary="A project, with its public write key")
def get(grant: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        project = _project(session, grant)
        return project_json(project)


@router.patch(PROJECT, summary="Rename a project, change its time zone or settings")
def update(body: ProjectPatch, grant: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        project = _project(session, grant)
        if body.name is not None:
            project.name = body.name
        if body.timezone is not None:
            project.timezone = _timezone(body.timezone)
        if body.settings is not None:
            project.settings = body.settings.model_dump(exclude_none=True)
        answer = project_json(project)
    runtime.projects.forget()
    return answer


@router.delete(PROJECT, status_code=204, summary="Delete a project and its events")
def delete(grant: Admin, request: Request, runtime: RuntimeDep) -> None:
    with transaction(runtime.sessions) as session:
        project = _project(session, grant)
        project_id = project.id
        session.delete(project)
        audit(session, grant, request, "project_deleted", project_id=project_id)
    runtime.projects.forget()
    runtime.store.delete_project(project_id=project_id)


@router.post(PROJECT + "/write-key", summary="Replace the project's write key (the old one stops working)")
def rotate_write_key(grant: Admin, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        project = _project(session, grant)
        project.write_key = new_write_key()
        audit(session, grant, request, "write_key_rotated", project_id=project.id)
        answer = project_json(project)
    runtime.projects.forget()
    return answer
