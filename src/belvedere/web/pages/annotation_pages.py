"""Annotating a day from the overview, and removing a note: thin forms over ``dashboards.notes``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from belvedere.dashboards import notes
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.web.access import ProjectMember, RuntimeDep
from belvedere.web.ids import PathId
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}/annotations"


def _back(request: Request, project_id: int, back: str) -> Response:
    # Back to the overview as it was (its own query string only: never another site).
    return redirect(f"/app/projects/{project_id}" + (back if back.startswith("?") else ""), request)


@router.post(BASE)
def annotate(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    day: Annotated[date, Form()],
    note: Annotated[str, Form(min_length=1, max_length=300)],
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            notes.annotate(session, project_id=grant.project.id, day=day, note=note, user_id=grant.user_id)
    except BelvedereError as exc:
        return page(request, "error.html", exc.status, title="Cannot add this note", message=exc.message)
    return _back(request, grant.project.id, back)


@router.post(BASE + "/{annotation_id}/delete")
def delete(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    annotation_id: PathId,
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            notes.remove(session, project_id=grant.project.id, annotation_id=annotation_id)
    except BelvedereError as exc:
        return page(request, "error.html", exc.status, title="Cannot delete this note", message=exc.message)
    return _back(request, grant.project.id, back)
