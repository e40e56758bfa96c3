"""People: a searchable list of the project's people, and one person's profile with their activity."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.query.kinds.users import UserResult, UsersResult
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import answer, filter_menu
from belvedere.web.pages.periods import PERIODS, dates
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.views import NONE, duration, event_label

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _day(iso: str | None, tz: str) -> str:
    """A stored UTC time as the project's local date and minute."""
    if not iso:
        return NONE
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@router.get("/app/projects/{project_id}/users")
async def people(
    grant: ProjectViewer,
    request: Request,
    runtime: RuntimeDep,
    search: str = "",
    period: str = "30d",
    page_no: int = 1,
) -> Response:
    where = conditions.parse(request.query_params)
    if "nf_field" in request.query_params:
        return redirect(request.url.path + conditions.page_link(request.query_params)(where), request)
    period = period if period in PERIODS else "30d"
    search = search.strip()[:200]
    page_no = max(1, min(page_no, 10_000))
    body: dict[str, Any] = {
        "kind": "users",
        **dates(period),
        "filters": where.filters(),
        "limit": PAGE_SIZE,
        "offset": (page_no - 1) * PAGE_SIZE,
    }
    if search:
        body["search"] = search
    found, error = await answer(runtime, grant, body)
    result = found.result if found else UsersResult(results=[], total=0)
    assert isinstance(result, UsersResult)
    rows, total = result.results, result.total

    def link(**change: Any) -> str:
        params = {"search": search, "period": period, "page_no": page_no, **change}
        kept = [(k, str(v)) for k, v in params.items() if v not in ("", None)]
        return "?" + urlencode([*kept, *where.params()])

    profile = f"/app/projects/{grant.project.id}/person?"
    return page(
        request,
        "users.html",
        422 if error else 200,
        **nav(runtime, grant),
        project=grant.project,
        error=error,
        search=search,
        period=period,
        periods={k: (label, link(period=k, page_no=1)) for k, label in PERIODS.items()},
        people=[
            {
                **r.model_dump(),
                "first": _day(r.first_seen, grant.project.timezone),
                "last": _day(r.last_seen, grant.project.timezone),
                "href": profile + urlencode({"id": r.person_id}),
                "name": r.properties.get("name") or r.properties.get("email") or "",
            }
            for r in rows
        ],
        total=total,
        where_params=where.params(),
        filter_menu=filter_menu(
            runtime, grant, where, conditions.page_link(request.query_params), request.query_params
        ),
        previous=link(page_no=page_no - 1) if page_no > 1 else None,
        next=link(page_no=page_no + 1) if page_no * PAGE_SIZE < total else None,
        first_shown=(page_no - 1) * PAGE_SIZE + 1 if rows else 0,
        last_shown=(page_no - 1) * PAGE_SIZE + len(rows),
    )


@router.get("/app/projects/{project_id}/person")
async def person(grant: ProjectViewer, request: Request, runtime: RuntimeDep, id: str = "") -> Response:
    person_id = id.strip()[:200]
    if not person_id:
        return page(
            request, "error.html", 404, title="Not found", message="Which person? Pick one in the list."
        )
    found, error = await answer(runtime, grant, {"kind": "user", "person_id": person_id, "recent": 50})
    result = found.result if found else None
    if not isinstance(result, UserResult) or not result.found:
        message = error or "No event of this person in this project."
        return page(request, "error.html", 404, title="Not found", message=message)
    peak = max((h.events for h in result.peak_hours), default=0)
    timeline: list[dict[str, Any]] = []
    for event in result.recent_events:
        day = event.local_time[:10]
        if not timeline or timeline[-1]["day"] != day:
            timeline.append({"day": day, "events": []})
        timeline[-1]["events"].append(
            {"time": event.local_time[11:16], "what": event_label(event.event), "path": event.path}
        )
    return page(
        request,
        "person.html",
        **nav(runtime, grant),
        project=grant.project,
        person=result,
        first=_day(result.first_seen, grant.project.timezone),
        last=_day(result.last_seen, grant.project.timezone),
        total_duration=duration(result.total_visit_duration),
        avg_duration=duration(result.avg_visit_duration),
        hours=[(h.hour, h.events, round(100 * h.events / peak) if peak else 0) for h in result.peak_hours],
        timeline=timeline,
    )
