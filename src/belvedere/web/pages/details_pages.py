"""A panel's details: every value of one of the overview's breakdowns (its top 1,000 by visitors), searched,
a page at a time, and as a CSV file — over the overview's period and filters."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from belvedere.query.kinds.breakdown import BreakdownResult, BreakdownRow
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages.asking import ask
from belvedere.web.pages.countries import country_name
from belvedere.web.pages.project_pages import DETAILED, nav, panel_query, view_of
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
TOP = 1000  # the most values a breakdown answers at once


def _label(dimension: str, value: Any) -> str:
    if value is None:
        return "(none)"
    return f"{country_name(value)} ({value})" if dimension == "country" else str(value)


@router.get("/app/projects/{project_id}/details/{dimension}")
async def details(
    grant: ProjectViewer,
    request: Request,
    runtime: RuntimeDep,
    dimension: str,
    q: str = "",
    page_no: int = Query(1, alias="page", ge=1, le=TOP // PAGE_SIZE),
    format: str = "",
) -> Response:
    if dimension not in DETAILED:
        return page(request, "error.html", 404, title="Not found", message="No such list of values.")
    label, column, field = DETAILED[dimension]
    view = view_of(request, runtime, grant)
    question = {**panel_query(view, dimension, ""), "limit": TOP}
    answer = await ask(runtime, grant, question, BreakdownResult)
    search = q.strip()[:200].lower()
    rows = [r for r in answer.results if not search or search in _label(dimension, r.value).lower()]
    if format == "csv":
        return _csv(dimension, column, rows)
    shown = rows[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
    top = max((r.visitors for r in rows), default=0)
    base = request.url.path + view.link()

    def link(**change: Any) -> str:
        params = {"q": q.strip() or None, "page": None, **change}
        extra = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{base}&{extra}" if extra else base

    return page(
        request,
        "details.html",
        **nav(runtime, grant),
        project=grant.project,
        title=label,
        column=column,
        dimension=dimension,
        rows=[
            (r, _label(dimension, r.value), f"bar-{round(20 * r.visitors / top) if top else 0}")
            for r in shown
        ],
        row_link=lambda value: f"/app/projects/{grant.project.id}{view.only(field, value)}",
        overview=f"/app/projects/{grant.project.id}{view.link()}",
        refused=view.conditions.refused,
        hidden=[(k, v) for k, v in request.query_params.items() if k not in ("q", "page", "format")],
        q=q.strip(),
        found=len(rows),
        capped=answer.total_values > TOP,
        total=answer.total_values,
        first=(page_no - 1) * PAGE_SIZE + 1 if shown else 0,
        last=(page_no - 1) * PAGE_SIZE + len(shown),
        previous=link(page=page_no - 1) if page_no > 1 else None,
        next=link(page=page_no + 1) if page_no * PAGE_SIZE < len(rows) else None,
        csv=link(format="csv"),
    )


def _csv(dimension: str, column: str, rows: list[BreakdownRow]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column, "Visitors", "Visits", "Pageviews", "Bounce rate (%)", "Visit duration (s)"])
    for r in rows:
        value = "" if r.value is None else str(r.value)
        writer.writerow([value, r.visitors, r.visits, r.pageviews, r.bounce_rate, r.visit_duration])
    name = f"{dimension}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
