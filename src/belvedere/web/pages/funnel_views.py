"""What the funnel page draws beside the steps (``views._funnel``): the steps table with its counts linked
to the people behind them, the table per breakdown value, conversion over time and the time-to-convert
histogram (ECharts data, see app.js)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from belvedere.query.kinds.funnel import ConversionOverTime, FunnelBreakdown, FunnelResult, TimeHistogram
from belvedere.web.pages.views import (
    FUNNEL_COLUMNS,
    TO,
    chart,
    event_label,
    funnel_rows,
    number,
    percent,
    time_labels,
)

# (step, status) → the page's URL listing those people
PeopleLink = Callable[[int, str], str]


def step_rows(result: FunnelResult, query: dict[str, Any], people: PeopleLink) -> dict[str, Any]:
    """The steps table: each row's cells, and the links behind its people (converted) and dropped counts."""
    rows = []
    for step, cells in zip(result.steps, funnel_rows(result.steps, query), strict=True):
        dropped = people(step.step, "dropped") if step.step > 1 and step.drop_off else None
        rows.append(
            {
                "step": step.step,
                "cells": cells,
                "reached": people(step.step, "converted") if step.users else None,
                "dropped": dropped,
            }
        )
    return {"columns": FUNNEL_COLUMNS, "rows": rows}


def breakdown_table(result: FunnelResult, value_name: str) -> dict[str, Any]:
    """One row per breakdown value: the people at each step, and the share of them who got to the end."""
    columns = [value_name, *[f"{s.step}. {event_label(s.event)}" for s in result.steps], "Conversion"]
    rows = []
    for group in result.breakdown or []:
        rows.append(
            [_value(group), *[number(s.users) for s in group.steps], percent(group.steps[-1].conversion_rate)]
        )
    return {"columns": columns, "rows": rows}


def _value(group: FunnelBreakdown) -> str:
    return "(none)" if group.value is None else str(group.value)


def over_time_chart(over_time: ConversionOverTime) -> dict[str, Any] | None:
    """Conversion (%) of the people who entered in each bucket; None when nobody entered."""
    if not any(over_time.entered):
        return None
    labels = time_labels(over_time.labels, over_time.interval)
    series = [{"name": "Conversion (%)", "data": over_time.conversion_rate, "point": True}]
    entered = sum(over_time.entered)
    converted = sum(over_time.converted)
    return {
        "chart": chart("line", labels, series, percent=True)["chart"],
        "summary": f"{number(converted)} of {number(entered)} people converted",
    }


def short_duration(seconds: int) -> str:
    """A bin's bound in at most two units, for an axis: "45s", "5m", "1h 30m", "3h", "1d", "1d 12h"."""
    units = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))
    parts: list[str] = []
    for size, name in units:
        if seconds >= size and len(parts) < 2:
            parts.append(f"{seconds // size}{name}")
            seconds %= size
        elif parts:
            break  # "1d 0h 5m" reads as "1d": the axis has no room for the rest
    return " ".join(parts) or "0"


def histogram_chart(histogram: TimeHistogram) -> dict[str, Any] | None:
    """People per span of time between the two steps; None when nobody went from one to the other."""
    if not histogram.bins:
        return None
    labels = [f"{short_duration(b.start)}{TO}{short_duration(b.end)}" for b in histogram.bins]
    series = [{"name": "People", "data": [b.people for b in histogram.bins]}]
    return {
        "chart": chart("bar", labels, series)["chart"],
    }
