"""The funnel builder: the question lives in the URL (steps, window, order, period, exclusions, breakdown),
so it can be bookmarked; the answer shows the steps, conversion over time, the time to convert, the funnel
per breakdown value and, for a clicked count, the people behind it."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.dashboards import service
from belvedere.platform.db import transaction
from belvedere.query.fields import COHORT
from belvedere.query.kinds.funnel import FunnelPeopleResult, FunnelResult
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import Answer, answer, filter_menu, known_events
from belvedere.web.pages.cohort_breakdown import MAX_SHOWN, project_cohorts
from belvedere.web.pages.funnel_views import breakdown_table, histogram_chart, over_time_chart, step_rows
from belvedere.web.pages.periods import PERIODS, dates, period_of
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.views import duration, step_text, view_of

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
INTERVALS = {"day": "Day", "week": "Week", "month": "Month"}
MAX_STEPS = 20
MAX_EXCLUSIONS = 5
PEOPLE_PAGE = 50
PROPERTY = "property"  # the breakdown choice that reads the property named beside it
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
BREAKDOWNS = {
    "": "None",
    "browser": "Browser",
    "os": "Operating system",
    "device_type": "Device type",
    "country": "Country",
    "channel": "Channel",
    "utm_source": "UTM source",
    "referrer_domain": "Referrer",
    COHORT: "Saved cohorts",
    PROPERTY: "A property\u2026",
}
_PEOPLE_KEYS = {"people_step", "people_status", "people_page", "add", "remove"}


def _blank_step() -> dict[str, str]:
    return {"event": "", "field": "path", "value": ""}


def _number(text: str | None, default: int, low: int, high: int) -> int:
    return min(high, max(low, int(text))) if text and text.isdigit() and len(text) < 6 else default


def _text(items: list[str], i: int, limit: int = 2000) -> str:
    return items[i].strip()[:limit] if i < len(items) else ""


def _steps(request: Request) -> list[dict[str, str]]:
    params = request.query_params
    events = params.getlist("step")[:MAX_STEPS]
    fields, values = params.getlist("field"), params.getlist("value")
    paths = params.getlist("path")  # links made before steps had any field: the path is the filter
    steps = []
    for i, event in enumerate(events):
        value = _text(values, i) or _text(paths, i)
        steps.append({"event": event.strip()[:200], "field": _text(fields, i, 200) or "path", "value": value})
    remove = params.get("remove")
    if remove is not None and remove.isdigit() and int(remove) < len(steps):
        steps.pop(int(remove))
    if "add" in params and len(steps) < MAX_STEPS:
        steps.append(_blank_step())
    while len(steps) < 2:
        steps.append(_blank_step())
    return steps


def _exclusions(request: Request, n: int) -> list[dict[str, Any]]:
    params = request.query_params
    events, froms, tos = (
        params.getlist("exclude"),
        params.getlist("exclude_from"),
        params.getlist("exclude_to"),
    )
    out = []
    for i, event in enumerate(events[:MAX_EXCLUSIONS]):
        if event.strip():
            first = _number(_text(froms, i), 1, 1, n - 1)
            out.append({"event": event.strip()[:200], "from": first, "to": _number(_text(tos, i), n, 2, n)})
    return out


def funnel_form(request: Request) -> dict[str, Any]:
    """The builder's state from the URL: steps (an event, and optionally a field that must equal a value:
    the page path by default), window, order, period, exclusions, breakdown, the bucket of conversion over
    time, the two steps timed, and the people asked for."""
    params = request.query_params
    steps = _steps(request)
    n = len(steps)
    changed = "add" in params or "remove" in params
    window = _number(params.get("window"), 14 * 86400, 1, 366 * 86400)
    breakdown = params.get("breakdown", "")
    chosen = params.get("breakdown_property", "").strip()[:200]
    people = None
    if params.get("people_step"):
        status = params.get("people_status")
        people = {
            "step": _number(params.get("people_step"), 1, 1, n),
            "status": status if status in ("converted", "dropped") else "converted",
            "page": _number(params.get("people_page"), 1, 1, 2000),
        }
    return {
        "steps": steps,
        "window": window if window in WINDOWS else 14 * 86400,
        "order": params.get("order") if params.get("order") in ORDERS else "ordered",
        "period": params.get("period") if params.get("period") in PERIODS else "30d",
        "exclusions": _exclusions(request, n),
        "breakdown": breakdown if breakdown in BREAKDOWNS else "",
        "breakdown_property": chosen,
        "cohorts": [int(c) for c in params.getlist("cohort") if c.isdigit() and len(c) < 19][:MAX_SHOWN],
        "interval": params.get("interval") if params.get("interval") in INTERVALS else "day",
        # Steps added or removed: time the whole funnel again.
        "time_from": 1 if changed else _number(params.get("time_from"), 1, 1, n - 1),
        "time_to": n if changed else _number(params.get("time_to"), n, 2, n),
        "people": people,
        "run": not changed and any(s["event"] for s in steps),
    }


def _breakdown_field(form: dict[str, Any]) -> str | None:
    if form["breakdown"] == PROPERTY:
        return f"properties.{form['breakdown_property']}" if form["breakdown_property"] else None
    return form["breakdown"] or None


def _breakdown_name(form: dict[str, Any]) -> str:
    return str(form["breakdown_property"] if form["breakdown"] == PROPERTY else BREAKDOWNS[form["breakdown"]])


def funnel_query(form: dict[str, Any]) -> dict[str, Any]:
    """The question the form asks, as it is saved."""
    steps = []
    for step in form["steps"]:
        if not step["event"]:
            continue
        filters = (
            [{"property": step["field"], "operator": "eq", "value": step["value"]}] if step["value"] else []
        )
        steps.append({"event": step["event"], "filters": filters})
    query: dict[str, Any] = {
        "kind": "funnel",
        "steps": steps,
        "window": form["window"],
        "order": form["order"],
        **dates(form["period"]),
    }
    if form["exclusions"]:
        query["exclusions"] = [
            {"event": x["event"], "from_step": x["from"], "to_step": x["to"]} for x in form["exclusions"]
        ]
    breakdown = _breakdown_field(form)
    if breakdown:
        query["breakdown"] = breakdown
    if breakdown == COHORT:
        query["breakdown_cohorts"] = form["cohorts"]
    return query


def _shown_query(form: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """``query`` with what the page shows beside the steps: conversion over time, the time to convert."""
    shown = {**query, "over_time": True, "interval": form["interval"]}
    if form["order"] != "unordered":
        shown["time_to_convert"] = {"from_step": form["time_from"], "to_step": form["time_to"], "bins": 12}
    return shown


def _people_query(form: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    asked = form["people"]
    body = {k: v for k, v in query.items() if k not in ("breakdown", "breakdown_cohorts")}
    return {
        **body,
        "kind": "funnel_people",
        "step": asked["step"],
        "status": asked["status"],
        "limit": PEOPLE_PAGE,
        "offset": (asked["page"] - 1) * PEOPLE_PAGE,
    }


def funnel_link(query: dict[str, Any]) -> str | None:
    """The funnel builder's URL query for a saved funnel, when the builder can show it (each step at most one
    "equals" condition, exclusions without conditions, a period it offers); None otherwise (its question is
    still editable as JSON)."""
    where = conditions.from_filters(query.get("filters") or [], legacy=False)
    if query.get("kind") != "funnel" or where is None:
        return None
    period = period_of(query)
    params: list[tuple[str, str]] = []
    for step in query.get("steps", []):
        filters = step.get("filters") or []
        if len(filters) > 1 or any(f.get("operator", "eq") != "eq" for f in filters):
            return None
        field, value = (filters[0]["property"], str(filters[0]["value"])) if filters else ("path", "")
        params += [("step", step["event"]), ("field", field), ("value", value)]
    for excluded in query.get("exclusions", []):
        if excluded.get("filters"):
            return None
        params += [
            ("exclude", excluded["event"]),
            ("exclude_from", str(excluded["from_step"])),
            ("exclude_to", str(excluded["to_step"])),
        ]
    breakdown = query.get("breakdown")
    if breakdown is not None:
        if breakdown.startswith("properties."):
            params += [("breakdown", PROPERTY), ("breakdown_property", breakdown[len("properties.") :])]
        elif breakdown in BREAKDOWNS:
            params.append(("breakdown", breakdown))
            params += [("cohort", str(c)) for c in query.get("breakdown_cohorts") or []]
        else:
            return None
    if period is None:
        return None
    params += [("window", str(query.get("window", 14 * 86400))), ("order", query.get("order", "ordered"))]
    return urlencode([*params, ("period", period), *where.params()])


def _link(request: Request, **change: Any) -> str:
    """This page's URL without its people list, and with ``change``."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _PEOPLE_KEYS]
    return "?" + urlencode([*kept, *((k, str(v)) for k, v in change.items())])


def _people_view(
    request: Request, project_id: int, form: dict[str, Any], found: Answer | None, query: dict[str, Any]
) -> dict[str, Any]:
    result = found.result if found else None
    assert result is None or isinstance(result, FunnelPeopleResult)
    asked = form["people"]
    k, page_no = asked["step"], asked["page"]
    label = (
        f"step {k}: " + step_text(k, query["steps"][k - 1]["event"], query["steps"][k - 1]).split(". ", 1)[1]
    )
    total = result.total if result else 0

    def at(number: int) -> str:
        return _link(request, people_step=k, people_status=asked["status"], people_page=number) + "#people"

    return {
        "heading": f"Dropped off before {label}" if asked["status"] == "dropped" else f"Reached {label}",
        "total": total,
        "people": [
            {
                "id": p.person_id,
                "href": f"/app/projects/{project_id}/person?" + urlencode({"id": p.person_id}),
                "time": None if p.time_to_convert is None else duration(p.time_to_convert),
            }
            for p in (result.people if result else [])
        ],
        "first": (page_no - 1) * PEOPLE_PAGE + 1,
        "previous": at(page_no - 1) if page_no > 1 else None,
        "next": at(page_no + 1) if page_no * PEOPLE_PAGE < total else None,
        "close": _link(request) + "#funnel-title",
    }


@router.get(BASE + "/funnels")
async def funnels(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    # The step fields use the common fields' names (``path=``): conditions are all spelt ``f=…`` here.
    where = conditions.parse(request.query_params, legacy=False)
    link = conditions.page_link(request.query_params, legacy=False)
    if "nf_field" in request.query_params:
        return redirect(request.url.path + link(where), request)
    form = funnel_form(request)
    cohorts = project_cohorts(runtime, grant)
    if form["breakdown"] == COHORT and not form["cohorts"]:  # none chosen: the first ones
        form["cohorts"] = [number for number, _ in cohorts[:MAX_SHOWN]]
    query = funnel_query(form)
    if where.kept:
        query["filters"] = where.filters()
    found, error, people, people_error = None, None, None, None
    if form["run"] and form["breakdown"] == COHORT and not cohorts:
        error = "no saved cohort in this project yet: save one on the Cohorts page to break down by it"
    elif form["run"]:
        asks = [answer(runtime, grant, _shown_query(form, query))]
        if form["people"] is not None and len(query["steps"]) >= form["people"]["step"]:
            asks.append(answer(runtime, grant, _people_query(form, query)))
        answers = await asyncio.gather(*asks)
        found, error = answers[0]
        if len(answers) > 1 and error is None:
            asked, people_error = answers[1]
            people = _people_view(request, grant.project.id, form, asked, query)
    events = await known_events(runtime, grant)
    with transaction(runtime.sessions) as session:
        saved = [
            (i.id, i.name) for i in service.insights(session, project_id=grant.project.id, kind="funnel")
        ]
    result = found.result if found else None
    assert result is None or isinstance(result, FunnelResult)
    return page(
        request,
        "funnels.html",
        422 if error else 200,
        **nav(runtime, grant),
        project=grant.project,
        form=form,
        windows=WINDOWS,
        orders=ORDERS,
        intervals=INTERVALS,
        breakdowns=BREAKDOWNS,
        step_fields=STEP_FIELDS,
        periods=PERIODS,
        events=events,
        result=result,
        **(_answer_views(request, form, query, _named(result, dict(cohorts))) if result else {}),
        cohorts=cohorts,
        cohort_breakdown=COHORT,
        people=people,
        people_error=people_error,
        # What "save" keeps: the question without what the page adds beside it.
        query=json.dumps(_saved(found.query)) if found else "",
        error=error,
        saved=saved,
        where_params=where.params(),
        filter_menu=filter_menu(runtime, grant, where, link, request.query_params),
        can_save=grant.role != "viewer",
        drivers_url=f"{request.url.path}/drivers?{request.url.query}",
    )


def _named(result: FunnelResult, names: dict[int, str]) -> FunnelResult:
    """The answer with each cohort's number, in a breakdown by cohort, given with its name."""
    if result.breakdown is None:
        return result
    groups = [
        g.model_copy(update={"value": f"{names[g.value]} (no. {g.value})"})
        if isinstance(g.value, int) and g.value in names
        else g
        for g in result.breakdown
    ]
    return result.model_copy(update={"breakdown": groups})


def _saved(query: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in query.items() if k not in ("over_time", "interval", "time_to_convert")}


def _answer_views(
    request: Request, form: dict[str, Any], query: dict[str, Any], result: FunnelResult
) -> dict[str, Any]:
    def people(step: int, status: str) -> str:
        return _link(request, people_step=step, people_status=status) + "#people"

    funnel = view_of(result, "funnel", query)
    breakdown = _breakdown_field(form)
    return {
        "chart": funnel["chart"],
        "table": step_rows(result, query, people),
        "breakdown": breakdown_table(result, _breakdown_name(form))
        if breakdown and result.breakdown
        else None,
        "over_time": over_time_chart(result.over_time) if result.over_time else None,
        "histogram": histogram_chart(result.time_to_convert) if result.time_to_convert else None,
    }
