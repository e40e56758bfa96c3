"""Anomaly bands on a trend chart: the first series' expected range by the ``anomalies`` kind, its
anomalies marked, and each complete bucket linked to "why did it change?" (``why_pages``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from belvedere.accounts.grants import ProjectGrant
from belvedere.query.kinds.anomalies import COUNTED, AnomaliesResult
from belvedere.runtime import Runtime
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import answer

BAND = "Expected range"


def unsuited(data: dict[str, Any], query: dict[str, Any]) -> str | None:
    """Why the chart cannot carry a band, if it cannot."""
    if data.get("type") != "line":
        return "Anomaly bands are drawn on a line: show the trend as a line."
    if query.get("breakdown") or query.get("formula") or query.get("compare"):
        return "Anomaly bands need one series without a breakdown, a formula or a comparison."
    if query.get("interval") not in ("hour", "day"):
        return "Anomaly bands are drawn by hour or by day: group the trend by hours or days."
    if query["series"][0].get("math", "total") not in COUNTED:
        return "Anomaly bands are drawn for counts: total count, unique people or visits."
    return None


async def with_anomalies(
    runtime: Runtime,
    grant: ProjectGrant,
    view: dict[str, Any],
    query: dict[str, Any],
    where: list[tuple[str, str]],
) -> tuple[dict[str, Any], str]:
    """``view`` (a trend's) with the band of its first series, and a sentence on what it shows."""
    if view.get("view") != "chart":
        return view, "Anomaly bands are drawn on a line: show the trend as a line."
    data = json.loads(view["chart"])
    reason = unsuited(data, query)
    if reason is not None:
        return view, reason
    series, interval = query["series"][0], query["interval"]
    body = {
        "kind": "anomalies",
        "series": [series],
        "interval": interval,
        "date_from": query["date_from"],
        "date_to": query.get("date_to"),
        "filters": query.get("filters", []),
    }
    found, error = await answer(runtime, grant, body)
    if found is None:
        return view, f"The expected range cannot be drawn: {error}."
    result: AnomaliesResult = found.result
    points = result.series[0].points
    if len(points) != len(data["labels"]):
        return view, "The expected range cannot be drawn for this period."
    if all(p.expected is None for p in points):
        return view, "Too little history before this period for an expected range: two weeks are needed."
    # Not for the bucket under way: its count so far beside a whole bucket's range would look low.
    lower = [p.lower if p.complete else None for p in points]
    upper = [p.upper if p.complete else None for p in points]
    data["band"] = {"name": BAND, "lower": lower, "upper": upper}
    marked = [(i, p) for i, p in enumerate(points) if p.anomaly]
    data["anomalies"] = [{"at": i, "value": p.value, "up": p.direction == "up"} for i, p in marked]
    data["links"] = [
        why_link(grant.project.id, series, p.date, interval, where) if p.complete else None for p in points
    ]
    if not marked:
        note = "No anomaly in this period: every complete bucket lies within the expected range."
    else:
        days = ", ".join(p.date for _, p in marked[:5]) + (", …" if len(marked) > 5 else "")
        note = f"{len(marked)} {'anomaly' if len(marked) == 1 else 'anomalies'} (marked): {days}."
    return {**view, "chart": json.dumps(data)}, f"{note} Click a point to see why it changed."


def why_link(
    project_id: int, series: dict[str, Any], at: str, interval: str, where: list[tuple[str, str]]
) -> str:
    """The "why did it change?" page (``why_pages``) for one point of a chart: ``series`` as the query takes
    it, ``at`` its bucket's label."""
    params = [("event", series.get("event") or ""), ("math", series.get("math", "total")), ("at", at)]
    params.append(("interval", interval))
    for f in series.get("filters") or []:
        value = conditions.value_text(f.get("value"))
        params += [("sf", f["property"]), ("so", f.get("operator", "eq")), ("sv", value)]
    return f"/app/projects/{project_id}/why?{urlencode([*params, *where])}"
