"""Annotations of a project through the API: dated notes its charts draw (``dashboards.notes``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from belvedere.dashboards import notes
from belvedere.web.access import ProjectMember, ProjectViewer, SessionDep
from belvedere.web.ids import PathId

router = APIRouter(prefix="/api/v1/projects/{project_id}/annotations", tags=["annotations"])


class AnnotationBody(BaseModel):
    day: date = Field(description="The day it is about, in the project's time zone.")
    note: str = Field(min_length=1, max_length=300)


@router.get("", summary="The project's annotations, oldest first")
def list_annotations(
    grant: ProjectViewer, session: SessionDep, date_from: date | None = None, date_to: date | None = None
) -> dict[str, Any]:
    found = notes.notes_of(session, project_id=grant.project.id, first=date_from, last=date_to)
    return {"results": [notes.as_json(a) for a in found]}


@router.post("", status_code=201, summary="Annotate a day")
def create_annotation(body: AnnotationBody, grant: ProjectMember, session: SessionDep) -> dict[str, Any]:
    item = notes.annotate(
        session, project_id=grant.project.id, day=body.day, note=body.note, user_id=grant.user_id
    )
    return notes.as_json(item)


@router.delete("/{annotation_id}", status_code=204, summary="Delete an annotation")
def delete_annotation(annotation_id: PathId, grant: ProjectMember, session: SessionDep) -> Response:
    notes.remove(session, project_id=grant.project.id, annotation_id=annotation_id)
    return Response(status_code=204)
