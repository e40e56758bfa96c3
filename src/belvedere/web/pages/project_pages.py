"""The signed-in pages of a project: the overview with its breakdown panels, and project creation."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import TypeAdapter

from belvedere.accounts import organisations
from belvedere.accounts.models import Organisation
from belvedere.accounts.plans import PlanError
from belvedere.accounts.service import create_project_in
from belvedere.accounts.settings import check_timezone
from belvedere.platform.db import transaction
from belvedere.query.kinds import AnyQuery
from belvedere.runtime import Runtime
from belvedere.web.access import Admin, Grant, RuntimeDep, SignedIn, Viewer, audit
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
QUERY = TypeAdapter(AnyQuery)
PERIODS = {"today": "Today", "7d": "7 days", "30d": "30 days", "90d": "90 days", "12m": "12 months"}
RELATIVE = {"today": "today", "7d": "-7d", "30d": "-30d", "90d": "-90d", "12m": "-12m"}
INTERVAL = {"today": "hour", "7d": "day", "30d": "day", "90d": "week", "12m": "month"}
# Fields the overview filters on when a row is clicked (URL parameter = field name).
FILTER_FIELDS = {
    "path": "Page",
    "channel": "Channel",
    "referrer_domain": "Referrer",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "country": "Country",
    "region": "Region",
    "city": "City",
    "browser": "Browser",
    "os": "OS",
    "device_type": "Device",
}
# The overview's breakdown panels: tabs of (dimension, tab label, column title, field a click filters on).
PANELS: dict[str, list[tuple[str, str, str, str]]] = {
    "pages": [
        ("page", "Top pages", "Page", "path"),
        ("entry_page", "Entry pages", "Entry page", "path"),
        ("exit_page", "Exit pages", "Exit page", "path"),
    ],
    "sources": [
        ("channel", "Channels", "Channel", "channel"),
        ("referrer_domain", "Referrers", "Referrer", "referrer_domain"),
        ("utm_source", "UTM sources", "Source", "utm_source"),
        ("utm_medium", "UTM media", "Medium", "utm_medium"),
        ("utm_campaign", "UTM campaigns", "Campaign", "utm_campaign"),
    ],
    "locations": [
        ("country", "Countries", "Country", "country"),
        ("region", "Regions", "Region", "region"),
        ("city", "Cities", "City", "city"),
    ],
    "devices": [
        ("device_type", "Devices", "Device", "device_type"),
        ("browser", "Browsers", "Browser", "browser"),
        ("os", "Operating systems", "OS", "os"),
    ],
}


@router.get("/")
def home() -> Response:
    return redirect("/app")


@router.get("/app")
def app_home(caller: SignedIn, runtime: RuntimeDep) -> Response:
    """The first project of the caller's first organisation, or the form to create one."""
    assert caller.user_id is not None
    with transaction(runtime.sessions) as session:
        orgs = organisations.organisations_of(session, user_id=caller.user_id)
        if not orgs:
            return redirect("/signup")
        org = session.get(Organisation, orgs[0][0].id)
        assert org is not None
        projects = sorted(org.projects, key=lambda p: p.id)
        if not projects:
            return redirect(f"/app/orgs/{org.id}/projects/new")
        return redirect(f"/app/projects/{projects[0].id}")


def nav(runtime: Runtime, grant: Grant) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        org = session.get(Organisation, grant.org.id)
        assert org is not None
        projects = [{"id": p.id, "name": p.name} for p in sorted(org.projects, key=lambda p: p.id)]
    return {"org": grant.org, "role": grant.role, "projects": projects}


def run_query(runtime: Runtime, grant: Grant, body: dict[str, Any]) -> dict[str, Any]:
    assert grant.project is not None
    query = QUERY.validate_python(body)
    return runtime.queries.run(query, project_id=grant.project.id, timezone=grant.project.timezone)


def _filters(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in FILTER_FIELDS and v and len(v) <= 2000}


def _link(period: str, filters: dict[str, str], **change: str | None) -> str:
    """The overview's URL with ``change`` applied (a value of None removes that filter)."""
    params = {"period": period, **filters, **change}
    return "?" + urlencode({k: v for k, v in params.items() if v is not None})


def _overview_data(runtime: Runtime, grant: Grant, period: str, filters: dict[str, str]) -> dict[str, Any]:
    window: dict[str, Any] = {
        "date_from": RELATIVE[period],
        "filters": [{"property": k, "operator": "eq", "value": v} for k, v in filters.items()],
    }
    chart = {
        "kind": "trends",
        "interval": INTERVAL[period],
        "series": [{"event": "$pageview", "math": "unique_users"}, {"event": "$pageview"}],
        **window,
    }
    return {
        "stats": run_query(runtime, grant, {"kind": "stats", **window})["results"],
        "chart": run_query(runtime, grant, chart),
    }


@router.get("/app/projects/{project_id}")
async def overview(grant: Viewer, request: Request, runtime: RuntimeDep, period: str = "7d") -> Response:
    period = period if period in PERIODS else "7d"
    filters = _filters(request)
    data = await run_in_threadpool(_overview_data, runtime, grant, period, filters)
    trends = data["chart"]
    chart = {
        "labels": trends["labels"],
        "series": [
            {"name": "Visitors", "data": trends["series"][0]["data"]},
            {"name": "Pageviews", "data": trends["series"][1]["data"]},
        ],
    }
    return page(
        request,
        "overview.html",
        **nav(runtime, grant),
        project=grant.project,
        period=period,
        periods={key: (label, _link(key, filters)) for key, label in PERIODS.items()},
        filters=[(FILTER_FIELDS[k], v, _link(period, filters, **{k: None})) for k, v in filters.items()],
        stats=data["stats"],
        chart=json.dumps(chart),
        panels=[(name, _link(period, filters, tab=tabs[0][0])) for name, tabs in PANELS.items()],
    )


@router.get("/app/projects/{project_id}/panels/{panel}")
async def panel(
    grant: Viewer, request: Request, runtime: RuntimeDep, panel: str, period: str = "7d", tab: str = ""
) -> Response:
    """One breakdown panel of the overview, loaded after the page (each shows a loading state meanwhile)."""
    tabs = PANELS.get(panel)
    if tabs is None:
        return page(request, "error.html", 404, title="Not found", message="No such panel.")
    period = period if period in PERIODS else "7d"
    filters = _filters(request)
    dimension, _, column, field = next((t for t in tabs if t[0] == tab), tabs[0])
    body = {
        "kind": "breakdown",
        "dimension": dimension,
        "limit": 10,
        "date_from": RELATIVE[period],
        "filters": [{"property": k, "operator": "eq", "value": v} for k, v in filters.items()],
    }
    result = await run_in_threadpool(run_query, runtime, grant, body)
    base = f"/app/projects/{grant.project.id if grant.project else 0}/panels/{panel}"
    return page(
        request,
        "_panel.html",
        panel=panel,
        tabs=[(d, label, base + _link(period, filters, tab=d), d == dimension) for d, label, _, _ in tabs],
        column=column,
        rows=result["results"],
        row_link=lambda value: _link(period, filters, **{field: value}),
    )


@router.get("/app/orgs/{org_id}/projects/new")
def new_project_page(grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return page(request, "project_new.html", **nav(runtime, grant), project=None)


@router.post("/app/orgs/{org_id}/projects/new")
def create_project(
    grant: Admin,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
) -> Response:
    error = None
    try:
        check_timezone(timezone)
        with transaction(runtime.sessions) as session:
            used = organisations.project_count(session, organisation_id=grant.org.id)
            runtime.plans.check_limit(grant.org.plan, "projects", used)
            created = create_project_in(session, organisation_id=grant.org.id, name=name, timezone=timezone)
            audit(session, grant, request, "project_created", project_id=created.project.id)
    except (ValueError, PlanError) as exc:
        error = exc.message if isinstance(exc, PlanError) else str(exc)
    if error:
        return page(
            request, "project_new.html", 422, **nav(runtime, grant), project=None, error=error, name=name
        )
    return redirect(f"/app/projects/{created.project.id}/settings", request)
