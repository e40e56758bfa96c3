"""How the pages ask questions: through the query desk like the API (plan feature, time limit, the gate),
but patient — a page's panels and a dashboard's widgets load together, and each waits for the tenant's
room rather than being refused (``query.gate``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from belvedere.accounts.grants import ProjectGrant
from belvedere.dashboards.service import stored_form
from belvedere.insights.cohorts import service as cohorts
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.query import QueryResult, parse_query
from belvedere.query.kinds.trends import TrendsResult
from belvedere.runtime import Runtime
from belvedere.web.pages import conditions

R = TypeVar("R", bound=QueryResult)


@dataclass(frozen=True, slots=True)
class Answer:
    result: Any  # the kind's result model (``query.kinds``), which templates read by attribute
    query: dict[str, Any]  # the question as it is saved, for "save as insight"


async def ask(runtime: Runtime, grant: ProjectGrant, body: dict[str, Any], kind: type[R]) -> R:
    """The answer to a question a page built itself (an invalid one is a bug: it raises)."""
    result = await runtime.desk.ask(grant, parse_query(body), patient=True)
    if not isinstance(result, kind):
        raise TypeError(f"a {body.get('kind')} query answered with {type(result).__name__}")
    return result


def ask_ahead(runtime: Runtime, grant: ProjectGrant, body: dict[str, Any]) -> None:
    """Start answering a question that the browser will ask next, for the page being rendered
    (``QueryDesk.ask_ahead``)."""
    runtime.desk.ask_ahead(grant, parse_query(body))


async def answer(
    runtime: Runtime, grant: ProjectGrant, body: dict[str, Any]
) -> tuple[Answer | None, str | None]:
    """The answer to a question a person built, or why it cannot be answered (shown on the page)."""
    try:
        spec = parse_query(body)
        if cohorts.referenced(spec):
            with transaction(runtime.sessions) as session:
                unknown = cohorts.unknown_cohorts(session, project_id=grant.project.id, spec=spec)
            if unknown is not None:
                return None, unknown
        result = await runtime.desk.ask(grant, spec, patient=True)
    except ValidationError as exc:
        return None, error_text(exc)
    except BelvedereError as exc:
        return None, exc.message
    return Answer(result, stored_form(spec)), None


def error_text(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"][1:])  # [0] is the query kind's model
    return f"{where}: {first['msg']}" if where else str(first["msg"])


async def known_events(runtime: Runtime, grant: ProjectGrant) -> list[str]:
    """The project's event names of the last 90 days, most frequent first, for event pickers: a count per
    name and month (cheap even over millions of events), not a count of people."""
    body = {
        "kind": "trends",
        "date_from": "-90d",
        "interval": "month",
        "series": [{}],
        "breakdown": "event",
        "breakdown_limit": 100,
    }
    series = (await ask(runtime, grant, body, TrendsResult)).series
    return [s.breakdown_value for s in series if s.breakdown_value not in (None, "$other")]


def filter_menu(
    runtime: Runtime,
    grant: ProjectGrant,
    where: conditions.Conditions,
    link: Callable[[conditions.Conditions], str],
    params: QueryParams,
) -> dict[str, Any]:
    """The filter menu of a project's page (``conditions.menu``), its cohorts shown by name."""
    ids = where.cohort_ids()
    names: dict[int, str] = {}
    if ids:
        with transaction(runtime.sessions) as session:
            found = cohorts.cohorts(session, project_id=grant.project.id)
            names = {c.id: c.name for c in found if c.id in ids}
    return conditions.menu(where, link, params, names)
