"""The use cases of alert rules: create from a draft (or a template), change, delete, acknowledge, mute,
evaluate now or as of a moment, preview a draft, read the history and the deliveries.

Every lookup takes the project id, so another project's rule is simply not found; the web layer has
checked the caller's role on the project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from belvedere.accounts.models import Project
from belvedere.accounts.plans import Plans
from belvedere.alerts import machine, notices
from belvedere.alerts.evaluate import (
    Meter,
    Outcome,
    PreviewPoint,
    backtest,
    config_of,
    evaluate,
    metric_of,
    state_of,
    store_state,
)
from belvedere.alerts.machine import RuleConfig
from belvedere.alerts.models import AlertEvent, AlertRule
from belvedere.alerts.notices import Where
from belvedere.alerts.quota import Count, quota_reader
from belvedere.alerts.rules import AnyMetric, QuotaMetric, RuleDraft, metric_json
from belvedere.notify.deliveries import delivery_json
from belvedere.notify.models import Channel, Delivery
from belvedere.platform.errors import Conflict, Invalid, NotFound
from belvedere.platform.jobs import Jobs
from belvedere.platform.jobs.bus import DomainEvent, publish
from belvedere.query.runner import QueryResult, QuerySpec

Ask = Callable[[QuerySpec], QueryResult]
FEATURE = "alerts"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2999, 12, 31, tzinfo=UTC)


def _moment(at: datetime | None) -> datetime | None:
    """An ``at`` a user gave, refused outside the dates the query API takes (and datetime can step from)."""
    found = _aware(at)
    if found is not None and not EARLIEST <= found <= LATEST:
        raise Invalid("at must lie between 1970 and 2999")
    return found


def at(value: datetime | None) -> str | None:
    """An instant as ISO text with its zone (SQLite gives back naive UTC), or None."""
    found = _aware(value)
    return found.isoformat() if found else None


def rule_json(rule: AlertRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "project_id": rule.project_id,
        "name": rule.name,
        "enabled": rule.enabled,
        "template": rule.template,
        "series": rule.metric,
        "interval": rule.interval,
        "condition": rule.condition,
        "pending_periods": rule.pending_periods,
        "resolve_value": rule.resolve_value,
        "cooldown_minutes": rule.cooldown_minutes,
        "channels": rule.channels,
        "escalation": rule.escalation,
        "muted_until": at(rule.muted_until),
        "state": rule.state,
        "last_value": rule.last_value,
        "recent": rule.recent or [],
        "last_bucket": at(rule.last_bucket),
        "last_evaluated_at": at(rule.last_evaluated_at),
        "fired_at": at(rule.fired_at),
        "acknowledged_by": rule.acknowledged_by,
        "acknowledged_at": at(rule.acknowledged_at),
        "created_at": at(rule.created_at),
    }


def event_json(event: AlertEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "value": event.value,
        "compared": event.compared,
        "threshold": event.threshold,
        "bucket": {"start": at(event.bucket_start), "end": at(event.bucket_end)}
        if event.bucket_start
        else None,
        "at": at(event.at),
        "actor": event.actor,
        "muted": event.muted,
    }


@dataclass
class Alerts:
    jobs: Jobs
    plans: Plans
    base_url: str
    count: Count | None = None  # a query on any project (the server's store): quota rules need it

    def meter(self, session: Session, org_id: int, metric: AnyMetric, ask: Ask) -> Meter:
        """What reads ``metric``: ``ask`` for the project's own queries; for the quota, every project's
        events (where the store is at hand)."""
        quota = None
        if isinstance(metric, QuotaMetric) and self.count is not None:
            quota = quota_reader(session, org_id, self.plans, self.count)
        return Meter(ask, metric, quota=quota)

    # --- rules -------------------------------------------------------------------------------------------

    def _check_channels(self, session: Session, project_id: int, draft: RuleDraft) -> None:
        wanted = set(draft.channels) | set(draft.escalation.channels if draft.escalation else [])
        if not wanted:
            return
        found = set(
            session.scalars(
                select(Channel.id).where(Channel.id.in_(wanted), Channel.project_id == project_id)
            )
        )
        missing = sorted(wanted - found)
        if missing:
            raise Invalid(
                f"no channel {', '.join(map(str, missing))} in this project: create it first (alert-channels)"
            )

    def create(
        self,
        session: Session,
        *,
        org_id: int,
        plan: str,
        project_id: int,
        draft: RuleDraft,
        user_id: int | None,
        template: str | None = None,
    ) -> AlertRule:
        self.plans.require_feature(plan, FEATURE)
        in_org = session.scalar(
            select(func.count())
            .select_from(AlertRule)
            .join(Project, Project.id == AlertRule.project_id)
            .where(Project.organisation_id == org_id)
        )
        self.plans.check_limit(plan, "alert_rules", int(in_org or 0))
        self._check_channels(session, project_id, draft)
        now = utcnow()
        rule = AlertRule(
            project_id=project_id, template=template, created_by=user_id, created_at=now, updated_at=now
        )
        _apply(rule, draft)
        session.add(rule)
        session.flush()
        return rule

    def update(self, session: Session, *, project_id: int, rule_id: int, draft: RuleDraft) -> AlertRule:
        rule = get_rule(session, project_id, rule_id)
        self._check_channels(session, project_id, draft)
        before = (rule.metric, rule.interval, rule.condition)
        _apply(rule, draft)
        if (rule.metric, rule.interval, rule.condition) != before:  # another question: start from ok
            store_state(rule, machine.RuleState())
            rule.last_bucket = rule.last_value = rule.recent = None
        rule.updated_at = utcnow()
        return rule

    def acknowledge(
        self, session: Session, *, project_id: int, rule_id: int, user_id: int | None
    ) -> AlertRule:
        rule = get_rule(session, project_id, rule_id)
        try:
            state, step = machine.acknowledge(state_of(rule), user_id, utcnow())
        except ValueError as exc:
            raise Conflict(str(exc), code="alert_state") from None
        store_state(rule, state)
        notices.record(session, rule, step, None, utcnow(), actor=user_id)
        return rule

    def mute(self, session: Session, *, project_id: int, rule_id: int, until: datetime | None) -> AlertRule:
        rule = get_rule(session, project_id, rule_id)
        rule.muted_until = until
        return rule

    # --- evaluation --------------------------------------------------------------------------------------

    def where(self, session: Session, org_id: int, project_id: int) -> Where:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFound(f"There is no project {project_id}.")
        return Where(org_id, project_id, project.name, project.timezone, self.base_url)

    def step_rule(
        self, session: Session, rule: AlertRule, meter: Meter, where: Where, at: datetime, now: datetime
    ) -> bool:
        """Evaluate one rule on the bucket complete at ``at``; record and notify its steps. False if that
        bucket was evaluated already."""
        outcome = evaluate(rule, meter, ZoneInfo(where.timezone), at, now)
        if outcome is None:
            return False
        self.record(session, rule, outcome, meter.metric, where, now)
        return True

    def record(
        self,
        session: Session,
        rule: AlertRule,
        outcome: Outcome,
        metric: AnyMetric,
        where: Where,
        now: datetime,
    ) -> None:
        """Write what ``evaluate`` decided: the history, the in-app notification, the deliveries. Only
        database work: an evaluation job reads every rule's metric first, then records them all, so that
        the metadata database's write lock is never held while the event store works."""
        muted = rule.muted_until is not None and _aware(rule.muted_until) > now  # type: ignore[operator]
        for step in outcome.steps:
            event = notices.record(session, rule, step, outcome.reading, now, muted=muted)
            if step.kind == "transition" and step.to_state in ("firing", "resolved"):
                said = {"rule_id": rule.id, "name": rule.name, "value": event.value, "history_id": event.id}
                name = "alert.fired" if step.to_state == "firing" else "alert.resolved"
                publish(session, DomainEvent(name, said, where.org_id, where.project_id), self.jobs)
            if step.notify and not muted:
                body = notices.message(
                    rule, step, event, where, metric, config_of(rule).condition, chart(rule)
                )
                notices.send(session, self.jobs, rule, step, event, where, body)

    def escalate_rule(self, session: Session, rule: AlertRule, where: Where, now: datetime) -> bool:
        state, step = machine.escalate(config_of(rule), state_of(rule), now)
        if step is None:
            return False
        store_state(rule, state)
        muted = rule.muted_until is not None and _aware(rule.muted_until) > now  # type: ignore[operator]
        event = notices.record(session, rule, step, None, now, muted=muted)
        if not muted:
            body = notices.message(rule, step, event, where, metric_of(rule), config_of(rule).condition)
            notices.send(session, self.jobs, rule, step, event, where, body)
        return True

    def evaluate_now(
        self, session: Session, *, org_id: int, project_id: int, rule_id: int, ask: Ask, at: datetime | None
    ) -> tuple[AlertRule, bool]:
        """The API's evaluate: the bucket complete now (or at ``at``), notifying as live evaluations do."""
        rule = get_rule(session, project_id, rule_id)
        now = utcnow()
        moment = _moment(at) or now
        where = self.where(session, org_id, project_id)
        meter = self.meter(session, org_id, metric_of(rule), ask)
        changed = self.step_rule(session, rule, meter, where, moment, moment if at else now)
        return rule, changed

    def preview(
        self,
        session: Session,
        *,
        org_id: int,
        project_id: int,
        draft: RuleDraft,
        ask: Ask,
        at: datetime | None,
        buckets: int,
    ) -> list[PreviewPoint]:
        where = self.where(session, org_id, project_id)
        config = RuleConfig(
            condition=draft.condition,
            pending_periods=draft.pending_periods,
            resolve_value=draft.resolve_value,
            cooldown_minutes=draft.cooldown_minutes,
        )
        meter = self.meter(session, org_id, draft.series, ask)
        return backtest(
            draft.series,
            config,
            draft.interval,
            ZoneInfo(where.timezone),
            meter,
            _moment(at) or utcnow(),
            buckets,
        )


def chart(rule: AlertRule) -> list[list[Any]]:
    """The rule's last readings for a notification's chart: [start, value, breaching], oldest first."""
    return [list(point) for point in (rule.recent or [])[-12:]]


def _apply(rule: AlertRule, draft: RuleDraft) -> None:
    rule.name, rule.enabled = draft.name, draft.enabled
    rule.metric = metric_json(draft.series)
    rule.interval = draft.interval
    rule.condition = draft.condition.model_dump(mode="json")
    rule.pending_periods, rule.resolve_value = draft.pending_periods, draft.resolve_value
    rule.cooldown_minutes = draft.cooldown_minutes
    rule.channels = list(draft.channels)
    rule.escalation = draft.escalation.model_dump(mode="json") if draft.escalation else None


def list_rules(session: Session, project_id: int) -> list[AlertRule]:
    return list(
        session.scalars(select(AlertRule).where(AlertRule.project_id == project_id).order_by(AlertRule.id))
    )


def get_rule(session: Session, project_id: int, rule_id: int) -> AlertRule:
    rule = session.get(AlertRule, rule_id)
    if rule is None or rule.project_id != project_id:
        raise NotFound(f"There is no alert {rule_id} in this project.")
    return rule


def delete_rule(session: Session, project_id: int, rule_id: int) -> None:
    session.delete(get_rule(session, project_id, rule_id))


def history(session: Session, project_id: int, rule_id: int, limit: int = 100) -> list[AlertEvent]:
    get_rule(session, project_id, rule_id)
    statement = (
        select(AlertEvent).where(AlertEvent.rule_id == rule_id).order_by(AlertEvent.id.desc()).limit(limit)
    )
    return list(session.scalars(statement))


def deliveries_of(session: Session, project_id: int, rule_id: int, limit: int = 100) -> list[dict[str, Any]]:
    get_rule(session, project_id, rule_id)
    rows = session.execute(
        select(Delivery, Channel.name)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Delivery.rule_id == rule_id, Delivery.project_id == project_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    return [delivery_json(d, name) for d, name in rows]


def forget_channel(session: Session, project_id: int, channel_id: int) -> None:
    """A deleted channel leaves the rules that named it."""
    for rule in list_rules(session, project_id):
        if channel_id in rule.channels:
            rule.channels = [c for c in rule.channels if c != channel_id]
        if rule.escalation and channel_id in rule.escalation.get("channels", []):
            left = [c for c in rule.escalation["channels"] if c != channel_id]
            rule.escalation = {**rule.escalation, "channels": left} if left else None
