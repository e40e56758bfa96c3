""" "Why did this change?": a chart's point (a day or an hour of one counted series) against the same
bucket a week earlier, or the one just before, split over the usual dimensions by the ``root_cause`` kind.
Trend charts with anomaly bands link each point here."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.query.kinds.anomalies import COUNTED
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import answer
from belvedere.web.pages.conditions import FIELD_LABELS, Condition
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
BASELINES = {"previous_week": "The same time a week earlier", "previous_period": "The period just before"}
DIMENSION_LABELS = {**FIELD_LABELS, "path": "Page", "device_type": "Device", "referrer_domain": "Referrer"}
COUNTS = {"total": "events", "unique_users": "people", "unique_sessions": "visits"}
NAMES = {"$pageview": "Page views", "$pageleave": "Page leaves"}


def _window(at: str, interval: str) -> tuple[str, str] | None:
    """The query's dates of the bucket starting at ``at`` (a day, or an hour), or None if unreadable."""
    try:
        if interval == "hour":
            start = datetime.fromisoformat(at)
            return start.isoformat(timespec="minutes"), (start + timedelta(hours=1)).isoformat(
                timespec="minutes"
            )
        day = date.fromisoformat(at[:10])
    except ValueError:
        return None
    return day.isoformat(), day.isoformat()


@router.get("/app/projects/{project_id}/why")
async def why(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    params = request.query_params
    where = conditions.parse(params)
    event, math = params.get("event", "")[:200], params.get("math", "total")
    interval = "hour" if params.get("interval") == "hour" else "day"
    baseline = params.get("baseline", "previous_week")
    baseline = baseline if baseline in BASELINES else "previous_week"
    window = _window(params.get("at", ""), interval)
    series: dict[str, Any] = {"event": event or None, "math": math if math in COUNTED else "total"}
    condition = Condition(params.get("sf", ""), params.get("so", "eq"), params.get("sv", "")[:1000])
    if condition.field:
        series["filters"] = [condition.filter()]
    found, error = None, None
    if window is None:
        error = "this link names no day or hour: open it again from a chart"
    else:
        body = {
            "kind": "root_cause",
            "series": series,
            "date_from": window[0],
            "date_to": window[1],
            "baseline": baseline,
            "filters": where.filters(),
        }
        found, error = await answer(runtime, grant, body)
    kept = [(k, v) for k, v in params.multi_items() if k != "baseline"]
    return page(
        request,
        "why.html",
        422 if error else 200,
        **nav(runtime, grant),
        project=grant.project,
        series=series,
        what=f"{NAMES.get(event, event) or 'Any event'} ({COUNTS[series['math']]})",
        at=params.get("at", ""),
        interval=interval,
        baseline=baseline,
        baselines={key: f"?{urlencode([*kept, ('baseline', key)])}" for key in BASELINES},
        baseline_labels=BASELINES,
        labels=DIMENSION_LABELS,
        result=found.result if found else None,
        error=error,
    )
