"""Saved insights and dashboards of a project, as JSON: what the pages do, for scripts and other front ends.
Viewers read; members create, change and share. Ids of another project answer 404."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from belvedere.accounts.grants import ProjectGrant
from belvedere.dashboards import service, sharing
from belvedere.dashboards.models import Dashboard, Insight
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep, SessionDep, audit
from belvedere.web.errors import ApiError
from belvedere.web.ids import Id, PathId

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["dashboards"])


class InsightBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: dict[str, Any] = Field(description="A query body as `POST …/query` takes it (not `users`/`sql`).")


class InsightPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    query: dict[str, Any] | None = Field(None, description="A new question of the same kind.")


class DashboardBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class DashboardPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    order: list[Id] | None = Field(None, description="Every widget id of the dashboard, in the new order.")


class WidgetBody(BaseModel):
    insight_id: Id
    display: str | None = Field(None, max_length=20, description="Default: the insight kind's first display.")
    width: Literal[1, 2] = 1


class ShareBody(BaseModel):
    password: str | None = Field(None, max_length=200)


def _missing(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what} in this project.")


def _insight(session: Session, grant: ProjectGrant, insight_id: int) -> Insight:
    found = service.insight(session, project_id=grant.project.id, insight_id=insight_id)
    if found is None:
        raise _missing("insight")
    return found


def _board(session: Session, grant: ProjectGrant, dashboard_id: int) -> Dashboard:
    found = service.dashboard(session, project_id=grant.project.id, dashboard_id=dashboard_id)
    if found is None:
        raise _missing("dashboard")
    return found


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def _checked(query: dict[str, Any]) -> dict[str, Any]:
    """A query body checked exactly as the query API checks it, as an insight stores it."""
    try:
        return service.stored_query(query)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _invalid(f"query.{'.'.join(str(p) for p in first['loc'][1:])}: {first['msg']}") from None


@router.get("/insights", summary="Saved insights of the project")
def list_insights(grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return {
        "results": [service.insight_json(i) for i in service.insights(session, project_id=grant.project.id)]
    }


@router.post("/insights", status_code=201, summary="Save a query as an insight")
def create_insight(body: InsightBody, grant: ProjectMember, session: SessionDep) -> dict[str, Any]:
    query = _checked(body.query)
    try:
        item = service.save_insight(
            session, project_id=grant.project.id, name=body.name, query=query, user_id=grant.user_id
        )
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return service.insight_json(item)


@router.get("/insights/{insight_id}", summary="One saved insight")
def get_insight(insight_id: PathId, grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return service.insight_json(_insight(session, grant, insight_id))


@router.patch("/insights/{insight_id}", summary="Rename an insight or change its question (same kind)")
def update_insight(
    insight_id: PathId, body: InsightPatch, grant: ProjectMember, session: SessionDep
) -> dict[str, Any]:
    item = _insight(session, grant, insight_id)
    query = None if body.query is None else _checked(body.query)
    try:
        return service.insight_json(service.update_insight(item, name=body.name, query=query))
    except ValueError as exc:
        raise _invalid(str(exc)) from None


@router.delete("/insights/{insight_id}", status_code=204, summary="Delete an insight (and its widgets)")
def delete_insight(insight_id: PathId, grant: ProjectMember, session: SessionDep) -> Response:
    session.delete(_insight(session, grant, insight_id))
    return Response(status_code=204)


@router.get("/dashboards", summary="Dashboards of the project")
def list_dashboards(grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    boards = service.dashboards(session, project_id=grant.project.id)
    return {"results": [service.dashboard_json(b) for b in boards]}


@router.post("/dashboards", status_code=201, summary="Create a dashboard (within the plan's limit)")
def create_dashboard(
    body: DashboardBody, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    board = service.add_dashboard(session, grant, name=body.name, plans=runtime.plans)
    return service.dashboard_json(board)


@router.get("/dashboards/{dashboard_id}", summary="A dashboard and its widgets, in order")
def get_dashboard(dashboard_id: PathId, grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return service.dashboard_json(_board(session, grant, dashboard_id))


@router.patch("/dashboards/{dashboard_id}", summary="Rename a dashboard or reorder its widgets")
def update_dashboard(
    dashboard_id: PathId, body: DashboardPatch, grant: ProjectMember, session: SessionDep
) -> dict[str, Any]:
    board = _board(session, grant, dashboard_id)
    if body.name is not None:
        board.name = body.name.strip()
    if body.order is not None:
        try:
            service.arrange(board, body.order)
        except ValueError as exc:
            raise _invalid(str(exc)) from None
    return service.dashboard_json(board)


@router.delete("/dashboards/{dashboard_id}", status_code=204, summary="Delete a dashboard")
def delete_dashboard(dashboard_id: PathId, grant: ProjectMember, session: SessionDep) -> Response:
    session.delete(_board(session, grant, dashboard_id))
    return Response(status_code=204)


@router.post("/dashboards/{dashboard_id}/widgets", status_code=201, summary="Add a saved insight as a widget")
def add_widget(
    dashboard_id: PathId, body: WidgetBody, grant: ProjectMember, session: SessionDep
) -> dict[str, Any]:
    board = _board(session, grant, dashboard_id)
    item = _insight(session, grant, body.insight_id)
    try:
        widget = service.add_widget(session, board, item, body.display)
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    widget.width = body.width
    return service.dashboard_json(board)


@router.delete("/dashboards/{dashboard_id}/widgets/{widget_id}", status_code=204, summary="Remove a widget")
def remove_widget(
    dashboard_id: PathId, widget_id: PathId, grant: ProjectMember, session: SessionDep
) -> Response:
    try:
        service.remove_widget(_board(session, grant, dashboard_id), widget_id)
    except LookupError:
        raise _missing("widget") from None
    return Response(status_code=204)


@router.post("/dashboards/{dashboard_id}/share", summary="Make (or remake) the public read-only link")
def share(
    dashboard_id: PathId,
    body: ShareBody,
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    board = _board(session, grant, dashboard_id)
    hashed = runtime.auth.passwords.hash(body.password) if body.password else None
    token = sharing.share(board, runtime.settings.secret_key, password_hash=hashed)
    audit(session, grant, request, "dashboard_shared", dashboard_id=board.id, password=bool(hashed))
    url = f"{str(request.base_url).rstrip('/')}/share/{token}"
    return {"url": url, "embed_url": url + "?embed=1", "password": hashed is not None}


@router.delete(
    "/dashboards/{dashboard_id}/share", status_code=204, summary="Stop sharing: the link stops working"
)
def unshare(dashboard_id: PathId, grant: ProjectMember, request: Request, session: SessionDep) -> Response:
    board = _board(session, grant, dashboard_id)
    sharing.revoke(board)
    audit(session, grant, request, "dashboard_unshared", dashboard_id=board.id)
    return Response(status_code=204)
