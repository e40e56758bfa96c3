"""The insight builder (Trends): several series of any event with any math, a formula between them, a
breakdown, filters per series and for all, drawn as a line, bars, a number, a table or a pie, compared with
an earlier period, and saved as an insight. Like every builder, the question lives in the URL."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from belvedere.query.fields import COHORT, PROPERTY_PREFIX
from belvedere.query.kinds.trends import TrendsResult
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.anomaly_views import with_anomalies
from belvedere.web.pages.asking import answer, filter_menu
from belvedere.web.pages.cohort_breakdown import MAX_SHOWN, named, project_cohorts
from belvedere.web.pages.conditions import FIELD_LABELS, Condition, Conditions
from belvedere.web.pages.periods import INTERVAL, PERIODS, custom, dates, interval_for_days, period_of
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.views import view_of

router = APIRouter(include_in_schema=False)
MAX_SERIES = 10
ANY_EVENT = "$all"  # the series counts every event
MATHS = {
    "total": "Total count",
    "unique_users": "Unique people",
    "unique_sessions": "Visits",
    "sum": "Sum of",
    "avg": "Average of",
    "min": "Minimum of",
    "max": "Maximum of",
    "median": "Median of",
    "p90": "90th percentile of",
    "p95": "95th percentile of",
    "p99": "99th percentile of",
}
DISPLAYS = {"line": "Line", "bar": "Bars", "number": "Number", "table": "Table", "pie": "Pie"}
INTERVALS = {"": "Automatic", "hour": "Hours", "day": "Days", "week": "Weeks", "month": "Months"}
COMPARES = {"": "Nothing", "previous": "Previous period", "year": "Same period last year"}
_COMPARE_TO = {"previous": "previous_period", "year": "previous_year"}
# Numbers a series can sum or average (any ``properties.<name>`` too).
NUMBER_FIELDS = ("revenue", "cost", "properties.amount", "properties.duration")


@dataclass
class SeriesForm:
    event: str = ""
    math: str = "total"
    prop: str = ""
    where: Condition = field(default_factory=lambda: Condition("", "eq", ""))

    @property
    def used(self) -> bool:
        return bool(self.event)


@dataclass
class BuilderForm:
    series: list[SeriesForm]
    formula: str = ""
    breakdown: str = ""
    display: str = "line"
    period: str = "30d"  # a key of PERIODS, or "custom": from ``start`` to ``end``
    interval: str = ""
    compare: str = ""
    run: bool = True
    start: str = ""  # the custom range's first and last days, ISO dates
    end: str = ""
    anomalies: bool = False  # the first series' expected range, and its anomalies (``anomaly_views``)
    cohorts: list[int] = field(default_factory=list)  # with ``breakdown: cohort``: the cohorts' numbers

    @classmethod
    def of(cls, params: QueryParams) -> BuilderForm:
        def at(name: str, i: int, limit: int = 200) -> str:
            values = params.getlist(name)
            return values[i].strip()[:limit] if i < len(values) else ""

        series = [
            SeriesForm(
                event=at("event", i),
                math=at("math", i) if at("math", i) in MATHS else "total",
                prop=at("prop", i),
                where=Condition(at("sf", i), at("so", i) or "eq", at("sv", i, 1000)),
            )
            for i in range(min(len(params.getlist("event")), MAX_SERIES))
        ]
        remove = params.get("remove", "")
        if remove.isdigit() and int(remove) < len(series):
            series.pop(int(remove))
        if "add" in params and len(series) < MAX_SERIES:
            series.append(SeriesForm())
        if not series:
            series = [SeriesForm(event="$pageview", math="unique_users")]
        pick = params.get
        period, start, end = pick("period", ""), "", ""
        # A custom range as the overview takes it (``period=custom&from=…&to=…``); unusable dates: 30 days.
        span = custom(pick("from", ""), pick("to", "")) if period == "custom" else None
        if span is not None:
            start, end = span[0].isoformat(), span[1].isoformat()
        elif period not in PERIODS:
            period = "30d"
        return cls(
            series=series,
            formula=pick("formula", "").strip()[:200],
            breakdown=pick("breakdown", "").strip()[:210],
            display=pick("display", "") if pick("display") in DISPLAYS else "line",
            period=period,
            interval=pick("interval", "") if pick("interval") in INTERVALS else "",
            compare=pick("compare", "") if pick("compare") in COMPARES else "",
            run="add" not in params and "remove" not in params,
            start=start,
            end=end,
            anomalies=pick("anomalies", "") == "1",
            cohorts=[int(c) for c in params.getlist("cohort") if c.isdigit() and len(c) < 19][:MAX_SHOWN],
        )

    @property
    def period_label(self) -> str:
        if self.period == "custom":
            return f"From {self.start} to {self.end}"
        return PERIODS[self.period]

    def window(self) -> dict[str, Any]:
        """The query's dates and the interval that suits them (unless one is chosen)."""
        if self.period != "custom":
            return {"interval": self.interval or INTERVAL[self.period], **dates(self.period)}
        days = (date.fromisoformat(self.end) - date.fromisoformat(self.start)).days + 1
        return {
            "interval": self.interval or interval_for_days(days),
            "date_from": self.start,
            "date_to": self.end,
        }

    def params(self, where: Conditions) -> list[tuple[str, str]]:
        """As the URL spells it (series as parallel lists, the page's filters after)."""
        out: list[tuple[str, str]] = []
        for s in self.series:
            out += [("event", s.event), ("math", s.math), ("prop", s.prop)]
            out += [("sf", s.where.field), ("so", s.where.operator), ("sv", s.where.value)]
        for key in ("formula", "breakdown", "interval", "compare"):
            if getattr(self, key):
                out.append((key, getattr(self, key)))
        if self.anomalies:
            out.append(("anomalies", "1"))
        if self.breakdown == COHORT:
            out += [("cohort", str(c)) for c in self.cohorts]
        span = [("from", self.start), ("to", self.end)] if self.period == "custom" else []
        return [*out, ("display", self.display), ("period", self.period), *span, *where.params()]


def builder_query(form: BuilderForm, where: Conditions) -> dict[str, Any]:
    """The trends query the form asks (checked by the query model like any other: errors are shown)."""
    series = []
    for s in form.series:
        if not s.used:
            continue
        item: dict[str, Any] = {"event": None if s.event == ANY_EVENT else s.event, "math": s.math}
        if s.prop:
            item["math_property"] = s.prop
        if s.where.field:
            item["filters"] = [s.where.filter()]
        series.append(item)
    body: dict[str, Any] = {
        "kind": "trends",
        "series": series,
        **form.window(),
        "filters": where.filters(),
    }
    if form.formula:
        body["formula"] = form.formula
    if form.breakdown:
        body["breakdown"] = form.breakdown
    if form.breakdown == COHORT:
        body["breakdown_cohorts"] = form.cohorts
    if form.compare:
        body.update(compare=True, compare_to=_COMPARE_TO[form.compare])
    if form.display in ("number", "pie"):
        body["totals"] = True
    return body


def trends_link(query: dict[str, Any]) -> str | None:
    """The builder's URL query for a saved trends question, when the builder can show it (a period it
    offers, at most one condition per series); None otherwise."""
    period, start, end = period_of(query), "", ""
    span = _fixed_range(query)
    if period is None and span is not None:
        period, start, end = "custom", *span
    if query.get("kind") != "trends" or period is None or query.get("cumulative"):
        return None
    form = BuilderForm(series=[], period=period, interval=query.get("interval", ""), start=start, end=end)
    for s in query.get("series", []):
        filters = s.get("filters") or []
        if len(filters) > 1 or any(f.get("operator") in ("in", "not_in") for f in filters):
            return None
        where = (
            Condition(
                filters[0]["property"],
                filters[0].get("operator", "eq"),
                conditions.value_text(filters[0].get("value")),
            )
            if filters
            else Condition("", "eq")
        )
        form.series.append(
            SeriesForm(
                s.get("event") or ANY_EVENT, s.get("math", "total"), s.get("math_property") or "", where
            )
        )
    form.formula = query.get("formula") or ""
    form.breakdown = query.get("breakdown") or ""
    form.cohorts = list(query.get("breakdown_cohorts") or [])
    if query.get("compare"):
        form.compare = "year" if query.get("compare_to") == "previous_year" else "previous"
    kept = conditions.from_filters(query.get("filters") or [])
    return None if kept is None else urlencode(form.params(kept))


def _fixed_range(query: dict[str, Any]) -> tuple[str, str] | None:
    """A saved question's dates when they are two ISO days in order that the builder takes as a custom
    range (first and last day included, as the query reads them)."""
    first, last = query.get("date_from"), query.get("date_to")
    if not isinstance(first, str) or not isinstance(last, str) or len(first) != 10 or len(last) != 10:
        return None
    span = custom(first, last)
    if span is None or (span[0].isoformat(), span[1].isoformat()) != (first, last):
        return None
    return first, last


def _breakdowns() -> dict[str, str]:
    return {"": "Nothing", **{k: v for k, v in FIELD_LABELS.items()}}


@router.get("/app/projects/{project_id}/trends")
async def trends(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    params = request.query_params
    where = conditions.parse(params)
    form = BuilderForm.of(params)
    base = f"/app/projects/{grant.project.id}/trends"
    if "nf_field" in params:  # a filter added from the menu: to the builder's own URL
        return redirect(f"{base}?{urlencode(form.params(where))}", request)
    found, error = (None, None)
    cohorts = project_cohorts(runtime, grant)
    if form.breakdown == COHORT and not form.cohorts:  # none chosen: the first ones
        form.cohorts = [number for number, _ in cohorts[:MAX_SHOWN]]
    if form.breakdown == COHORT and not cohorts:
        error = "no saved cohort in this project yet: save one on the Cohorts page to break down by it"
    elif form.run and any(s.used for s in form.series):
        found, error = await answer(runtime, grant, builder_query(form, where))
    shown = found.result if found else None
    if isinstance(shown, TrendsResult) and form.breakdown == COHORT:
        shown = named(shown, dict(cohorts))
    view = view_of(shown, form.display, found.query) if found and shown is not None else None
    band_note = None
    if view is not None and form.anomalies:
        view, band_note = await with_anomalies(
            runtime, grant, view, builder_query(form, where), where.params()
        )
    return page(
        request,
        "trends.html",
        422 if error else 200,
        **nav(runtime, grant),
        project=grant.project,
        form=form,
        letters=string.ascii_uppercase,
        maths=MATHS,
        displays=DISPLAYS,
        intervals=INTERVALS,
        compares=COMPARES,
        periods=PERIODS,
        breakdowns=_breakdowns(),
        number_fields=NUMBER_FIELDS,
        property_prefix=PROPERTY_PREFIX,
        operators=conditions.OPERATORS,
        any_event=ANY_EVENT,
        where_params=where.params(),
        filter_menu=filter_menu(
            runtime, grant, where, lambda kept: f"?{urlencode(form.params(kept))}", params
        ),
        result=shown,
        view=view,
        cohorts=cohorts,
        cohort_breakdown=COHORT,
        band_note=band_note,
        query=json.dumps(found.query) if found else "",
        error=error,
        can_save=grant.role != "viewer",
    )
