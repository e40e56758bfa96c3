"""Cohorts and behaviour patterns in the web app: the project's cohorts (saved, computed in the background,
each a filter of every page), a form for a behaviour rule or a list of ids, and the patterns page, whose
people can be saved as a cohort in one click. Thin forms over ``insights.cohorts.service``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from belvedere.insights.cohorts import service
from belvedere.insights.cohorts.rules import PATTERNS, PERIODS, describe
from belvedere.platform.db import transaction
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep
from belvedere.web.ids import PathId
from belvedere.web.pages.asking import answer, known_events
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}/cohorts"


def _list(
    request: Request,
    runtime: RuntimeDep,
    grant: Any,
    *,
    error: str | None = None,
    status: int = 200,
    events: list[str] | None = None,
) -> Response:
    with transaction(runtime.sessions) as session:
        items = [service.as_json(c) for c in service.cohorts(session, project_id=grant.project.id)]
    for item in items:
        item["text"] = describe(item["definition"])
        item["filter_link"] = f"/app/projects/{grant.project.id}?" + urlencode(
            [("f", f"cohort|eq|{item['id']}")]
        )
    return page(
        request,
        "cohorts.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        cohorts=items,
        events=events or [],
        error=error,
        pending=any(i["status"] == "pending" for i in items),
        can_edit=grant.role != "viewer",
    )


@router.get(BASE)
async def cohorts_page(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return _list(request, runtime, grant, events=await known_events(runtime, grant))


@router.post(BASE)
def create_cohort(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    type: Annotated[str, Form(max_length=20)] = "behaviour",
    event: Annotated[str, Form(max_length=200)] = "",
    min_count: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
    days: Annotated[int, Form(ge=1, le=730)] = 30,
    ids: Annotated[str, Form(max_length=2_100_000)] = "",
    pattern: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    raw: dict[str, Any]
    if type == "static":
        raw = {"type": "static", "ids": [i.strip() for i in ids.replace(",", "\n").splitlines() if i.strip()]}
    elif type == "pattern":
        try:
            raw = {"type": "pattern", "query": orjson.loads(pattern)}
        except orjson.JSONDecodeError:
            raw = {"type": "pattern", "query": None}
    else:
        raw = {"type": "behaviour", "event": event.strip() or None, "min_count": min_count, "days": days}
    try:
        definition = service.parse_definition(raw)
        with transaction(runtime.sessions) as session:
            service.create(
                session,
                runtime.jobs,
                project_id=grant.project.id,
                name=name.strip(),
                definition=definition,
                user_id=grant.user_id,
            )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][2:])
        message = str(first["msg"]).removeprefix("Value error, ")
        return _list(request, runtime, grant, error=f"{where}: {message}" if where else message, status=422)
    except service.CohortRefused as exc:
        return _list(request, runtime, grant, error=str(exc), status=422)
    return redirect(BASE.format(project_id=grant.project.id), request)


@router.post(BASE + "/{cohort_id}/compute")
def compute_cohort(
    grant: ProjectMember, request: Request, runtime: RuntimeDep, cohort_id: PathId
) -> Response:
    with transaction(runtime.sessions) as session:
        item = service.cohort(session, project_id=grant.project.id, cohort_id=cohort_id)
        if item is not None:
            service.queue_computation(session, runtime.jobs, item)
    return redirect(BASE.format(project_id=grant.project.id), request)


@router.post(BASE + "/{cohort_id}/delete")
def delete_cohort(grant: ProjectMember, request: Request, runtime: RuntimeDep, cohort_id: PathId) -> Response:
    with transaction(runtime.sessions) as session:
        item = service.cohort(session, project_id=grant.project.id, cohort_id=cohort_id)
        if item is not None:
            service.delete(session, runtime.jobs, item)
    return redirect(BASE.format(project_id=grant.project.id), request)


@router.get("/app/projects/{project_id}/patterns")
async def patterns_page(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    params = request.query_params
    period = params.get("period", "-28d")
    period = period if period in PERIODS else "-28d"
    goal, lead = params.get("goal", "")[:200].strip(), params.get("lead", "")[:200].strip()
    asked: list[tuple[str, dict[str, Any]]] = [
        ("power_users", {"kind": "patterns", "pattern": "power_users", "date_from": period}),
        ("churn_risk", {"kind": "patterns", "pattern": "churn_risk", "date_from": period}),
    ]
    if goal and lead:
        asked.append(
            (
                "conversion_opportunities",
                {
                    "kind": "patterns",
                    "pattern": "conversion_opportunities",
                    "date_from": period,
                    "goal": goal,
                    "lead_events": [lead],
                },
            )
        )
    found = []
    for key, body in asked:
        got, error = await answer(runtime, grant, body)
        query = {k: v for k, v in body.items() if k != "kind"} | {"kind": "patterns"}
        found.append(
            {
                "key": key,
                "title": PATTERNS[key],
                "result": got.result if got else None,
                "error": error,
                "query": orjson.dumps(query).decode(),
            }
        )
    return page(
        request,
        "patterns.html",
        200,
        **nav(runtime, grant),
        project=grant.project,
        patterns=found,
        period=period,
        periods=PERIODS,
        goal=goal,
        lead=lead,
        events=await known_events(runtime, grant),
        can_edit=grant.role != "viewer",
    )
