"""The analyses beside the trend builder: lifecycle (new, returning, resurrecting, dormant people), usage
(active, new, retained, churned per period) and, for plans that include it, a SQL editor over the project's
events. Each question lives in the URL; lifecycle and usage can be saved as insights."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.accounts.grants import ProjectGrant
from belvedere.runtime import Runtime
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import answer, filter_menu
from belvedere.web.pages.periods import INTERVAL, PERIODS, dates
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.views import view_of

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}"
INTERVALS = {"": "Automatic", "day": "Days", "week": "Weeks", "month": "Months"}
ACTIVITY = {
    "lifecycle": (
        "Lifecycle",
        "bar",
        "Each period's active people: new (their first activity), returning (active the period before too),"
        " resurrecting (back after a gap), and dormant (active the period before, not in this one).",
    ),
    "stickiness": (
        "Stickiness",
        "bar",
        "Of the people active in the period, how many were active on exactly 1, 2, 3… of its days (or weeks,"
        " months): how often people come back.",
    ),
    "usage": (
        "Usage",
        "table",
        "Per period: people ever seen (total), active, new, returning, retained from the period before, and"
        " churned (active the period before, not in this one).",
    ),
}
SQL_EXAMPLE = """SELECT path, count(*) AS views
FROM events
WHERE event = '$pageview'
GROUP BY path
ORDER BY views DESC"""
SQL_MAX = 20_000


def _activity_form(request: Request) -> dict[str, str]:
    q = request.query_params
    period = q.get("period", "")
    return {
        "event": q.get("event", "").strip()[:200],
        "period": period if period in PERIODS and period not in ("today", "yesterday") else "90d",
        "interval": q.get("interval", "") if q.get("interval") in INTERVALS else "",
    }


async def _activity(kind: str, grant: ProjectGrant, request: Request, runtime: Runtime) -> Response:
    form = _activity_form(request)
    where = conditions.parse(request.query_params)

    link = conditions.page_link(request.query_params)
    if "nf_field" in request.query_params:
        return redirect(request.url.path + link(where), request)
    interval = form["interval"] or INTERVAL[form["period"]]
    body: dict[str, Any] = {
        "kind": kind,
        "interval": "day" if interval == "hour" else interval,
        **dates(form["period"]),
        "filters": where.filters(),
    }
    if form["event"]:
        body["event"] = form["event"]
    found, error = await answer(runtime, grant, body)
    title, display, about = ACTIVITY[kind]
    return page(
        request,
        "activity.html",
        422 if error else 200,
        **nav(runtime, grant),
        project=grant.project,
        kind=kind,
        title=title,
        about=about,
        form=form,
        periods={k: v for k, v in PERIODS.items() if k not in ("today", "yesterday")},
        intervals=INTERVALS,
        where_params=where.params(),
        filter_menu=filter_menu(runtime, grant, where, link, request.query_params),
        result=found.result if found else None,
        view=view_of(found.result, display, found.query) if found else None,
        table=view_of(found.result, "table", found.query) if found and display != "table" else None,
        query=json.dumps(found.query) if found else "",
        error=error,
        can_save=grant.role != "viewer",
    )


@router.get(BASE + "/lifecycle")
async def lifecycle(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return await _activity("lifecycle", grant, request, runtime)


@router.get(BASE + "/stickiness")
async def stickiness(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return await _activity("stickiness", grant, request, runtime)


@router.get(BASE + "/usage")
async def usage(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return await _activity("usage", grant, request, runtime)


@router.get(BASE + "/sql")
async def sql_editor(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    """One SELECT over the project's own events (the query API's ``sql`` kind: the plan must include it; the
    statement is checked and sandboxed, time and memory limited, rows capped)."""
    text = request.query_params.get("q", "")[:SQL_MAX]
    found, error = (None, None)
    if text.strip():
        found, error = await answer(runtime, grant, {"kind": "sql", "query": text, "limit": 500})
    return page(
        request,
        "sql.html",
        422 if error else 200,
        **nav(runtime, grant),
        project=grant.project,
        text=text or SQL_EXAMPLE,
        asked=bool(text.strip()),
        result=found.result if found else None,
        error=error,
        limit=SQL_MAX,
    )
