"""The events explorer: the latest raw events with their properties, filtered by name and by the filter
menu, newest first, a page at a time; the first page refreshes itself, and each event links to its person."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.query.dates import to_local
from belvedere.query.kinds.events import EventsResult, RawEvent
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import answer, filter_menu
from belvedere.web.pages.countries import country_name
from belvedere.web.pages.periods import PERIODS, dates
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.views import event_label

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MAX_PAGES = 200  # the query kind pages up to 10,000 events back
SHOWN_PROPERTIES = 8


def _when(local: datetime) -> str:
    return f"{local.day} {local:%b}, {local:%H:%M:%S}"


def _row(item: RawEvent, zone: ZoneInfo, person_page: str) -> dict[str, Any]:
    when = datetime.fromisoformat(item.timestamp.removesuffix("Z")) if item.timestamp else None
    where = [country_name(item.country) if item.country else None, item.browser, item.device_type]
    props = [(k, v if isinstance(v, str) else str(v)) for k, v in item.properties.items()]
    return {
        "time": _when(to_local(when, zone)) if when else "",
        "iso": item.timestamp or "",
        "event": event_label(item.event),
        "person": item.person_id,
        "person_link": person_page + urlencode({"id": item.person_id}) if item.person_id else None,
        "page": item.path or item.url or "",
        "where": " · ".join(w for w in where if w),
        "properties": props[:SHOWN_PROPERTIES],
        "more": max(0, len(props) - SHOWN_PROPERTIES),
    }


@router.get("/app/projects/{project_id}/events")
async def explorer(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    q = request.query_params
    where = conditions.parse(q)
    name = q.get("event", "").strip()[:200]
    period = q.get("period", "") if q.get("period") in PERIODS else "7d"
    number = int(q["page"]) if q.get("page", "").isdigit() and 0 < int(q["page"]) <= MAX_PAGES else 1
    state = [("event", name), ("period", period)]

    def link(kept: conditions.Conditions, at: int = 1) -> str:
        extra = [("page", str(at))] if at > 1 else []
        return "?" + urlencode([*((k, v) for k, v in state if v), *extra, *kept.params()])

    if "nf_field" in q:
        return redirect(request.url.path + link(where), request)
    body: dict[str, Any] = {
        "kind": "events",
        **dates(period),
        "filters": where.filters(),
        "limit": PAGE_SIZE,
        "offset": (number - 1) * PAGE_SIZE,
    }
    if name:
        body["event"] = name
    found, error = await answer(runtime, grant, body)
    result: EventsResult | None = found.result if found else None
    person_page = f"/app/projects/{grant.project.id}/person?"
    zone = ZoneInfo(grant.project.timezone)
    rows = [_row(e, zone, person_page) for e in result.results] if result else []
    context = {
        "project": grant.project,
        "rows": rows,
        "number": number,
        "older": link(where, number + 1) if result and result.more and number < MAX_PAGES else None,
        "newer": link(where, number - 1) if number > 1 else None,
        "refresh": request.url.path + link(where) + "&partial=1" if number == 1 else None,
        "error": error,
    }
    if q.get("partial") == "1":  # the list alone, as the first page refreshes itself
        return page(request, "_events_list.html", 422 if error else 200, **context)
    return page(
        request,
        "events.html",
        422 if error else 200,
        **nav(runtime, grant),
        **context,
        name=name,
        period=period,
        periods=PERIODS,
        where_params=where.params(),
        filter_menu=filter_menu(runtime, grant, where, link, q),
    )
