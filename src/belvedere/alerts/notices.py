"""What a rule's step tells people: a line of history, an in-app notification, and one delivery per channel
(queued in the same transaction as the step, with the key rule + history line + channel, so that it goes
out once however many times the evaluation runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.alerts.evaluate import condition_of
from belvedere.alerts.machine import Reading, Step, threshold_of
from belvedere.alerts.models import AlertEvent, AlertRule
from belvedere.alerts.rules import (
    Anomaly,
    AnyCondition,
    AnyMetric,
    FormulaMetric,
    QuotaMetric,
    StatMetric,
    Threshold,
)
from belvedere.notify import deliveries, inbox
from belvedere.notify.models import Channel
from belvedere.platform.jobs import Jobs

TITLES = {"firing": "Firing", "resolved": "Resolved", "acknowledged": "Acknowledged", "pending": "Pending"}
STAT_LABELS = {
    "visitors": "Visitors",
    "visits": "Visits",
    "pageviews": "Page views",
    "views_per_visit": "Views per visit",
    "bounce_rate": "Bounce rate (%)",
    "visit_duration": "Visit duration (s)",
    "events": "Events",
    "revenue": "Revenue",
    "conversion_rate": "Conversion rate (%)",
}
MATH_LABELS = {"total": "count", "unique_users": "people", "unique_sessions": "visits"}


@dataclass(frozen=True, slots=True)
class Where:
    """The project a rule belongs to, as its notifications name it."""

    org_id: int
    project_id: int
    project_name: str
    timezone: str
    base_url: str


def metric_label(metric: AnyMetric) -> str:
    if isinstance(metric, QuotaMetric):
        return "Event quota used (%)"
    if isinstance(metric, StatMetric):
        label = STAT_LABELS[metric.stat]
        if metric.goal is not None:
            label += f" of {metric.goal.event or metric.goal.page}"
        return label
    if isinstance(metric, FormulaMetric):
        return metric.formula
    math = MATH_LABELS.get(metric.math, f"{metric.math} of {metric.math_property}")
    return f"{metric.event or 'Every event'} ({math})"


def condition_label(condition: AnyCondition, interval: str) -> str:
    if isinstance(condition, Threshold):
        return f"{condition.operator} {condition.value:g}"
    if isinstance(condition, Anomaly):
        side = {"up": "above", "down": "below", "both": "outside"}[condition.direction]
        return f"{side} its expected band ({condition.sensitivity} sensitivity)"
    unit = "5 minutes" if interval == "5m" else interval
    against = (
        f"the previous {unit}" if condition.compare_to == "previous" else f"the same {unit} a week before"
    )
    return f"{condition.direction} {condition.percent:g} % against {against}"


def rule_url(where: Where, rule_id: int) -> str:
    return f"{where.base_url}/app/projects/{where.project_id}/alerts/{rule_id}"


def record(
    session: Session,
    rule: AlertRule,
    step: Step,
    seen: Reading | None,
    at: datetime,
    *,
    actor: int | None = None,
    muted: bool = False,
) -> AlertEvent:
    event = AlertEvent(
        rule_id=rule.id,
        kind=step.kind,
        from_state=step.from_state,
        to_state=step.to_state,
        value=seen.value if seen else rule.last_value,
        compared=seen.compared if seen else None,
        threshold=threshold_of(condition_of(rule)),
        bucket_start=seen.start if seen else None,
        bucket_end=seen.end if seen else None,
        at=at,
        actor=actor,
        muted=muted,
    )
    session.add(event)
    session.flush()
    return event


def message(
    rule: AlertRule,
    step: Step,
    event: AlertEvent,
    where: Where,
    metric: AnyMetric,
    condition: AnyCondition,
    chart: list[list[Any]] | None = None,
) -> dict[str, Any]:
    title = {"reminder": "Still firing", "escalation": "Escalated, not acknowledged"}.get(
        step.kind, TITLES.get(step.to_state, step.to_state)
    )
    bucket = None
    if event.bucket_start is not None and event.bucket_end is not None:
        bucket = {"start": event.bucket_start.isoformat(), "end": event.bucket_end.isoformat()}
    return {
        "kind": step.kind,
        "title": f"{title}: {rule.name}",
        "alert": {"id": rule.id, "name": rule.name, "url": rule_url(where, rule.id)},
        "project_id": where.project_id,
        "project_name": where.project_name,
        "timezone": where.timezone,
        "state": step.to_state,
        "previous_state": step.from_state,
        "value": event.value,
        "compared": event.compared,
        "threshold": event.threshold,
        "metric": metric_label(metric),
        "condition": condition_label(condition, rule.interval),
        "bucket": bucket,
        "fired_at": rule.fired_at.isoformat() if rule.fired_at else None,
        "at": event.at.isoformat(),
        "chart": chart or [],
    }


def send(
    session: Session,
    jobs: Jobs,
    rule: AlertRule,
    step: Step,
    event: AlertEvent,
    where: Where,
    body: dict[str, Any],
) -> int:
    """The in-app notification and one delivery per channel of the step; returns the deliveries queued."""
    level = "resolved" if step.to_state == "resolved" else "alert"
    inbox.post(
        session,
        project_id=where.project_id,
        rule_id=rule.id,
        level=level,
        title=str(body["title"]),
        body=f"{body['metric']}: {body['value']} ({body['condition']})",
        link=f"/app/projects/{where.project_id}/alerts/{rule.id}",
    )
    ids = rule.channels if step.notify == "channels" else list((rule.escalation or {}).get("channels", []))
    if not ids:
        return 0
    channels = session.scalars(
        select(Channel).where(Channel.id.in_(ids), Channel.project_id == where.project_id)
    )
    queued = 0
    for channel in channels:  # a channel deleted since the rule was saved is skipped
        deliveries.queue(
            session,
            jobs,
            channel=channel,
            kind=step.kind if step.kind != "transition" else step.to_state,
            message=body,
            key=f"alert:{rule.id}:{event.id}:{channel.id}",
            org_id=where.org_id,
            rule_id=rule.id,
            event_id=event.id,
        )
        queued += 1
    return queued
