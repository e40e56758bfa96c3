"""What the alert routes and pages share: reading metrics through the query desk (the tenant's turn and
limits apply, as to any query) from a worker thread, and refusing rules on events never received."""

from __future__ import annotations

from collections.abc import Callable

import anyio.from_thread

from belvedere.accounts.grants import ProjectGrant
from belvedere.alerts.rules import RuleDraft, events_named
from belvedere.platform.errors import Invalid
from belvedere.query.kinds import parse_query
from belvedere.query.kinds.trends import TrendsResult
from belvedere.query.runner import QueryResult, QuerySpec
from belvedere.runtime import Runtime

SEEN_DAYS = 90


def desk_ask(runtime: Runtime, grant: ProjectGrant) -> Callable[[QuerySpec], QueryResult]:
    """A synchronous ``ask`` for the alert service, from a route's worker thread, through the query desk."""

    def ask(spec: QuerySpec) -> QueryResult:
        return anyio.from_thread.run(lambda: runtime.desk.ask(grant, spec, patient=True))

    return ask


async def check_events(runtime: Runtime, grant: ProjectGrant, draft: RuleDraft) -> None:
    """Refuse a rule that counts an event the project has not received in the last 90 days: a typo would
    otherwise watch zero forever."""
    for name in events_named(draft.series):
        spec = parse_query(
            {
                "kind": "trends",
                "date_from": f"-{SEEN_DAYS}d",
                "interval": "month",
                "series": [{"event": name}],
            }
        )
        result = await runtime.desk.ask(grant, spec, patient=True)
        assert isinstance(result, TrendsResult)
        if not any(result.series[0].data):
            raise Invalid(
                f"this project received no {name!r} event in the last {SEEN_DAYS} days: check the name, or "
                "send one first",
                code="unknown_event",
            )
