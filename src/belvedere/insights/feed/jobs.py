"""The feed on the job platform. Every hour ``insights.feed.tick`` queues, for each project, the run of its
last complete day (the project's own calendar), keyed by that day: each day is read once, the hour after it
ends wherever the project is. ``insights.feed`` (``store`` queue) asks the finders and writes what is new.
On Monday mornings (the project's time) ``insights.digest`` mails the week's findings to the organisation's
members with a verified address; a week without findings sends nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from belvedere.accounts.models import Membership, Organisation, Project, User
from belvedere.dashboards.models import Insight
from belvedere.insights.cohorts.models import Cohort
from belvedere.insights.cohorts.rules import describe
from belvedere.insights.feed import service
from belvedere.insights.feed.finders import CohortSize, findings
from belvedere.platform.db import transaction
from belvedere.platform.jobs import REGISTRY, JobContext, RetryPolicy, ScheduleSpec, job
from belvedere.platform.mail import Mailer
from belvedere.query.kinds import parse_query
from belvedere.query.runner import QueryResult, QueryService

TICK, RUN, DIGEST = "insights.feed.tick", "insights.feed", "insights.digest"
DIGEST_WEEKDAY, DIGEST_HOUR = 0, 7  # Monday, from 07:00 in the project's time zone


@dataclass(frozen=True, slots=True)
class FeedLinks:
    """Where the web app is, for the digest's links."""

    base_url: str


def last_complete_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


@job(TICK, retry=RetryPolicy(max_attempts=2, base=timedelta(seconds=10)), timeout=timedelta(minutes=2))
def tick(ctx: JobContext) -> None:
    now = ctx.now
    for project_id, org_id, timezone in ctx.session.execute(
        select(Project.id, Project.organisation_id, Project.timezone).order_by(Project.id)
    ):
        day = last_complete_day(now, timezone)
        payload = {"project_id": project_id, "day": day.isoformat()}
        ctx.enqueue(RUN, payload, key=f"feed:{project_id}:{day}", org_id=org_id, project_id=project_id)
        local = now.astimezone(ZoneInfo(timezone))
        if local.weekday() == DIGEST_WEEKDAY and local.hour >= DIGEST_HOUR:
            week = local.date().isocalendar()
            ctx.enqueue(
                DIGEST,
                {"project_id": project_id, "day": local.date().isoformat()},
                key=f"digest:{project_id}:{week.year}-{week.week}",
                org_id=org_id,
                project_id=project_id,
            )


@job(
    RUN,
    queue="store",
    retry=RetryPolicy(max_attempts=3, base=timedelta(minutes=1)),
    timeout=timedelta(minutes=5),
)
def run(ctx: JobContext) -> None:
    queries = ctx.need(QueryService)
    project_id, day = int(ctx.payload["project_id"]), date.fromisoformat(ctx.payload["day"])
    timezone = ctx.session.scalar(select(Project.timezone).where(Project.id == project_id))
    if timezone is None:
        return  # deleted meanwhile

    def ask(spec: dict[str, Any]) -> QueryResult:
        return queries.run(parse_query(spec), project_id=project_id, timezone=timezone, background=True)

    funnels = [
        (i.id, i.name, dict(i.query))
        for i in ctx.session.scalars(
            select(Insight)
            .where(Insight.project_id == project_id, Insight.kind == "funnel")
            .order_by(Insight.id)
        )
    ]
    sizes = [
        CohortSize(
            c.id,
            c.name,
            str(c.definition["query"].get("pattern")),
            describe(c.definition),
            c.count,
            c.previous_count,
            c.computed_at.date(),
            c.definition["query"],
        )
        for c in ctx.session.scalars(
            select(Cohort).where(Cohort.project_id == project_id).order_by(Cohort.id)
        )
        if c.definition.get("type") == "pattern" and c.count is not None and c.computed_at is not None
    ]
    found = findings(
        ask, project_id, day, funnels, sizes
    )  # queries only: no metadata write lock held meanwhile
    service.record(ctx.session, project_id=project_id, day=day, found=found, now=ctx.now)


@job(DIGEST, retry=RetryPolicy(max_attempts=3, base=timedelta(minutes=5)), timeout=timedelta(minutes=5))
def digest(ctx: JobContext) -> None:
    session = ctx.session
    project_id = int(ctx.payload["project_id"])
    found = session.execute(
        select(Project, Organisation)
        .join(Organisation, Organisation.id == Project.organisation_id)
        .where(Project.id == project_id)
    ).first()
    if found is None:
        return
    project, org = found
    day = date.fromisoformat(ctx.payload["day"])
    week = service.items(session, project_id=project_id, since=day - timedelta(days=7))
    if not week:
        return
    base = ctx.need(FeedLinks).base_url.rstrip("/")
    subject, body = compose(project.name, org.name, day, week, f"{base}/app/projects/{project_id}/feed")
    recipients = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org.id, User.email_verified_at.is_not(None))
        .order_by(User.email)
    ).all()
    mailer = ctx.need(Mailer)
    for to in recipients:
        # Once per recipient, whatever happens to the job; each message in its own short transaction, so
        # the metadata database's write lock is never held across the next delivery.
        effect = f"digest:{project_id}:{day}:{to}"
        if ctx.effect_done(effect) is not None:
            continue
        with transaction(ctx.jobs.sessions) as own:
            mailer.send(own, to=to, subject=subject, body=body, organisation_id=org.id)
        ctx.record_effect(effect, {"findings": len(week)})


def compose(project: str, org: str, day: date, week: list[Any], link: str) -> tuple[str, str]:
    """The digest's subject and plain-text body: each finding's title, what it means, what to do."""
    n = len(week)
    subject = f"{project}: {n} finding{'s' if n != 1 else ''} this week"
    lines = [f"What changed in {project} ({org}) in the week to {day.isoformat()}:", ""]
    for item in week:
        lines += [
            f"[{item.severity}] {item.title}",
            f"  {item.body}",
            f"  What to do: {item.recommendation}",
            "",
        ]
    lines += [f"Every finding, with the figures behind it: {link}", ""]
    return subject, "\n".join(lines)


REGISTRY.schedule(ScheduleSpec(TICK, TICK, every=timedelta(hours=1)))
