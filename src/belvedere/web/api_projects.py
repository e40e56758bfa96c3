"""Projects of an organisation: list, create (within the plan's limit), read, change, delete, and rotate the
public write key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from belvedere.accounts import projects
from belvedere.accounts.settings import ProjectSettings
from belvedere.web.access import (
    Admin,
    ProjectAdmin,
    ProjectViewer,
    RuntimeDep,
    SessionDep,
    Viewer,
    request_origin,
)

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


@router.get("/orgs/{org_id}/projects", summary="Projects of the organisation")
def list_projects(grant: Viewer, session: SessionDep) -> dict[str, Any]:
    return {"results": projects.list_projects(session, grant)}


@router.post("/orgs/{org_id}/projects", status_code=201, summary="Create a project (returns its keys)")
def create(
    body: ProjectBody, grant: Admin, request: Request, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    return projects.create_project(
        session,
        grant,
        name=body.name,
        timezone=body.timezone,
        settings=body.settings,
        where=request_origin(request),
        plans=runtime.plans,
    )


@router.get(PROJECT, summary="A project, with its public write key")
def get(grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return projects.get_project(session, grant)


@router.patch(PROJECT, summary="Rename a project, change its time zone or settings")
def update(
    body: ProjectPatch, grant: ProjectAdmin, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    return projects.update_project(
        session,
        grant,
        name=body.name,
        timezone=body.timezone,
        settings=body.settings,
        keys=runtime.projects,
    )


@router.delete(PROJECT, status_code=204, summary="Delete a project and its events")
def delete(grant: ProjectAdmin, request: Request, runtime: RuntimeDep, session: SessionDep) -> None:
    where = request_origin(request)
    projects.delete_project(session, grant, where=where, keys=runtime.projects, store=runtime.store)


@router.post(PROJECT + "/write-key", summary="Replace the project's write key (the old one stops working)")
def rotate_write_key(
    grant: ProjectAdmin, request: Request, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    where = request_origin(request)
    return projects.rotate_write_key(session, grant, where=where, keys=runtime.projects)
