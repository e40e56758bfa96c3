"""Recurring jobs. Every worker runs the tick; each due schedule is enqueued by exactly one of them.

A schedule's row holds its next tick. The worker whose compare-and-set moves ``next_run_at`` from the due
tick to the one after wins and enqueues the job, in the same transaction and with the key
``sched:<name>:<tick>`` besides. Ticks missed while nothing ran (the server was down) coalesce into one run:
the next tick is computed from now, not from the missed one. Cron expressions are read in the schedule's
time zone (croniter), so ``0 9 * * *`` in Europe/Paris is 9:00 there in summer and winter alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from croniter import croniter
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from belvedere.platform.db import transaction
from belvedere.platform.jobs.claims import utc
from belvedere.platform.jobs.models import Schedule
from belvedere.platform.jobs.queue import Jobs
from belvedere.platform.jobs.registry import ScheduleSpec

log = structlog.get_logger(__name__)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone (e.g. UTC, Europe/Paris)") from None


def check_cron(expression: str) -> str:
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(f"{expression!r} is not a cron expression of five fields (e.g. '0 9 * * 1')")
    return expression


def next_tick(
    cron: str | None, every: timedelta | None, tz: str, after: datetime, anchor: datetime
) -> datetime:
    """The first tick strictly after ``after``: the cron's next time in ``tz``, or ``anchor`` plus a whole
    number of intervals (so an interval keeps its phase across downtime)."""
    if cron is not None:
        local = after.astimezone(zone(tz))
        nxt: datetime = croniter(cron, local).get_next(datetime)
        return utc(nxt).astimezone(after.tzinfo)
    assert every is not None
    steps = (after - anchor) // every + 1 if after >= anchor else 0
    return anchor + every * steps if steps else anchor


def latest_tick(cron: str | None, every: timedelta | None, tz: str, now: datetime, due: datetime) -> datetime:
    """The last tick at or before ``now``, given that ``due`` was the first one not yet run: after downtime,
    the one run that stands for the missed ticks is dated by the newest of them."""
    if cron is not None:
        local = (now + timedelta(microseconds=1)).astimezone(zone(tz))
        previous: datetime = croniter(cron, local).get_prev(datetime)
        return max(due, utc(previous).astimezone(now.tzinfo))
    assert every is not None
    return due + every * ((now - due) // every)


def sync(session: Session, specs: dict[str, ScheduleSpec], now: datetime) -> None:
    """Store the schedules declared in code; a changed definition starts again from now."""
    for spec in specs.values():
        if spec.cron is not None:
            check_cron(spec.cron)
        zone(spec.tz)
        every = int(spec.every.total_seconds()) if spec.every is not None else None
        row = session.get(Schedule, spec.name, with_for_update=True)
        definition = (spec.job, spec.cron, every, spec.tz, spec.payload)
        if (
            row is not None
            and (row.job_name, row.cron, row.every_seconds, row.timezone, row.payload) == definition
        ):
            row.enabled = spec.enabled
            continue
        first = next_tick(spec.cron, spec.every, spec.tz, now, now + spec.every if spec.every else now)
        if row is None:
            session.add(
                Schedule(
                    name=spec.name,
                    job_name=spec.job,
                    payload=spec.payload,
                    cron=spec.cron,
                    every_seconds=every,
                    timezone=spec.tz,
                    next_run_at=first,
                    enabled=spec.enabled,
                )
            )
        else:
            row.job_name, row.cron, row.every_seconds, row.timezone, row.payload = definition
            row.next_run_at, row.enabled = first, spec.enabled


def tick(jobs: Jobs, now: datetime) -> int:
    """Enqueue every schedule due at ``now`` that no other worker enqueued first; returns how many."""
    with transaction(jobs.sessions) as session:
        due = session.execute(
            select(Schedule.name, Schedule.next_run_at).where(Schedule.enabled, Schedule.next_run_at <= now)
        ).all()
    started = 0
    for name, due_at in due:
        with transaction(jobs.sessions) as session:
            row = session.get(Schedule, name)
            if row is None:
                continue
            every = timedelta(seconds=row.every_seconds) if row.every_seconds else None
            following = next_tick(row.cron, every, row.timezone, now, utc(due_at))
            moved = session.execute(
                update(Schedule)
                .where(Schedule.name == name, Schedule.next_run_at == due_at)
                .values(next_run_at=following, last_run_at=now)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker took this tick
            tick_at = latest_tick(row.cron, every, row.timezone, now, utc(due_at)).isoformat()
            if row.job_name not in jobs.registry.jobs:
                log.warning("jobs.schedule_without_job", schedule=name, job=row.job_name)
                continue
            jobs.enqueue(
                row.job_name,
                {**row.payload, "scheduled_for": tick_at},
                key=f"sched:{name}:{tick_at}",
                session=session,
            )
            started += 1
    return started
