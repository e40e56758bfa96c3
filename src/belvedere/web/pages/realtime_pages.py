"""The realtime page: live figures refreshed by HTMX, and the live event stream as server-sent events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from belvedere.query.dates import to_local
from belvedere.query.kinds.realtime import RealtimeResult
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages.asking import ask
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
POLL_SECONDS = 1.0
STREAM_SECONDS = 600  # then the browser's EventSource reconnects on its own
SHOWN_FIELDS = ("uuid", "timestamp", "event", "path", "country", "browser", "device_type", "referrer_domain")
FIRST_SHOWN = 50  # events shown when the stream opens; the page keeps as many as new ones arrive


@router.get("/app/projects/{project_id}/realtime")
async def realtime(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    live = await ask(runtime, grant, {"kind": "realtime"}, RealtimeResult)
    chart = _per_minute(grant, live)
    return page(
        request, "realtime.html", **nav(runtime, grant), project=grant.project, live=live, chart=chart
    )


def _per_minute(grant: ProjectViewer, live: RealtimeResult) -> str:
    """Events per minute over the last 30, the minutes in the project's zone; the last is under way."""
    zone = ZoneInfo(grant.project.timezone)
    minutes = [
        to_local(datetime.fromisoformat(m.minute).replace(tzinfo=None), zone) for m in live.events_per_minute
    ]
    series = [{"name": "Events", "data": [m.events for m in live.events_per_minute]}]
    labels = [f"{m:%H:%M}" for m in minutes]
    return json.dumps({"type": "bar", "labels": labels, "series": series, "current": len(labels) - 1})


@router.get("/app/projects/{project_id}/realtime/figures")
async def figures(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    """The live figures alone, polled by the page every few seconds."""
    live = await ask(runtime, grant, {"kind": "realtime"}, RealtimeResult)
    return page(
        request, "_realtime_figures.html", project=grant.project, live=live, chart=_per_minute(grant, live)
    )


@router.get("/app/projects/{project_id}/realtime/stream")
async def stream(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> StreamingResponse:
    """New events of the project as server-sent events (`data:` one JSON event per message). A client that
    does not ask for `text/event-stream` (curl, a script) gets the latest events once, and the answer ends."""
    project_id = grant.project.id
    zone = ZoneInfo(grant.project.timezone)
    person_page = f"/app/projects/{project_id}/person?"
    keep_open = "text/event-stream" in request.headers.get("accept", "")

    async def events() -> AsyncIterator[str]:
        seen: set[str] = set()
        started = time.monotonic()
        yield "retry: 3000\n\n"
        while time.monotonic() - started < STREAM_SECONDS and not await request.is_disconnected():
            rows = await run_in_threadpool(
                runtime.store.recent_events, project_id=project_id, limit=FIRST_SHOWN
            )
            fresh = [r for r in reversed(rows) if r["uuid"] not in seen]
            seen.update(r["uuid"] for r in rows)
            if len(seen) > 5000:
                seen = {r["uuid"] for r in rows}
            for row in fresh:
                yield f"data: {json.dumps(_shown(row, zone, person_page))}\n\n"
            if not keep_open:
                return
            yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _shown(row: dict[str, Any], zone: ZoneInfo, person_page: str) -> dict[str, Any]:
    """The fields the stream shows, with the time of day in the project's zone, like every other page (not
    the browser's), and the page of the event's person."""
    shown = {k: row.get(k) for k in SHOWN_FIELDS}
    if row.get("person_id"):
        shown["person"] = person_page + urlencode({"id": row["person_id"]})
    at = row.get("timestamp")
    if at is not None:
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        shown["time"] = f"{to_local(moment.replace(tzinfo=None), zone):%H:%M:%S}"
    return shown
