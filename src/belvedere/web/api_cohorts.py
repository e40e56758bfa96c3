"""Cohorts of a project, as JSON (see docs/api.md#cohorts). Viewers read; members create, change, compute
and delete. Ids of another project answer 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from belvedere.accounts.grants import ProjectGrant
from belvedere.insights.cohorts import service
from belvedere.insights.cohorts.models import Cohort
from belvedere.insights.cohorts.people import sample_members
from belvedere.insights.cohorts.rules import Definition
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep, SessionDep
from belvedere.web.errors import ApiError
from belvedere.web.ids import PathId

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["cohorts"])


class CohortBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=1000)
    definition: dict[str, Any] = Field(
        description='{"type": "behaviour", "event", "min_count", "days", "filters"}, {"type": "pattern",'
        ' "query": <a patterns query>} or {"type": "static", "ids": [...]}.'
    )
    refresh_hours: int = Field(service.DEFAULT_REFRESH_HOURS, ge=1, le=24 * 30)


class CohortPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=1000)
    definition: dict[str, Any] | None = None
    refresh_hours: int | None = Field(None, ge=1, le=24 * 30)


def _cohort(session: Session, grant: ProjectGrant, cohort_id: int) -> Cohort:
    found = service.cohort(session, project_id=grant.project.id, cohort_id=cohort_id)
    if found is None:
        raise ApiError(404, "not_found", "No such cohort in this project.")
    return found


def _definition(raw: dict[str, Any]) -> Definition:
    try:
        return service.parse_definition(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        raise ApiError(422, "invalid_request", f"definition.{where}: {first['msg']}") from None


@router.get("/cohorts", summary="Cohorts of the project")
def list_cohorts(grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return {"results": [service.as_json(c) for c in service.cohorts(session, project_id=grant.project.id)]}


@router.post("/cohorts", status_code=201, summary="Save a cohort; its members are computed in the background")
def create_cohort(
    body: CohortBody, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    definition = _definition(body.definition)
    try:
        item = service.create(
            session,
            runtime.jobs,
            project_id=grant.project.id,
            name=body.name.strip(),
            description=body.description,
            definition=definition,
            refresh_hours=body.refresh_hours,
            user_id=grant.user_id,
        )
    except service.CohortRefused as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return service.as_json(item)


@router.get("/cohorts/{cohort_id}", summary="One cohort: its definition, status and size")
def get_cohort(cohort_id: PathId, grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return service.as_json(_cohort(session, grant, cohort_id))


@router.patch("/cohorts/{cohort_id}", summary="Rename a cohort or change its definition (computed again)")
def update_cohort(
    cohort_id: PathId, body: CohortPatch, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    item = _cohort(session, grant, cohort_id)
    definition = None if body.definition is None else _definition(body.definition)
    name = None if body.name is None else body.name.strip()
    service.update(
        session,
        runtime.jobs,
        item,
        name=name,
        description=body.description,
        definition=definition,
        refresh_hours=body.refresh_hours,
    )
    return service.as_json(item)


@router.post("/cohorts/{cohort_id}/compute", status_code=202, summary="Compute the members again now")
def compute_cohort(
    cohort_id: PathId, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    item = _cohort(session, grant, cohort_id)
    service.queue_computation(session, runtime.jobs, item)
    return service.as_json(item)


@router.get("/cohorts/{cohort_id}/people", summary="Members of the cohort, by id")
def cohort_people(
    cohort_id: PathId,
    grant: ProjectViewer,
    runtime: RuntimeDep,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    item = _cohort(session, grant, cohort_id)
    people = sample_members(
        runtime.queries.store, project_id=grant.project.id, cohort_id=item.id, limit=limit
    )
    return {"count": item.count, "status": item.status, "people": people}


@router.delete("/cohorts/{cohort_id}", status_code=204, summary="Delete a cohort (and its members)")
def delete_cohort(
    cohort_id: PathId, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> Response:
    service.delete(session, runtime.jobs, _cohort(session, grant, cohort_id))
    return Response(status_code=204)
