"""The query API: one endpoint, the body's ``kind`` picks the insight (see docs/api.md)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from belvedere.platform.errors import Invalid
from belvedere.query.dates import DateRangeError
from belvedere.query.gate import QueryBusy, QueryTimedOut
from belvedere.query.kinds import AnyQuery
from belvedere.query.runner import QueryError
from belvedere.web.access import ProjectReader, RuntimeDep
from belvedere.web.errors import ApiError
from belvedere.web.query_door import QueryDoor, lane_of

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["query"])


async def _room(request: Request, grant: ProjectReader, runtime: RuntimeDep) -> None:
    """A tenant at its bound is refused before its body is validated (user SQL is parsed then); and the
    door remembers this credential, so that its next refusals cost less still (``web.query_door``)."""
    assert grant.project is not None
    door: QueryDoor = request.app.state.query_door
    door.remember(request.scope, grant.project.id, grant.org.id)
    try:
        kind = orjson.loads(await request.body()).get("kind")
    except (orjson.JSONDecodeError, AttributeError):
        return  # validation answers it
    try:
        runtime.gate.check(tenant=grant.org.id, lane=lane_of(kind))
    except QueryBusy as exc:
        raise _busy(exc) from None


def _busy(exc: QueryBusy) -> ApiError:
    return ApiError(429, "busy", str(exc), headers={"Retry-After": str(exc.retry_after)})


@router.post(
    "/query",
    summary="Run an insight query (stats, trends, breakdown, funnel, …)",
    dependencies=[Depends(_room)],
)
async def run_query(grant: ProjectReader, runtime: RuntimeDep, query: AnyQuery) -> dict[str, Any]:
    project = grant.project
    assert project is not None
    if query.kind == "sql":
        runtime.plans.require_feature(grant.org.plan, "sql")
    # The time limit starts now: waiting for a turn counts (see query.gate).
    deadline = time.monotonic() + runtime.queries.time_limit(query)
    lane = lane_of(query.kind)
    try:
        async with runtime.gate.turn(tenant=grant.org.id, lane=lane, deadline=deadline):
            return await run_in_threadpool(
                runtime.queries.run,
                query,
                project_id=project.id,
                timezone=project.timezone,
                deadline=deadline,
            )
    except (DateRangeError, QueryError) as exc:
        raise Invalid(str(exc)) from None
    except QueryBusy as exc:
        raise _busy(exc) from None
    except QueryTimedOut as exc:
        message = f"the query did not finish within its time limit ({exc}); narrow it, or retry later"
        raise ApiError(503, "query_timeout", message, headers={"Retry-After": "5"}) from None
