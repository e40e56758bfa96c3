"""Saved insights: a question a builder page (funnels, retention, paths) answered, saved under a name,
reopened, edited, put on dashboards."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from belvedere.accounts.grants import ProjectGrant
from belvedere.dashboards import service
from belvedere.dashboards.models import Insight
from belvedere.platform.db import transaction
from belvedere.runtime import Runtime
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep
from belvedere.web.ids import PathId
from belvedere.web.pages.asking import answer, error_text
from belvedere.web.pages.funnel_pages import funnel_link
from belvedere.web.pages.periods import PERIODS, dates
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.trends_pages import trends_link
from belvedere.web.pages.views import view_of

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}"


def builder_link(query: dict[str, Any]) -> tuple[str, str, str] | None:
    """Where a saved question can be reopened and changed: (page, URL query, builder name), or None."""
    if (funnel := funnel_link(query)) is not None:
        return ("funnels", funnel, "funnel")
    if (trend := trends_link(query)) is not None:
        return ("trends", trend, "trend")
    return None


@router.post(BASE + "/insights")
def save_insight(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    query: Annotated[str, Form(max_length=100_000)],
) -> Response:
    """Save the question a builder page answered (its query spec travels in a hidden field, and is checked
    again here exactly as the query API checks it)."""
    try:
        body = service.stored_query(json.loads(query))
        with transaction(runtime.sessions) as session:
            created = service.save_insight(
                session, project_id=grant.project.id, name=name, query=body, user_id=grant.user_id
            )
            insight_id = created.id
    except (ValueError, ValidationError) as exc:
        message = error_text(exc) if isinstance(exc, ValidationError) else str(exc)
        return page(request, "error.html", 422, title="Cannot save this insight", message=message)
    return redirect(f"/app/projects/{grant.project.id}/insights/{insight_id}", request)


def _insight_or_404(runtime: Runtime, grant: ProjectGrant, insight_id: int) -> Insight | None:
    with transaction(runtime.sessions) as session:
        return service.insight(session, project_id=grant.project.id, insight_id=insight_id)


def _not_found(request: Request, what: str = "insight") -> Response:
    return page(request, "error.html", 404, title="Not found", message=f"No such {what} in this project.")


@router.get(BASE + "/insights")
def insight_list(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    with transaction(runtime.sessions) as session:
        items = [(i.id, i.name, i.kind) for i in service.insights(session, project_id=grant.project.id)]
    return page(request, "insights.html", **nav(runtime, grant), project=grant.project, items=items)


@router.get(BASE + "/insights/{insight_id}")
def insight_page(grant: ProjectViewer, request: Request, runtime: RuntimeDep, insight_id: PathId) -> Response:
    with transaction(runtime.sessions) as session:
        item = service.insight(session, project_id=grant.project.id, insight_id=insight_id)
        boards = [(b.id, b.name) for b in service.dashboards(session, project_id=grant.project.id)]
    if item is None:
        return _not_found(request)
    return page(
        request,
        "insight.html",
        **nav(runtime, grant),
        project=grant.project,
        insight=item,
        question=json.dumps(item.query, indent=2),
        builder=builder_link(item.query),
        displays=service.displays(item),
        dashboards=boards,
        can_edit=grant.role != "viewer",
    )


@router.get(BASE + "/insights/{insight_id}/view")
async def insight_view(
    grant: ProjectViewer,
    request: Request,
    runtime: RuntimeDep,
    insight_id: PathId,
    display: str = "",
    period: str = "",
) -> Response:
    """The insight drawn, loaded after its page so the page itself is never slow."""
    item = _insight_or_404(runtime, grant, insight_id)
    if item is None:
        return _not_found(request)
    return await render_widget(request, runtime, grant, item, display, period)


async def render_widget(
    request: Request, runtime: Runtime, grant: ProjectGrant, item: Insight, display: str, period: str
) -> Response:
    """One insight as a widget; ``period`` (a key of PERIODS) overrides its saved range, as a dashboard's
    period selector does."""
    body = dict(item.query)
    if period in PERIODS:
        body.pop("date_to", None)
        body.update(dates(period))
    allowed = list(service.displays_of(item))
    chosen = display if display in allowed else allowed[0]
    if item.kind == "trends" and chosen in ("number", "pie"):
        body["totals"] = True  # each series over the whole period (people once, not once a day)
    found, error = await answer(runtime, grant, body)
    view = view_of(found.result, chosen, found.query) if found else None
    return page(request, "_widget.html", 200, view=view, error=error, insight=item)


@router.post(BASE + "/insights/{insight_id}/rename")
def rename_insight(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    insight_id: PathId,
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    return _update(request, runtime, grant, insight_id, name=name)


@router.post(BASE + "/insights/{insight_id}/question")
def change_question(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    insight_id: PathId,
    query: Annotated[str, Form(max_length=100_000)],
) -> Response:
    """A new question for the insight, of the same kind, checked exactly as the query API checks it."""
    try:
        body = service.stored_query(json.loads(query))
    except (ValueError, ValidationError) as exc:
        message = error_text(exc) if isinstance(exc, ValidationError) else f"Not a JSON query: {exc}"
        return page(request, "error.html", 422, title="Cannot change this question", message=message)
    return _update(request, runtime, grant, insight_id, query=body)


def _update(
    request: Request, runtime: Runtime, grant: ProjectGrant, insight_id: int, **change: Any
) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            item = service.insight(session, project_id=grant.project.id, insight_id=insight_id)
            if item is None:
                return _not_found(request)
            service.update_insight(item, **change)
    except ValueError as exc:
        return page(request, "error.html", 422, title="Cannot change this insight", message=str(exc))
    return redirect(f"/app/projects/{grant.project.id}/insights/{insight_id}", request)


@router.post(BASE + "/insights/{insight_id}/delete")
def delete_insight(
    grant: ProjectMember, request: Request, runtime: RuntimeDep, insight_id: PathId
) -> Response:
    with transaction(runtime.sessions) as session:
        item = service.insight(session, project_id=grant.project.id, insight_id=insight_id)
        if item is None:
            return _not_found(request)
        session.delete(item)
    return redirect(f"/app/projects/{grant.project.id}/insights", request)
