"""Insight builders (funnels, retention, paths) and saved insights: build in the page (the question lives in
the URL, so it can be bookmarked), save it under a name, put it on dashboards."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

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
from belvedere.web.pages.asking import answer, error_text, known_events
from belvedere.web.pages.periods import PERIODS, dates, period_of
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.trends_pages import trends_link
from belvedere.web.pages.views import view_of

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}"
WINDOWS = {
    3600: "1 hour",
    86400: "1 day",
    7 * 86400: "7 days",
    14 * 86400: "14 days",
    30 * 86400: "30 days",
    90 * 86400: "90 days",
}
ORDERS = {
    "ordered": "In this order",
    "strict": "In this order, nothing in between",
    "unordered": "In any order",
}
MAX_STEPS = 20


# Fields a step's filter suggests (any `properties.<name>` works too; the query engine checks the name).
STEP_FIELDS = (
    "path",
    "channel",
    "referrer_domain",
    "utm_source",
    "utm_campaign",
    "country",
    "browser",
    "os",
    "device_type",
    "host",
)


def _blank_step() -> dict[str, str]:
    return {"event": "", "field": "path", "value": ""}


def _funnel_form(request: Request) -> dict[str, Any]:
    """The builder's state from the URL: steps (an event, and optionally a field that must equal a value:
    the page path by default), window, order, period."""
    params = request.query_params
    events = params.getlist("step")[:MAX_STEPS]
    fields, values = params.getlist("field"), params.getlist("value")
    paths = params.getlist("path")  # links made before steps had any field: the path is the filter

    def at(items: list[str], i: int) -> str:
        return items[i].strip()[:2000] if i < len(items) else ""

    steps = []
    for i, event in enumerate(events):
        value = at(values, i) or at(paths, i)
        steps.append({"event": event.strip()[:200], "field": at(fields, i)[:200] or "path", "value": value})
    remove = params.get("remove")
    if remove is not None and remove.isdigit() and int(remove) < len(steps):
        steps.pop(int(remove))
    if "add" in params and len(steps) < MAX_STEPS:
        steps.append(_blank_step())
    while len(steps) < 2:
        steps.append(_blank_step())
    window = int(params["window"]) if params.get("window", "").isdigit() else 14 * 86400
    return {
        "steps": steps,
        "window": window if window in WINDOWS else 14 * 86400,
        "order": params.get("order") if params.get("order") in ORDERS else "ordered",
        "period": params.get("period") if params.get("period") in PERIODS else "30d",
        "run": "add" not in params and "remove" not in params and any(s["event"] for s in steps),
    }


def _funnel_query(form: dict[str, Any]) -> dict[str, Any]:
    steps = []
    for step in form["steps"]:
        if not step["event"]:
            continue
        filters = (
            [{"property": step["field"], "operator": "eq", "value": step["value"]}] if step["value"] else []
        )
        steps.append({"event": step["event"], "filters": filters})
    return {
        "kind": "funnel",
        "steps": steps,
        "window": form["window"],
        "order": form["order"],
        **dates(form["period"]),
    }


def funnel_link(query: dict[str, Any]) -> str | None:
    """The funnel builder's URL query for a saved funnel, when the builder can show it (each step at most one
    "equals" condition, a period it offers); None otherwise (its question is still editable as JSON)."""
    if query.get("kind") != "funnel" or query.get("exclusions") or query.get("breakdown"):
        return None
    period = period_of(query)
    params: list[tuple[str, str]] = []
    for step in query.get("steps", []):
        filters = step.get("filters") or []
        if (
            len(filters) > 1
            or any(f.get("operator", "eq") != "eq" for f in filters)
            or step.get("event") is None
        ):
            return None
        field, value = (filters[0]["property"], str(filters[0]["value"])) if filters else ("path", "")
        params += [("step", step["event"]), ("field", field), ("value", value)]
    if period is None or query.get("filters"):
        return None
    params += [("window", str(query.get("window", 14 * 86400))), ("order", query.get("order", "ordered"))]
    return urlencode([*params, ("period", period)])


def builder_link(query: dict[str, Any]) -> tuple[str, str, str] | None:
    """Where a saved question can be reopened and changed: (page, URL query, builder name), or None."""
    if (funnel := funnel_link(query)) is not None:
        return ("funnels", funnel, "funnel")
    if (trend := trends_link(query)) is not None:
        return ("trends", trend, "trend")
    return None


@router.get(BASE + "/funnels")
async def funnels(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    form = _funnel_form(request)
    found, error = None, None
    if form["run"]:
        found, error = await answer(runtime, grant, _funnel_query(form))
    events = await known_events(runtime, grant)
    with transaction(runtime.sessions) as session:
        saved = [
            (i.id, i.name) for i in service.insights(session, project_id=grant.project.id, kind="funnel")
        ]
    status = 422 if error else 200
    return page(
        request,
        "funnels.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        form=form,
        windows=WINDOWS,
        orders=ORDERS,
        step_fields=STEP_FIELDS,
        periods=PERIODS,
        events=events,
        result=found.result if found else None,
        view=view_of(found.result, "funnel", found.query) if found else None,
        query=json.dumps(found.query) if found else "",
        error=error,
        saved=saved,
        can_save=grant.role != "viewer",
    )


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
    found, error = await answer(runtime, grant, body)
    allowed = list(service.displays_of(item))
    chosen = display if display in allowed else allowed[0]
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
