"""Alerts on the job platform. Every minute ``alerts.tick`` finds the rules with a newly complete bucket
(one minute after it ended, for late events) and escalates firing alerts nobody acknowledged; it enqueues
one ``alerts.evaluate`` job per project and metric, on the ``store`` queue, so that rules sharing a metric
share its queries."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select

from belvedere.accounts.models import Project
from belvedere.alerts.buckets import last_complete
from belvedere.alerts.evaluate import evaluate, metric_of
from belvedere.alerts.models import AlertRule
from belvedere.alerts.notices import Where
from belvedere.alerts.service import Alerts
from belvedere.platform.jobs import REGISTRY, JobContext, RetryPolicy, ScheduleSpec, job
from belvedere.query.runner import QueryResult, QueryService, QuerySpec

TICK, EVALUATE = "alerts.tick", "alerts.evaluate"
GRACE = timedelta(seconds=60)  # events arrive a little late: a bucket is read a minute after it ends


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@job(TICK, retry=RetryPolicy(max_attempts=2, base=timedelta(seconds=10)), timeout=timedelta(minutes=2))
def tick(ctx: JobContext) -> None:
    alerts = ctx.need(Alerts)
    now = ctx.now
    at = now - GRACE
    groups: dict[tuple[int, int, str], list[tuple[int, str]]] = defaultdict(list)
    rows = ctx.session.execute(
        select(AlertRule, Project.timezone, Project.organisation_id, Project.name)
        .join(Project, Project.id == AlertRule.project_id)
        .where(AlertRule.enabled)
        .order_by(AlertRule.id)
    ).all()
    for rule, timezone, org_id, project_name in rows:
        start = last_complete(rule.interval, ZoneInfo(timezone), at)[0]  # type: ignore[arg-type]
        if rule.last_bucket is None or _aware(rule.last_bucket) < start:
            metric = orjson.dumps(rule.metric, option=orjson.OPT_SORT_KEYS).decode()
            groups[(rule.project_id, org_id, metric)].append((rule.id, start.isoformat()))
        if rule.state == "firing" and rule.escalation:
            where = Where(org_id, rule.project_id, project_name, timezone, alerts.base_url)
            alerts.escalate_rule(ctx.session, rule, where, now)
    for (project_id, org_id, metric), due in groups.items():
        # The key names the buckets: a tick before the job ran finds the same ones and adds nothing.
        digest = hashlib.sha256(f"{metric}|{due}".encode()).hexdigest()[:24]
        ctx.enqueue(
            EVALUATE,
            {"project_id": project_id, "org_id": org_id, "rules": [r for r, _ in due], "at": at.isoformat()},
            key=f"alerts:{project_id}:{digest}",
            org_id=org_id,
            project_id=project_id,
        )


@job(
    EVALUATE,
    queue="store",
    retry=RetryPolicy(max_attempts=3, base=timedelta(seconds=30)),
    timeout=timedelta(minutes=5),
)
def evaluate_rules(ctx: JobContext) -> None:
    alerts, queries = ctx.need(Alerts), ctx.need(QueryService)
    payload = ctx.payload
    at = datetime.fromisoformat(payload["at"])
    session = ctx.session
    where = alerts.where(session, int(payload["org_id"]), int(payload["project_id"]))
    rules = [
        r
        for r in session.scalars(
            select(AlertRule).where(AlertRule.id.in_(payload["rules"])).order_by(AlertRule.id)
        )
        if r.enabled and r.project_id == where.project_id
    ]
    if not rules:
        return  # deleted or disabled meanwhile

    def ask(spec: QuerySpec) -> QueryResult:
        return queries.run(spec, project_id=where.project_id, timezone=where.timezone, background=True)

    meter = alerts.meter(session, where.org_id, metric_of(rules[0]), ask)
    tz, now = ZoneInfo(where.timezone), ctx.now
    # Every rule's readings first (queries only: nothing touches the session), then the writes, so that
    # the metadata database's write lock is not held while the store answers.
    decided = [(rule, evaluate(rule, meter, tz, at, now)) for rule in rules]
    for rule, outcome in decided:
        if outcome is not None:
            alerts.record(session, rule, outcome, meter.metric, where, now)


REGISTRY.schedule(ScheduleSpec(TICK, TICK, every=timedelta(minutes=1)))
