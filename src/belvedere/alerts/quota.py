"""The quota metric: how much of its monthly event quota an organisation has used by an instant — the
events of all its projects since the start of that calendar month (UTC, as the plan's quota counts them),
read from the event store, over the plan's ``events_per_month``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.accounts.models import Organisation, Project
from belvedere.accounts.plans import Plans
from belvedere.query.kinds import parse_query
from belvedere.query.kinds.trends import TrendsResult
from belvedere.query.runner import QueryResult, QuerySpec

Count = Callable[[int, QuerySpec], QueryResult]  # a query on one project of the organisation


def month_start(end: datetime) -> datetime:
    """The start of the quota month an instant closes: a bucket ending at midnight on the 1st closes the
    month before."""
    end = end.astimezone(UTC)
    first = end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=1) if first == end else first


def quota_reader(
    session: Session, org_id: int, plans: Plans, count: Count
) -> Callable[[datetime], float | None]:
    org = session.get(Organisation, org_id)
    limit = plans.get(org.plan).events_per_month if org is not None else None
    projects = list(session.scalars(select(Project.id).where(Project.organisation_id == org_id)))

    def used(end: datetime) -> float | None:
        if not limit:
            return None  # no quota on this plan
        start = month_start(end)
        spec = parse_query(
            {
                "kind": "trends",
                "series": [{}],
                "date_from": start.isoformat(),
                "date_to": end.astimezone(UTC).isoformat(),
                "interval": "day",
                "totals": True,
            }
        )
        events = 0
        for project_id in projects:
            answer = count(project_id, spec)
            assert isinstance(answer, TrendsResult)
            events += int(answer.series[0].total or 0)
        return round(events / limit * 100, 2)

    return used
