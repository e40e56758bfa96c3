"""Read back raw events of a project: a live event log for debugging instrumentation."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from belvedere.platform.errors import Invalid, NotFound
from belvedere.web.access import ProjectReader, RuntimeDep

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["events"])


@router.get("/events", summary="The newest stored events of the project")
async def list_events(
    grant: ProjectReader, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    rows = await run_in_threadpool(runtime.store.recent_events, project_id=grant.project.id, limit=limit)
    return {"results": rows}


@router.get("/events/{event_uuid}", summary="One stored event by its uuid")
async def get_event(grant: ProjectReader, runtime: RuntimeDep, event_uuid: str) -> dict[str, Any]:
    try:
        canonical = str(uuid.UUID(event_uuid))
    except ValueError:
        raise Invalid("event_uuid is not a UUID.") from None
    rows = await run_in_threadpool(
        runtime.store.recent_events, project_id=grant.project.id, limit=1, event_uuid=canonical
    )
    if not rows:
        raise NotFound("No stored event with that uuid (it may still be in the spool).")
    return rows[0]
