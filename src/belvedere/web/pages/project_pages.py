"""The signed-in pages of a project: the overview with its breakdown panels, and project creation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from belvedere.accounts import organisations, projects
from belvedere.accounts.grants import Grant, ProjectGrant
from belvedere.accounts.models import Organisation
from belvedere.accounts.projects import visible_project_ids
from belvedere.accounts.settings import ProjectSettings, SavedGoal
from belvedere.dashboards import notes
from belvedere.dashboards.models import Annotation
from belvedere.insights.cohorts import service as cohort_service
from belvedere.notify import inbox
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.query.fields import COHORT
from belvedere.query.kinds.breakdown import BreakdownResult, BreakdownRow
from belvedere.query.kinds.event_properties import EventPropertiesResult
from belvedere.query.kinds.goals import GoalsResult
from belvedere.query.kinds.stats import StatsResult
from belvedere.query.kinds.trends import TrendsResult
from belvedere.runtime import Runtime
from belvedere.store.schema import VISIT_DIMENSIONS
from belvedere.web.access import Admin, ProjectViewer, RuntimeDep, SignedIn, request_origin
from belvedere.web.pages import conditions, periods
from belvedere.web.pages.anomaly_views import with_anomalies
from belvedere.web.pages.asking import ask, ask_ahead, filter_menu, known_events
from belvedere.web.pages.conditions import Condition, Conditions
from belvedere.web.pages.goal_views import goal_query, goal_rows
from belvedere.web.pages.periods import INTERVAL, PERIODS, PROJECTED, dates
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.views import compared_name, notes_at, span_label, trend_chart

router = APIRouter(include_in_schema=False)
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
        ("map", "Map", "Country", "country"),  # countries again, drawn on a world map
    ],
    "events": [("event", "Goals and events", "Event", "goal")],
    "devices": [
        ("device_type", "Devices", "Device", "device_type"),
        ("browser", "Browsers", "Browser", "browser"),
        ("os", "Operating systems", "OS", "os"),
    ],
}


@router.get("/")
def home() -> Response:
    return redirect("/app")


@router.get("/favicon.ico")
def favicon() -> Response:
    """Where browsers look when a page names no icon (a JSON answer, a file): the pages' own icon."""
    return redirect("/static/favicon.svg")


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
    """The switcher's content: the projects of every organisation the user is in, the current one first."""
    with transaction(runtime.sessions) as session:
        ids = [grant.org.id]
        if grant.user_id is not None:
            mine = organisations.organisations_of(session, user_id=grant.user_id)
            ids += [org.id for org, _ in mine if org.id != grant.org.id]
        groups = []
        for org_id in ids:
            org = session.get(Organisation, org_id)
            assert org is not None
            projects = [{"id": p.id, "name": p.name} for p in sorted(org.projects, key=lambda p: p.id)]
            groups.append({"id": org.id, "name": org.name, "projects": projects})
        unread = 0
        if grant.user_id is not None:  # the bell: alerts of every project the person can see
            seen = visible_project_ids(session, grant.user_id)
            unread = inbox.unread(session, user_id=grant.user_id, project_ids=seen)
    return {
        "org": grant.org,
        "role": grant.role,
        "projects": groups[0]["projects"],
        "switch": groups,
        "unread": unread,
    }


# The first tabs of the panels that break a visit-level field down (channel, country, device type).
TOGETHER = [tabs[0][0] for tabs in PANELS.values() if tabs[0][0] in VISIT_DIMENSIONS]

# The tabs whose values a details page lists (details_pages.py).
# dimension → (tab label, column title, field a click filters on); not the map (countries again) nor the
# goals panel (its own kind).
DETAILED = {
    d: (label, column, field)
    for tabs in PANELS.values()
    for d, label, column, field in tabs
    if d not in ("map", "event")
}
EXPECTED = "expected"  # the chart beside the range its own past expects (``anomaly_views``), not a period
METRICS = {"visitors": "Visitors", "visits": "Visits", "pageviews": "Pageviews", "events": "Events"}
# How the chart counts each metric, as a trends series.
SERIES = {
    "visitors": {"event": "$pageview", "math": "unique_users"},
    "visits": {"math": "unique_sessions"},
    "pageviews": {"event": "$pageview"},
    "events": {},
}


# The chart's comparison, as the URL spells it (``compare=1``, the old spelling, is the previous period).
COMPARISONS = {
    "": "Nothing",
    "previous_period": "Previous period",
    "previous_year": "Same period last year",
    EXPECTED: "Expected range",
}
COMPARE_VALUE = {"previous_period": "previous", "previous_year": "year", EXPECTED: EXPECTED}
COMPARE_PARAM = {"1": "previous_period", **{v: k for k, v in COMPARE_VALUE.items()}}


@dataclass(frozen=True)
class View:
    """What the overview shows, all of it from the URL so that a view can be bookmarked and shared: period
    (or a custom range), comparison, chart metric, goal and filters."""

    period: str = "7d"
    start: str = ""  # custom range, ISO dates
    end: str = ""
    compare: str = ""  # "", or what the chart shows beside the period: previous_period, previous_year
    metric: str = "visitors"
    goal: str = ""  # a saved goal's name, or an event's
    conditions: Conditions = field(default_factory=Conditions)
    goal_spec: Any = None  # the goal as queries take it: an event name, or {"page": pattern}

    @classmethod
    def of(cls, request: Request, goals: Sequence[SavedGoal] = ()) -> View:
        q = request.query_params
        period = q.get("period", "7d")
        start, end = q.get("from", ""), q.get("to", "")
        span = periods.custom(start, end) if period == "custom" else None
        if period == "custom" and span is not None:
            start, end = span[0].isoformat(), span[1].isoformat()
        elif period not in PERIODS:
            period = "7d"
        return cls(
            period=period,
            start=start if period == "custom" else "",
            end=end if period == "custom" else "",
            compare=COMPARE_PARAM.get(q.get("compare", ""), ""),
            metric=q.get("metric", "visitors") if q.get("metric") in METRICS else "visitors",
            goal=(goal := q.get("goal", "").strip()[:200]),
            conditions=conditions.parse(q),
            goal_spec=goal_query(goal, goals),
        )

    @property
    def figures_against(self) -> str:
        """The period the key figures' changes are against: the chart's comparison when it is a period."""
        return self.compare if self.compare in ("previous_period", "previous_year") else "previous_period"

    @property
    def goal_is_event(self) -> bool:
        """Whether the goal is an event (not a page pattern): its properties can be listed."""
        return not isinstance(self.goal_spec, dict)

    def link(self, where: Conditions | None = None, **change: str | None) -> str:
        """This view's URL query with ``change`` applied (None removes a parameter), and ``where`` instead
        of its conditions when given."""
        params: dict[str, str | None] = {
            "period": self.period,
            "from": self.start or None,
            "to": self.end or None,
            "compare": COMPARE_VALUE.get(self.compare),
            "metric": self.metric if self.metric != "visitors" else None,
            "goal": self.goal or None,
        }
        params.update(change)
        if params.get("period") != "custom":
            params["from"] = params["to"] = None
        kept = [(k, v) for k, v in params.items() if v is not None]
        return "?" + urlencode([*kept, *(where or self.conditions).params()])

    def only(self, field: str, value: str) -> str:
        """The link a row's value leads to: this view, also filtered on it (the goals panel: its goal)."""
        if field == "goal":
            return self.link(goal=value)
        return self.link(self.conditions.adding(Condition(field, "eq", value)))

    def window(self) -> dict[str, Any]:
        span = (
            {"date_from": self.start, "date_to": self.end} if self.period == "custom" else dates(self.period)
        )
        return {**span, "filters": self.conditions.filters()}

    def interval(self) -> str:
        if self.period != "custom":
            return INTERVAL[self.period]
        first, last = date.fromisoformat(self.start), date.fromisoformat(self.end)
        return periods.interval_for_days((last - first).days + 1)


def view_of(request: Request, runtime: Runtime, grant: ProjectGrant) -> View:
    """The page's view, with its conditions on cohorts the project does not have (deleted since the link
    was made, or another project's) left out and said why, as a filter the engine cannot take is."""
    view = View.of(request, grant.project.settings.goals)
    named = view.conditions.cohort_ids()
    if not named:
        return view
    with transaction(runtime.sessions) as session:
        missing = set(cohort_service.missing_ids(session, project_id=grant.project.id, ids=sorted(named)))

    def unknown(c: Condition) -> str | None:
        if c.field == COHORT and c.value.isdigit() and int(c.value) in missing:
            return f"no cohort {c.value} in this project (deleted?): see Cohorts"
        return None

    return replace(view, conditions=view.conditions.refusing(unknown))


def projection_url(project_id: int, view: View) -> str | None:
    """Where the overview loads its projection from, for a period under way that has one."""
    return f"/app/projects/{project_id}/projection{view.link()}" if view.period in PROJECTED else None


def _overview_questions(view: View) -> tuple[dict[str, Any], dict[str, Any]]:
    """The overview's key figures and chart, as a stats and a trends query."""
    window = view.window()
    # The figures always show a change: against the period the chart compares with, or the previous one.
    stats: dict[str, Any] = {"kind": "stats", "compare_to": view.figures_against, **window}
    if view.goal_spec is not None:
        stats["goal"] = view.goal_spec
    series = [SERIES[view.metric]]
    chart = {
        "kind": "trends",
        "interval": view.interval(),
        "series": series,
        "compare": view.compare not in ("", EXPECTED),
        "compare_to": view.figures_against,
        **window,
    }
    return stats, chart


SAVABLE_TABLES = {
    "page": "Top pages",
    "channel": "Channels",
    "referrer_domain": "Referrers",
    "country": "Countries",
    "device_type": "Devices",
    "browser": "Browsers",
}


def _savable(view: View) -> list[tuple[str, str]]:
    """What the overview can save as insights for dashboards, as (label, query JSON): the key figures, the
    chart and the main tables, each over this view's period and filters."""
    window = view.window()
    figures = {"kind": "stats", **window, **({"goal": view.goal_spec} if view.goal_spec else {})}
    chart = {"kind": "trends", "interval": view.interval(), "series": [SERIES[view.metric]], **window}
    items = [("Key figures", figures), (f"Chart of {METRICS[view.metric].lower()}", chart)]
    for dimension, label in SAVABLE_TABLES.items():
        items.append((label, {"kind": "breakdown", "dimension": dimension, "limit": 10, **window}))
    return [(label, json.dumps(query)) for label, query in items]


def _compared_span(stats: StatsResult) -> str:
    if stats.compared_from is None or stats.compared_to is None:
        return ""
    return span_label(stats.compared_from, stats.compared_to)


def _chart(view: View, trends: TrendsResult, shown: list[Annotation]) -> str:
    previous = []
    if trends.previous is not None:
        previous = [(compared_name(view.compare), trends.previous.series[0].data)]
    lines = [(METRICS[view.metric], trends.series[0].data)]
    drawn = trend_chart(trends, lines, previous, "line", [(n.day, n.note) for n in shown])
    return str(drawn["chart"])


def _notes(runtime: Runtime, grant: ProjectGrant, trends: TrendsResult) -> list[Annotation]:
    """The project's notes of the chart's days (its buckets' first day to a month past its last)."""
    if not trends.labels:
        return []
    first = date.fromisoformat(trends.labels[0][:10])
    last = date.fromisoformat(trends.labels[-1][:10]) + timedelta(days=31)
    with transaction(runtime.sessions) as session:
        found = notes.notes_of(session, project_id=grant.project.id, first=first, last=last)
        session.expunge_all()
    return [n for n in found if notes_at(trends.labels, trends.interval, [(n.day, n.note)])]


@router.get("/app/projects/{project_id}")
async def overview(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    view = view_of(request, runtime, grant)
    if "nf_field" in request.query_params:  # a filter added from the menu: to the view's own URL
        return redirect(request.url.path + view.link(), request)
    figures, trend = _overview_questions(view)
    # The goal picker's event names are not asked here: they load when it is first used (``event_names``).
    asked = asyncio.gather(
        ask(runtime, grant, figures, StatsResult),
        ask(runtime, grant, trend, TrendsResult),
    )
    # The panels' first tabs, which the browser asks for once it has the page: asked now, right behind the
    # figures and the chart, so that the store answers them while the page is rendered and travels.
    for tabs in PANELS.values():
        ask_ahead(runtime, grant, panel_query(view, tabs[0][0], "", grant.project.settings.goals))
    stats, chart = await asked
    shown = _notes(runtime, grant, chart)
    drawn, band_note = {"view": "chart", "chart": _chart(view, chart, shown)}, ""
    if view.compare == EXPECTED and trend["interval"] not in ("hour", "day"):
        band_note = (
            "The expected range is drawn by hour or by day: choose 30 days or less"
            " (or a custom range of up to 62 days)."
        )
    elif view.compare == EXPECTED:
        drawn, band_note = await with_anomalies(runtime, grant, drawn, trend, view.conditions.params())
    return page(
        request,
        "overview.html",
        **nav(runtime, grant),
        project=grant.project,
        view=view,
        periods={key: (label, view.link(period=key)) for key, label in PERIODS.items()},
        metrics={key: (label, view.link(metric=key)) for key, label in METRICS.items()},
        comparisons=[
            (label, view.link(compare=COMPARE_VALUE.get(key)), key == view.compare)
            for key, label in COMPARISONS.items()
        ],
        compared=compared_name(view.figures_against).lower(),
        chart_against=COMPARISONS[view.compare].lower() if view.compare else "",
        band_note=band_note,
        filter_menu=filter_menu(runtime, grant, view.conditions, view.link, request.query_params),
        hidden=[
            (k, v)
            for k, v in (
                ("compare", COMPARE_VALUE.get(view.compare)),
                ("metric", view.metric),
                *view.conditions.params(),
            )
            if v
        ],
        goal_remove=view.link(goal=None),
        stats=stats.results,
        currency=grant.project.settings.currency,
        compared_span=_compared_span(stats),
        chart=drawn["chart"],
        notes=shown,
        back=view.link(),
        panels=[(name, view.link(tab=tabs[0][0])) for name, tabs in PANELS.items()],
        savable=_savable(view) if grant.role != "viewer" else [],
        projection_url=projection_url(grant.project.id, view),
    )


@router.get("/app/projects/{project_id}/event-names")
async def event_names(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    """The project's event names as a picker's options (``_event_names.html``), asked when the picker is
    first used rather than with its page: a count over 90 days that the page's first paint does not need
    (the overview's, cold at 10 M events: a third of its own request)."""
    return page(request, "_event_names.html", events=await known_events(runtime, grant))


def _bars(counts: list[int]) -> Callable[[int], str]:
    """A CSS class drawing a row's share of the panel's largest count as a bar behind it (the CSP allows no
    inline style): bar-0 to bar-20, in steps of 5 %."""
    top = max(counts, default=0)
    return lambda count: f"bar-{round(20 * count / top) if top else 0}"


def panel_query(view: View, dimension: str, key: str, saved: Sequence[SavedGoal] = ()) -> dict[str, Any]:
    """The query behind one tab: a breakdown (countries again for the map; with a goal, its conversion
    rate too), the goals (the saved ones, or every event), the goal's property keys, or the values of one
    of them."""
    window = view.window()
    if dimension == "props":
        return {"kind": "event_properties", "event": view.goal_spec, "limit": 20, **window}
    if dimension == "event":
        if not saved:
            return {"kind": "goals", "limit": 10, **window}
        events = [g.event for g in saved if g.event is not None]
        pages = [g.page for g in saved if g.page is not None]
        return {
            "kind": "goals",
            "limit": 20,
            "events": events,
            **({"pages": pages} if pages else {}),
            **window,
        }
    if dimension == "prop":
        window["filters"].append({"property": "event", "operator": "eq", "value": view.goal_spec})
        return {"kind": "breakdown", "dimension": f"properties.{key}", "limit": 10, **window}
    on_map = dimension == "map"
    # The visit-level panels' first tabs, which load together with the page, in one pass over the visits:
    # whichever is asked first keeps the others' answers.
    together = [d for d in TOGETHER if d != dimension] if dimension in TOGETHER else []
    return {
        "kind": "breakdown",
        "dimension": "country" if on_map else dimension,
        "limit": 250 if on_map else 10,
        **({"goal": view.goal_spec} if view.goal_spec is not None else {}),
        **({"together": together} if together else {}),
        **window,
    }


@router.get("/app/projects/{project_id}/panels/{panel}")
async def panel(
    grant: ProjectViewer, request: Request, runtime: RuntimeDep, panel: str, tab: str = "", key: str = ""
) -> Response:
    """One breakdown panel of the overview, loaded after the page (each shows a loading state meanwhile)."""
    tabs = PANELS.get(panel)
    if tabs is None:
        return page(request, "error.html", 404, title="Not found", message="No such panel.")
    saved = grant.project.settings.goals
    view = view_of(request, runtime, grant)
    if panel == "events" and saved:
        tabs = [("event", "Goals", "Goal", "goal")]
    if panel == "events" and view.goal and view.goal_is_event:
        # The goal's own properties, and the values of one of them.
        tabs = [*tabs, ("props", f"Properties of {view.goal}", "Property", "")]
        if tab == "prop" and 0 < len(key) <= 200:
            tabs.append(("prop", key, key, ""))
    dimension, _, column, field = next((t for t in tabs if t[0] == tab), tabs[0])
    question = panel_query(view, dimension, key, saved)
    base = f"/app/projects/{grant.project.id}/panels/{panel}"
    rows: list[BreakdownRow] = []
    keys = goals = None
    if dimension == "props":
        found = (await ask(runtime, grant, question, EventPropertiesResult)).results
        keys = [(k.key, k.events, base + view.link(tab="prop", key=k.key)) for k in found]
    elif dimension == "event":
        goals = goal_rows(await ask(runtime, grant, question, GoalsResult), saved)
    else:
        rows = (await ask(runtime, grant, question, BreakdownResult)).results
    world = None
    if dimension == "map":
        points = [{"name": r.value, "value": r.visitors} for r in rows if r.value]
        world = json.dumps({"type": "map", "labels": [], "series": [{"name": "Visitors", "data": points}]})
    return page(
        request,
        "_panel.html",
        panel=panel,
        tabs=[
            (d, label, base + view.link(tab=d, key=key or None), d == dimension) for d, label, _, _ in tabs
        ],
        column=column,
        rows=rows[:10],
        world=world,
        keys=keys,
        goals=goals,
        countries=column == "Country",
        details=f"/app/projects/{grant.project.id}/details/{dimension}{view.link()}"
        if dimension in DETAILED
        else None,
        bar=_bars([r.visitors for r in rows[:10]]),
        row_link=(lambda value: view.only(field, value)) if field else None,
        # The conversion column: where the rows carry the goal's rate (not a goal property's own values).
        goal=view.goal if any("conversion_rate" in r.model_fields_set for r in rows) else "",
        chosen=view.goal,
        currency=grant.project.settings.currency,
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
    try:
        with transaction(runtime.sessions) as session:
            created = projects.create_project(
                session,
                grant,
                name=name,
                timezone=timezone,
                settings=ProjectSettings(),
                where=request_origin(request),
                plans=runtime.plans,
            )
    except BelvedereError as exc:
        context = {**nav(runtime, grant), "project": None, "error": exc.message, "name": name}
        return page(request, "project_new.html", 422, **context)
    return redirect(f"/app/projects/{created['project_id']}/settings", request)
