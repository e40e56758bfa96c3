"""The overview's "projected by the end of the period" line: while today or this month is under way, the
page views and visits so far plus the forecast of the hours or days left (the ``forecast`` kind), over the
overview's filters. Loaded after the page. Visitors are not projected: people are not additive over time
(the same person comes back), so a sum of expected visitors per day would overcount them."""

from __future__ import annotations

import calendar
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.query.kinds.forecast import ForecastResult
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages.asking import ask
from belvedere.web.pages.periods import PROJECTED
from belvedere.web.pages.project_pages import view_of
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)


@router.get("/app/projects/{project_id}/projection")
async def projection(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    view = view_of(request, runtime, grant)
    if view.period not in PROJECTED:
        return Response(status_code=204)
    today = datetime.now(ZoneInfo(grant.project.timezone)).date()
    if view.period == "today":
        span, interval = (today, today), "hour"
    else:
        last = calendar.monthrange(today.year, today.month)[1]
        span, interval = (today.replace(day=1), today.replace(day=last)), "day"
    body = {
        "kind": "forecast",
        "series": [{"event": "$pageview"}, {"event": None, "math": "unique_sessions"}],
        "interval": interval,
        "date_from": span[0].isoformat(),
        "date_to": span[1].isoformat(),
        "filters": view.conditions.filters(),
    }
    result = await ask(runtime, grant, body, ForecastResult)
    pageviews, visits = (s.projected_total for s in result.series)
    return page(
        request,
        "_projection.html",
        until=PROJECTED[view.period],
        rest="day" if view.period == "today" else "month",
        pageviews=None if pageviews is None else round(pageviews),
        visits=None if visits is None else round(visits),
    )
