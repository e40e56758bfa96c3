"""Dashboards: create, rename, delete; widgets from saved insights, arranged with move buttons or by
dragging (both persisted); sharing by a revocable signed link, optionally behind a password."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from belvedere.accounts.grants import ProjectGrant
from belvedere.dashboards import service, sharing
from belvedere.dashboards.models import Dashboard
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.runtime import Runtime
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep, audit
from belvedere.web.ids import MAX_ID, PathId
from belvedere.web.pages.insight_pages import render_widget
from belvedere.web.pages.periods import PERIODS
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}/dashboards"
Name = Annotated[str, Form(min_length=1, max_length=200)]
Display = Annotated[str, Form(max_length=20)]


def _home(grant: ProjectGrant) -> str:
    return f"/app/projects/{grant.project.id}/dashboards"


def _board(session: Session, grant: ProjectGrant, dashboard_id: int) -> Dashboard | None:
    return service.dashboard(session, project_id=grant.project.id, dashboard_id=dashboard_id)


def _missing(request: Request) -> Response:
    return page(request, "error.html", 404, title="Not found", message="No such dashboard in this project.")


def _list(
    request: Request, runtime: Runtime, grant: ProjectGrant, status: int = 200, error: str = ""
) -> Response:
    with transaction(runtime.sessions) as session:
        boards = [
            (b.id, b.name, len(b.widgets)) for b in service.dashboards(session, project_id=grant.project.id)
        ]
    return page(
        request,
        "dashboards.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        boards=boards,
        error=error,
        can_edit=grant.role != "viewer",
    )


@router.get(BASE)
def dashboard_list(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return _list(request, runtime, grant)


@router.post(BASE)
def create_dashboard(grant: ProjectMember, request: Request, runtime: RuntimeDep, name: Name) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            board_id = service.add_dashboard(session, grant, name=name, plans=runtime.plans).id
    except BelvedereError as exc:
        return _list(request, runtime, grant, exc.status, exc.message)
    return redirect(f"{_home(grant)}/{board_id}", request)


@router.get(BASE + "/{dashboard_id}")
def dashboard_page(
    grant: ProjectViewer, request: Request, runtime: RuntimeDep, dashboard_id: PathId, period: str = ""
) -> Response:
    with transaction(runtime.sessions) as session:
        board = _board(session, grant, dashboard_id)
        if board is None:
            return _missing(request)
        widgets = [(w.id, w.insight.name, w.display, w.width) for w in board.widgets]
        insights = [(i.id, i.name) for i in service.insights(session, project_id=grant.project.id)]
        share = sharing.token_of(board, runtime.settings.secret_key) if board.share_nonce else None
        protected = board.share_password_hash is not None
        name = board.name
    return page(
        request,
        "dashboard.html",
        **nav(runtime, grant),
        project=grant.project,
        board_id=dashboard_id,
        name=name,
        widgets=widgets,
        insights=insights,
        period=period if period in PERIODS else "",
        periods=PERIODS,
        share_url=f"{str(request.base_url).rstrip('/')}/share/{share}" if share else None,
        protected=protected,
        can_edit=grant.role != "viewer",
    )


@router.get(BASE + "/{dashboard_id}/widgets/{widget_id}")
async def widget(
    grant: ProjectViewer,
    request: Request,
    runtime: RuntimeDep,
    dashboard_id: PathId,
    widget_id: PathId,
    period: str = "",
) -> Response:
    with transaction(runtime.sessions) as session:
        board = _board(session, grant, dashboard_id)
        found = service.widget_of(board, widget_id) if board else None
        if found is None:
            return _missing(request)
        item, display = found.insight, found.display
    return await render_widget(request, runtime, grant, item, display, period)


def _change(
    request: Request,
    runtime: Runtime,
    grant: ProjectGrant,
    dashboard_id: int,
    change: Callable[[Session, Dashboard], object],
    *,
    widget_id: int | None = None,
    then: str | None = None,
) -> Response:
    """Apply ``change`` to one of the project's dashboards in one transaction, then show the dashboard (or
    ``then``). A dashboard, widget or insight that is not the project's answers 404 (``LookupError``), a
    change that makes no sense 422 (``ValueError``); either way nothing is written."""
    try:
        with transaction(runtime.sessions) as session:
            board = _board(session, grant, dashboard_id)
            if board is None or (widget_id is not None and service.widget_of(board, widget_id) is None):
                raise LookupError
            answer = change(session, board)
    except LookupError:
        return _missing(request)
    except ValueError as exc:
        return page(request, "error.html", 422, title="Cannot change the dashboard", message=str(exc))
    if isinstance(answer, Response):
        return answer
    return redirect(then or f"{_home(grant)}/{dashboard_id}", request)


@router.post(BASE + "/{dashboard_id}/rename")
def rename(
    grant: ProjectMember, request: Request, runtime: RuntimeDep, dashboard_id: PathId, name: Name
) -> Response:
    return _change(
        request, runtime, grant, dashboard_id, lambda _, board: setattr(board, "name", name.strip())
    )


@router.post(BASE + "/{dashboard_id}/delete")
def delete(grant: ProjectMember, request: Request, runtime: RuntimeDep, dashboard_id: PathId) -> Response:
    return _change(
        request, runtime, grant, dashboard_id, lambda session, board: session.delete(board), then=_home(grant)
    )


def _add(
    request: Request, runtime: Runtime, grant: ProjectGrant, dashboard_id: int, insight_id: int, display: str
) -> Response:
    def add(session: Session, board: Dashboard) -> None:
        item = service.insight(session, project_id=board.project_id, insight_id=insight_id)
        if item is None:
            raise LookupError
        service.add_widget(session, board, item, display or None)

    return _change(request, runtime, grant, dashboard_id, add)


@router.post(BASE + "/{dashboard_id}/widgets")
def add_widget(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    dashboard_id: PathId,
    insight_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    display: Display = "",
) -> Response:
    return _add(request, runtime, grant, dashboard_id, insight_id, display)


@router.post("/app/projects/{project_id}/insights/{insight_id}/dashboards")
def add_to_dashboard(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    insight_id: PathId,
    dashboard_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    display: Display = "",
) -> Response:
    """From an insight's page: put it on the chosen dashboard, drawn the chosen way."""
    return _add(request, runtime, grant, dashboard_id, insight_id, display)


@router.post(BASE + "/{dashboard_id}/widgets/{widget_id}/move")
def move_widget(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    dashboard_id: PathId,
    widget_id: PathId,
    direction: Annotated[Literal["up", "down"], Form()],
) -> Response:
    steps = -1 if direction == "up" else 1
    return _change(
        request,
        runtime,
        grant,
        dashboard_id,
        lambda _, board: service.move_widget(board, widget_id, steps),
        widget_id=widget_id,
    )


@router.post(BASE + "/{dashboard_id}/widgets/{widget_id}/resize")
def resize_widget(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    dashboard_id: PathId,
    widget_id: PathId,
    width: Annotated[int, Form(ge=1, le=2)],
) -> Response:
    return _change(
        request,
        runtime,
        grant,
        dashboard_id,
        lambda _, board: setattr(service.widget_of(board, widget_id), "width", width),
        widget_id=widget_id,
    )


@router.post(BASE + "/{dashboard_id}/widgets/{widget_id}/remove")
def remove_widget(
    grant: ProjectMember, request: Request, runtime: RuntimeDep, dashboard_id: PathId, widget_id: PathId
) -> Response:
    return _change(
        request,
        runtime,
        grant,
        dashboard_id,
        lambda _, board: service.remove_widget(board, widget_id),
        widget_id=widget_id,
    )


@router.post(BASE + "/{dashboard_id}/arrange")
def arrange(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    dashboard_id: PathId,
    order: Annotated[str, Form(max_length=2000, pattern=r"^[0-9]+(,[0-9]+)*$")],
) -> Response:
    """The whole order at once, as a drag and drop sends it (comma-separated widget ids)."""

    def apply(_: Session, board: Dashboard) -> Response:
        service.arrange(board, [int(x) for x in order.split(",")])
        return Response(status_code=204)

    return _change(request, runtime, grant, dashboard_id, apply)


@router.post(BASE + "/{dashboard_id}/share")
def share(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    dashboard_id: PathId,
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Make (or remake, which revokes the earlier link) the public link."""

    def apply(session: Session, board: Dashboard) -> None:
        hashed = runtime.auth.passwords.hash(password) if password else None
        sharing.share(board, runtime.settings.secret_key, password_hash=hashed)
        audit(session, grant, request, "dashboard_shared", dashboard_id=board.id, password=bool(password))

    return _change(request, runtime, grant, dashboard_id, apply)


@router.post(BASE + "/{dashboard_id}/unshare")
def unshare(grant: ProjectMember, request: Request, runtime: RuntimeDep, dashboard_id: PathId) -> Response:
    def apply(session: Session, board: Dashboard) -> None:
        sharing.revoke(board)
        audit(session, grant, request, "dashboard_unshared", dashboard_id=board.id)

    return _change(request, runtime, grant, dashboard_id, apply)
