"""Cohort computations on the job platform. ``cohorts.compute`` (on the ``store`` queue, where the event
store is) replaces a cohort's members; ``cohorts.tick`` queues one for each rule-based cohort whose last
computation is ``refresh_hours`` old. A computation of an older version of the definition writes nothing
(a newer one is queued); one for a deleted cohort empties its members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from belvedere.accounts.models import Project
from belvedere.insights.cohorts import service
from belvedere.insights.cohorts.members import TooManyMembers, members
from belvedere.insights.cohorts.models import Cohort
from belvedere.platform.jobs import REGISTRY, JobContext, RetryPolicy, ScheduleSpec, job
from belvedere.query.runner import QueryStore
from belvedere.store.base import QueryTimedOut

TICK = "cohorts.tick"


class CohortStore(QueryStore, Protocol):
    """What a computation needs of the event store: queries, and replacing a cohort's members."""

    def replace_cohort(self, *, project_id: int, cohort_id: int, people: list[str]) -> None: ...


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@job(
    service.COMPUTE,
    queue="store",
    retry=RetryPolicy(max_attempts=3, base=timedelta(seconds=30)),
    timeout=timedelta(minutes=10),
)
def compute(ctx: JobContext) -> None:
    store = ctx.need(CohortStore)  # type: ignore[type-abstract]
    payload = ctx.payload
    project_id, cohort_id = int(payload["project_id"]), int(payload["cohort_id"])
    session = ctx.session
    item = service.cohort(session, project_id=project_id, cohort_id=cohort_id)
    if item is None:
        store.replace_cohort(project_id=project_id, cohort_id=cohort_id, people=[])
        return
    if item.version != int(payload["version"]):
        return  # changed since: the computation of the new version is queued
    timezone = session.scalar(select(Project.timezone).where(Project.id == project_id)) or "UTC"
    definition = service.definition_of(item)
    version = item.version  # reads only so far: nothing holds the metadata database's write lock meanwhile
    now = ctx.now.astimezone(UTC).replace(tzinfo=None)
    try:
        people = members(definition, store=store, project_id=project_id, timezone=timezone, now=now)
    except (TooManyMembers, QueryTimedOut) as exc:
        _record(ctx, project_id, cohort_id, version, error=str(exc) or "the computation ran out of time")
        return
    store.replace_cohort(project_id=project_id, cohort_id=cohort_id, people=people)
    _record(ctx, project_id, cohort_id, version, count=len(people))


def _record(
    ctx: JobContext,
    project_id: int,
    cohort_id: int,
    version: int,
    *,
    count: int | None = None,
    error: str = "",
) -> None:
    item = service.cohort(ctx.session, project_id=project_id, cohort_id=cohort_id)
    if item is None or item.version != version:
        return
    item.computed_at = ctx.now
    if error:
        item.status, item.error = "error", error[:500]
    else:
        if item.status == "ready":  # the size before, for the feed's "cohort grew" (same definition only)
            item.previous_count = item.count
        item.status, item.error, item.count = "ready", None, count


@job(TICK, retry=RetryPolicy(max_attempts=2, base=timedelta(seconds=10)), timeout=timedelta(minutes=2))
def tick(ctx: JobContext) -> None:
    now = ctx.now
    for item in ctx.session.scalars(select(Cohort).order_by(Cohort.id)):
        if item.definition.get("type") == "static" or item.computed_at is None:
            continue  # a list changes only when edited; a first computation is queued when saved
        due = _aware(item.computed_at) + timedelta(hours=item.refresh_hours)
        if due <= now:
            ctx.enqueue(
                service.COMPUTE,
                {"project_id": item.project_id, "cohort_id": item.id, "version": item.version},
                key=f"cohort:{item.id}:{item.version}:{due.isoformat()}",
                project_id=item.project_id,
            )


REGISTRY.schedule(ScheduleSpec(TICK, TICK, every=timedelta(minutes=15)))
