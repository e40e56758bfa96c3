"""The retention and paths builders: like the funnel builder, the question lives in the URL, the answer is
drawn below the form, and a member can save it as an insight."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import Answer, answer, filter_menu
from belvedere.web.pages.periods import PERIODS, custom, dates
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.views import view_of

router = APIRouter(include_in_schema=False)
BASE = "/app/projects/{project_id}"
# Retention: each period unit with how far back its cohorts start and how many periods it follows.
RETENTION_UNITS = {
    "day": ("Daily", "-14d", 14),
    "week": ("Weekly", "-12w", 12),
    "month": ("Monthly", "-12m", 12),
}
RETENTION_TYPES = {"first_time": "First time (cohort = first start)", "recurring": "Recurring (every start)"}


def _text(request: Request, name: str, limit: int = 200) -> str:
    return request.query_params.get(name, "").strip()[:limit]


def _render(
    request: Request,
    template: str,
    status_from: tuple[Answer | None, str | None],
    display: str,
    **ctx: Any,
) -> Response:
    found, error = status_from
    return page(
        request,
        template,
        422 if error else 200,
        result=found.result if found else None,
        view=view_of(found.result, display, found.query) if found else None,
        query=json.dumps(found.query) if found else "",
        error=error,
        **ctx,
    )


def _filtered(request: Request) -> tuple[conditions.Conditions, Callable[[conditions.Conditions], str]]:
    return conditions.parse(request.query_params), conditions.page_link(request.query_params)


@router.get(BASE + "/retention")
async def retention(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    where, link = _filtered(request)
    if "nf_field" in request.query_params:
        return redirect(request.url.path + link(where), request)
    unit = _text(request, "period") if _text(request, "period") in RETENTION_UNITS else "week"
    kind = _text(request, "type") if _text(request, "type") in RETENTION_TYPES else "first_time"
    form: dict[str, Any] = {
        "start_event": _text(request, "start_event"),
        "return_event": _text(request, "return_event"),
        "period": unit,
        "type": kind,
        "ltv": request.query_params.get("ltv") == "1",
        "from": _text(request, "from", 10),
        "to": _text(request, "to", 10),
    }
    _, date_from, periods = RETENTION_UNITS[unit]
    # Cohorts starting in a chosen range (at most three years), or the unit's default reach back.
    start, end = _text(request, "from", 10), _text(request, "to", 10)
    span = custom(start, end) if start and end else None
    if span is not None:
        form["from"], form["to"] = span[0].isoformat(), span[1].isoformat()
    else:
        form["from"] = form["to"] = ""
    body: dict[str, Any] = {
        "kind": "retention",
        **({"date_from": form["from"], "date_to": form["to"]} if span else {"date_from": date_from}),
        "period": unit,
        "periods": periods,
        "retention_type": kind,
        "filters": where.filters(),
        "start_event": form["start_event"] or None,
        "return_event": form["return_event"] or None,
    }
    if form["ltv"]:
        body["revenue_property"] = "revenue"
    found = await answer(runtime, grant, body)
    return _render(
        request,
        "retention.html",
        found,
        "retention",
        **nav(runtime, grant),
        project=grant.project,
        form=form,
        units={k: v[0] for k, v in RETENTION_UNITS.items()},
        types=RETENTION_TYPES,
        currency=grant.project.settings.currency,
        where_params=where.params(),
        filter_menu=filter_menu(runtime, grant, where, link, request.query_params),
        can_save=grant.role != "viewer",
    )


@router.get(BASE + "/paths")
async def paths(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    where, link = _filtered(request)
    if "nf_field" in request.query_params:
        return redirect(request.url.path + link(where), request)
    path_type = "events" if _text(request, "type") == "events" else "pages"
    depth = _text(request, "depth")
    period = _text(request, "period") if _text(request, "period") in PERIODS else "7d"
    form = {
        "type": path_type,
        "start": _text(request, "start", 2000),
        "end": _text(request, "end", 2000),
        "depth": int(depth) if depth in ("2", "3", "4", "5") else 4,
        "period": period,
    }
    body: dict[str, Any] = {
        "kind": "paths",
        "path_type": path_type,
        "depth": form["depth"],
        **dates(period),
        "filters": where.filters(),
        "limit": 40,
    }
    if form["start"]:
        body["start"] = form["start"]
    if form["end"]:
        body["end"] = form["end"]
    found = await answer(runtime, grant, body)
    return _render(
        request,
        "paths.html",
        found,
        "sankey",
        **nav(runtime, grant),
        project=grant.project,
        form=form,
        periods=PERIODS,
        can_save=grant.role != "viewer",
        where_params=where.params(),
        filter_menu=filter_menu(runtime, grant, where, link, request.query_params),
    )
