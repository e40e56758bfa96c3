"""What a widget draws for an insight's result: a chart (data for ECharts, see app.js), a table, numbers or
a cohort heatmap. One function per query kind, shared by the insight pages, dashboards and shared links."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from belvedere.query import QueryResult
from belvedere.query.kinds.breakdown import BreakdownResult
from belvedere.query.kinds.funnel import FunnelResult, StepResult
from belvedere.query.kinds.goals import GoalsResult
from belvedere.query.kinds.lifecycle import LifecycleResult
from belvedere.query.kinds.paths import PathsResult
from belvedere.query.kinds.retention import RetentionResult
from belvedere.query.kinds.stats import StatsResult
from belvedere.query.kinds.stickiness import StickinessResult
from belvedere.query.kinds.trends import SeriesResult, TrendsResult
from belvedere.query.kinds.usage import UsageResult

NONE = "\u2013"  # an en dash: no value
TO = " \u2013 "  # between the ends of a span
MATH = {
    "total": "count",
    "unique_users": "people",
    "unique_sessions": "visits",
    "sum": "sum",
    "avg": "average",
    "min": "min",
    "max": "max",
    "median": "median",
    "p90": "p90",
    "p95": "p95",
    "p99": "p99",
}


def event_label(event: str | None) -> str:
    if event is None:
        return "All events"
    return "Page view" if event == "$pageview" else event


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"
    return f"{seconds / 86400:.1f} days"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}%"


def number(value: float | int | None) -> str:
    if value is None:
        return NONE
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def money(value: float | int | None, currency: str) -> str:
    """An amount in the project's currency: "€1,234.50", "CHF 1,234.50" (no conversion: the values are
    what the events carried)."""
    if value is None:
        return NONE
    symbol = _SYMBOLS.get(currency)
    amount = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{currency} {amount}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def time_labels(labels: list[str], interval: str) -> list[str]:
    """Bucket starts (local ISO text, already in the project's zone) as people read them: "16:00" (with
    the day when the hours span several), "31 Mar" (with the year when the days span several), "Mar 2025"."""
    stamps = [datetime.fromisoformat(label) for label in labels]
    years = {stamp.year for stamp in stamps}
    days = {stamp.date() for stamp in stamps}

    def day(stamp: datetime) -> str:
        text = f"{stamp.day} {_MONTHS[stamp.month - 1]}"
        return f"{text} {stamp.year}" if len(years) > 1 else text

    if interval == "hour":
        return [f"{day(t) + ' ' if len(days) > 1 else ''}{t:%H:%M}" for t in stamps]
    if interval == "month":
        return [f"{_MONTHS[t.month - 1]} {t.year}" for t in stamps]
    return [day(t) for t in stamps]


def span_label(start: str, end: str) -> str:
    """A period [start, end) of local ISO instants for people: "23 Mar to 29 Mar 2025" (with an en dash) for
    whole days, "30 Mar 2025, 00:00 to 14:05" for part of one: times wherever a bound is not a midnight."""
    first, after = datetime.fromisoformat(start), datetime.fromisoformat(end)

    def day(t: datetime, year: bool) -> str:
        return f"{t.day} {_MONTHS[t.month - 1]}" + (f" {t.year}" if year else "")

    if first.time() == after.time() == datetime.min.time():
        last = after - timedelta(days=1)
        if last.date() == first.date():
            return day(first, True)
        return f"{day(first, first.year != last.year)}{TO}{day(last, True)}"
    if after.date() == first.date():
        return f"{day(first, True)}, {first:%H:%M}{TO}{after:%H:%M}"
    return f"{day(first, first.year != after.year)} {first:%H:%M}{TO}{day(after, True)} {after:%H:%M}"


def trend_chart(
    result: TrendsResult,
    lines: list[tuple[str, list[Any]]],
    previous: list[tuple[str, list[Any]]],
    kind: str,
    notes: Sequence[tuple[date, str]] = (),
) -> dict[str, Any]:
    """A trends chart: ``lines`` over the range, stopped at the bucket under way (``current``, drawn dashed
    as it is not over), ``previous`` (dashed, whole) beside them, and the project's ``notes`` (day, text)
    marked at their buckets."""
    series: list[dict[str, Any]] = [{"name": name, "data": data} for name, data in lines]
    series += [{"name": name, "data": data, "dashed": True} for name, data in previous]
    extra: dict[str, Any] = {} if result.current is None else {"current": result.current}
    marked = notes_at(result.labels, result.interval, notes)
    if marked:
        extra["notes"] = [{"at": at, "text": text} for at, text in sorted(marked.items())]
    return chart(kind, time_labels(result.labels, result.interval), series, **extra)


def notes_at(labels: list[str], interval: str, notes: Sequence[tuple[date, str]]) -> dict[int, str]:
    """The bucket index of each note's day (notes of one bucket joined), leaving out days outside them."""
    starts = [datetime.fromisoformat(label) for label in labels]
    marked: dict[int, list[str]] = {}
    for day, text in notes:
        for i, start in enumerate(starts):
            if interval == "hour":
                inside = start.date() == day
            elif interval == "week":
                inside = start.date() <= day < start.date() + timedelta(days=7)
            elif interval == "month":
                inside = (start.year, start.month) == (day.year, day.month)
            else:
                inside = start.date() == day
            if inside:
                marked.setdefault(i, []).append(text)
                break
    return {i: "; ".join(texts) for i, texts in marked.items()}


def compared_name(compare_to: str) -> str:
    return "Same period last year" if compare_to == "previous_year" else "Previous period"


def chart(kind: str, labels: list[Any], series: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"view": "chart", "chart": json.dumps({"type": kind, "labels": labels, "series": series, **extra})}


def table(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"view": "table", "columns": columns, "rows": rows}


def _stats(result: StatsResult, display: str) -> dict[str, Any]:
    r = result.results
    figures = [
        ("Visitors", number(r["visitors"].value), r["visitors"].change),
        ("Visits", number(r["visits"].value), r["visits"].change),
        ("Pageviews", number(r["pageviews"].value), r["pageviews"].change),
        ("Bounce rate", percent(r["bounce_rate"].value), r["bounce_rate"].change),
        ("Visit duration", duration(r["visit_duration"].value), r["visit_duration"].change),
    ]
    return {"view": "number", "figures": figures}


def _series_name(item: SeriesResult) -> str:
    return f"{event_label(item.event)} ({MATH.get(item.math, 'count')})" + _value_name(
        item.breakdown_value, item
    )


def _change(now: float | int | None, before: float | int | None) -> float | None:
    if now is None or not before:
        return None
    return (now - before) * 100 / before


def _trend_totals(result: TrendsResult, display: str) -> dict[str, Any]:
    """Each series (and formula) over the whole range: figures, with their change against the compared
    period when there is one, or the slices of a pie."""
    before = {
        (s.label, s.breakdown_value): s.total for s in (result.previous.series if result.previous else [])
    }
    items = [
        (_series_name(s), s.total, _change(s.total, before.get((s.label, s.breakdown_value))))
        for s in result.series
    ]
    items += [
        (f"{f.formula}{_value_name(f.breakdown_value, f)}", f.total, None) for f in result.formula or []
    ]
    if display == "pie":
        # One quantity's shares: the formula's when there is one (mixing it with its series would add
        # rates to counts), else the series'.
        shares = items[len(result.series) :] if result.formula else items[: len(result.series)]
        slices = [{"name": name, "value": total} for name, total, _ in shares if total]
        return chart("pie", [], [{"name": "Share", "data": slices}])
    return {"view": "number", "figures": [(name, number(total), change) for name, total, change in items]}


def _value_name(value: Any, item: Any) -> str:
    if "breakdown_value" not in item.model_fields_set:
        return ""
    return " · " + ("(none)" if value is None else "other" if value == "$other" else str(value))


def _trends(result: TrendsResult, display: str) -> dict[str, Any]:
    if display in ("number", "pie"):
        return _trend_totals(result, display)
    lines = [(_series_name(s), s.data) for s in result.series]
    lines += [
        (formula.formula + _value_name(formula.breakdown_value, formula), formula.data)
        for formula in result.formula or []
    ]
    if display == "table":
        labels = time_labels(result.labels, result.interval)
        return table(["Series", *labels], [[name, *map(number, data)] for name, data in lines])
    previous = []
    if result.previous is not None:
        previous = [(f"{_series_name(s)} · before", s.data) for s in result.previous.series]
    return trend_chart(result, lines, previous, "bar" if display == "bar" else "line")


def _breakdown(result: BreakdownResult, display: str) -> dict[str, Any]:
    rows = result.results
    if display == "map":
        points = [{"name": r.value, "value": r.visitors} for r in rows if r.value]
        return chart("map", [], [{"name": "Visitors", "data": points}])
    if display == "bar":
        labels = [str(r.value) if r.value is not None else "(none)" for r in rows]
        return chart("bar", labels, [{"name": "Visitors", "data": [r.visitors for r in rows]}])
    columns = [result.dimension, "Visitors", "Visits", "Pageviews", "Bounce rate"]
    has_goal = any("conversion_rate" in r.model_fields_set for r in rows)
    if has_goal:
        columns.append("Conversion")
    body = []
    for r in rows:
        line = [
            r.value if r.value is not None else "(none)",
            number(r.visitors),
            number(r.visits),
            number(r.pageviews),
            percent(r.bounce_rate),
        ]
        if has_goal:
            line.append(percent(r.conversion_rate))
        body.append(line)
    return table(columns, body)


_OPERATORS = {
    "eq": "is",
    "neq": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "not_contains": "does not contain",
    "regex": "matches",
    "gt": ">",
    "gte": "\u2265",
    "lt": "<",
    "lte": "\u2264",
    "is_set": "is set",
    "is_not_set": "is not set",
}


def condition_text(condition: dict[str, Any]) -> str:
    """A filter as people read it: "path is /pricing", "properties.plan is one of pro, team"."""
    operator = condition.get("operator", "eq")
    value = condition.get("value")
    shown = (
        ""
        if operator in ("is_set", "is_not_set")
        else " " + (", ".join(map(str, value)) if isinstance(value, list) else str(value))
    )
    return f"{condition['property']} {_OPERATORS.get(operator, operator)}{shown}"


def step_label(step: StepResult, asked: dict[str, Any] | None) -> str:
    """A funnel step's label with the conditions it was asked with: "2. Page view (path is /pricing)"."""
    return step_text(step.step, step.event, asked)


def step_text(number: int, event: str, asked: dict[str, Any] | None) -> str:
    conditions = [condition_text(c) for c in (asked or {}).get("filters", [])]
    return f"{number}. {event_label(event)}" + (f" ({'; '.join(conditions)})" if conditions else "")


def funnel_rows(steps: list[StepResult], query: dict[str, Any] | None = None) -> list[list[Any]]:
    asked = (query or {}).get("steps", [])
    return [
        [
            step_label(s, asked[s.step - 1] if s.step - 1 < len(asked) else None),
            number(s.users),
            percent(s.conversion_rate),
            percent(s.step_conversion_rate) if s.step > 1 else NONE,
            number(s.drop_off) if s.step > 1 else NONE,
            duration(s.median_time_to_convert),
        ]
        for s in steps
    ]


FUNNEL_COLUMNS = ["Step", "People", "Conversion", "From previous", "Dropped", "Median time"]


def _funnel(result: FunnelResult, display: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
    rows = funnel_rows(result.steps, query)
    view = table(FUNNEL_COLUMNS, rows)
    if display == "funnel":
        drawn = chart(
            "bar", [row[0] for row in rows], [{"name": "People", "data": [s.users for s in result.steps]}]
        )
        view = {**view, **drawn, "view": "funnel"}
    return view


def heat(percentage: float | None) -> str:
    """A CSS class for a heatmap cell (the CSP forbids inline styles): heat-0 … heat-10."""
    return "heat-none" if percentage is None else f"heat-{min(10, max(0, round(percentage / 10)))}"


def under_way(result: RetentionResult, cohort: str) -> int | None:
    """Which period after ``cohort`` holds now (it is not over: people may still come back), if any."""
    if result.current is None:
        return None
    start, now = date.fromisoformat(cohort[:10]), date.fromisoformat(result.current[:10])
    if result.period == "month":
        later = (now.year - start.year) * 12 + now.month - start.month
    else:
        later = (now - start).days // (7 if result.period == "week" else 1)
    return later if later >= 0 else None


def _retention(result: RetentionResult, display: str) -> dict[str, Any]:
    cohorts = result.cohorts
    periods = max((len(c.values) for c in cohorts), default=0)
    unit = result.period.capitalize()
    rows = []
    for c in cohorts:
        cells = []
        now = under_way(result, c.cohort)
        for j in range(periods if c.size else 0):
            value = c.values[j] if j < len(c.values) else None
            share = c.percentages[j] if j < len(c.percentages) else None
            shown = percent(share) + (SO_FAR_MARK if j == now and j > 0 else "") if value is not None else ""
            cells.append((number(value) if value is not None else "", shown, heat(share)))
        ltv = [NONE if v is None else f"{v:,.2f}" for v in c.ltv] if c.ltv else None
        rows.append({"cohort": c.cohort, "size": number(c.size), "cells": cells, "ltv": ltv})
    average = retention_average(result)
    curve = chart(
        "line",
        [f"{unit} {j}" for j in range(len(average))],
        [{"name": "Coming back (mean of the cohorts, by size)", "data": average}],
    )
    return {
        "view": "retention",
        "headers": [str(j) for j in range(periods)],  # under "Weeks later": narrow enough to fit
        "later": f"{unit}s later",
        "unit": unit,
        "rows": rows,
        "average": [(percent(a), heat(a)) for a in average],
        "curve": curve["chart"],
        "has_ltv": any(r["ltv"] for r in rows),
        "so_far": any(under_way(result, c.cohort) not in (None, 0) for c in cohorts if c.size),
    }


def retention_average(result: RetentionResult) -> list[float | None]:
    """Per period, the share of people coming back over every cohort that has reached it, each weighted by
    its size (period 0 holds every cohort whole: 100 %): the retention curve, and the table's mean row."""
    periods = max((len(c.values) for c in result.cohorts), default=0)
    curve: list[float | None] = []
    for j in range(periods):
        # Over the cohorts whose period j is over (the one under way would pull the mean down).
        reached = [
            (c.values[j], c.size)
            for c in result.cohorts
            if j < len(c.values) and c.values[j] is not None and (j == 0 or under_way(result, c.cohort) != j)
        ]
        people = sum(size for _, size in reached)
        curve.append(round(sum(v or 0 for v, _ in reached) * 100 / people, 2) if people else None)
    return curve


def _paths(result: PathsResult, display: str) -> dict[str, Any]:
    names = {n.id: f"{n.step}. {n.name}" for n in result.nodes}
    if display == "table":
        return table(
            ["From", "To", "Visits"],
            [[names[e.source], names[e.target], number(e.visits)] for e in result.edges],
        )
    # Each step in its own column, whatever the links: ECharts would otherwise place a node by its longest
    # chain of links (a step-2 page no step-1 page leads to stood in the first column).
    nodes = [{"name": names[n.id], "depth": n.step - 1} for n in result.nodes]
    links = [{"source": names[e.source], "target": names[e.target], "value": e.visits} for e in result.edges]
    return chart("sankey", [], [], nodes=nodes, links=links)


SO_FAR = " (so far)"  # a period under way: its figures are not final
SO_FAR_MARK = " *"  # the same, in a retention cell (explained under the table)


def _so_far(labels: list[str], current: int | None) -> list[str]:
    return [label + SO_FAR if i == current else label for i, label in enumerate(labels)]


def _lifecycle(result: LifecycleResult, display: str) -> dict[str, Any]:
    order = ("new", "returning", "resurrecting", "dormant")
    labels = _so_far(time_labels(result.labels, result.interval), result.current)
    if display == "table":
        rows = [[name.capitalize(), *map(number, result.series[name])] for name in order]
        return table(["Status", *labels], rows)
    series = [{"name": name.capitalize(), "data": result.series[name], "stack": "people"} for name in order]
    return chart("bar", labels, series)


def _stickiness(result: StickinessResult, display: str) -> dict[str, Any]:
    unit = {"hour": "hour", "day": "day", "week": "week", "month": "month"}[result.interval]
    labels = [f"{r.intervals} {unit}{'' if r.intervals == 1 else 's'}" for r in result.results]
    if display == "table":
        return table(
            ["Active on", "People"],
            [[label, number(r.people)] for label, r in zip(labels, result.results, strict=True)],
        )
    return chart("bar", labels, [{"name": "People", "data": [r.people for r in result.results]}])


def _usage(result: UsageResult, display: str) -> dict[str, Any]:
    keys = ("total", "active", "new", "returning", "retained", "churned")
    starts = [p.period for p in result.periods]
    labels = _so_far(time_labels(starts, result.interval) if starts else [], result.current)
    return table(
        ["Period", *(k.capitalize() for k in keys)],
        [
            [label, *(number(getattr(p, k)) for k in keys)]
            for label, p in zip(labels, result.periods, strict=True)
        ],
    )


def _goals(result: GoalsResult, display: str) -> dict[str, Any]:
    return table(
        ["Goal", "People", "Events", "Conversion"],
        [
            [event_label(g.goal), number(g.people), number(g.events), percent(g.conversion_rate)]
            for g in result.results
        ],
    )


VIEWS: dict[type[QueryResult], Callable[[Any, str], dict[str, Any]]] = {
    StatsResult: _stats,
    TrendsResult: _trends,
    BreakdownResult: _breakdown,
    FunnelResult: _funnel,
    RetentionResult: _retention,
    PathsResult: _paths,
    LifecycleResult: _lifecycle,
    UsageResult: _usage,
    StickinessResult: _stickiness,
    GoalsResult: _goals,
}


def view_of(result: QueryResult, display: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """``query``: the question asked, where a view shows part of it (a funnel step's conditions)."""
    if isinstance(result, FunnelResult):
        return _funnel(result, display, query)
    return VIEWS[type(result)](result, display)
