"""The query API: one endpoint, the body's ``kind`` picks the insight (see docs/api.md)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request, Response

from belvedere.insights.cohorts import service as cohorts
from belvedere.platform.db import transaction
from belvedere.query.kinds import AnyQuery, AnyResult
from belvedere.web.access import ProjectReader, RuntimeDep
from belvedere.web.errors import ApiError
from belvedere.web.query_door import QueryDoor

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["query"])


async def _room(request: Request, grant: ProjectReader, runtime: RuntimeDep) -> None:
    """A tenant at its bound is refused before its body is validated (user SQL is parsed then); and the
    door remembers this credential, so that its next refusals cost less still (``web.query_door``)."""
    door: QueryDoor = request.app.state.query_door
    door.remember(request.scope, grant.project.id, grant.org.id)
    try:
        kind = orjson.loads(await request.body()).get("kind")
    except (orjson.JSONDecodeError, AttributeError):
        return  # validation answers it
    runtime.desk.admit(grant, kind)


@router.post(
    "/query",
    summary="Run an insight query (stats, trends, breakdown, funnel, …)",
    dependencies=[Depends(_room)],
    response_class=Response,
    responses={200: {"model": AnyResult, "description": "The answer; its ``kind`` is the query's."}},
)
async def run_query(grant: ProjectReader, runtime: RuntimeDep, query: AnyQuery) -> Response:
    if cohorts.referenced(query):  # only then is the metadata asked (the hot path stays as it was)
        with transaction(runtime.sessions) as session:
            unknown = cohorts.unknown_cohorts(session, project_id=grant.project.id, spec=query)
        if unknown is not None:
            raise ApiError(422, "invalid_request", unknown)
    result = await runtime.desk.ask(grant, query)
    return Response(result.answer(), media_type="application/json")
