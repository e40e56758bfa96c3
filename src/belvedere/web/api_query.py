"""The query API: one endpoint, the body's ``kind`` picks the insight (see docs/api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from belvedere.query.dates import DateRangeError
from belvedere.query.kinds import AnyQuery
from belvedere.query.runner import QueryError
from belvedere.web.access import ProjectReader, RuntimeDep

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["query"])


@router.post("/query", summary="Run an insight query (stats, trends, breakdown, funnel, …)")
async def run_query(grant: ProjectReader, runtime: RuntimeDep, query: AnyQuery) -> dict[str, Any]:
    project = grant.project
    assert project is not None
    if query.kind == "sql":
        runtime.plans.require_feature(grant.org.plan, "sql")
    try:
        return await run_in_threadpool(
            runtime.queries.run, query, project_id=project.id, timezone=project.timezone
        )
    except (DateRangeError, QueryError) as exc:
        raise HTTPException(422, str(exc)) from None
