"""Reading a rule's metric and moving its state: one evaluation per complete bucket.

A ``Meter`` answers queries for one project; readings are kept per bucket while one evaluation job runs,
so that rules sharing a metric (and the buckets they compare with) share its queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from belvedere.alerts import machine
from belvedere.alerts.buckets import Bucket, compared, complete_buckets, last_complete
from belvedere.alerts.machine import Reading, RuleConfig, RuleState, Step
from belvedere.alerts.models import AlertRule
from belvedere.alerts.rules import (
    Anomaly,
    AnyCondition,
    AnyMetric,
    Change,
    Condition,
    Interval,
    QuotaMetric,
    SeriesMetric,
    anomaly_query,
    metric_query,
    metric_value,
    parse_metric,
)
from belvedere.query.runner import QueryResult, QuerySpec

_CONDITION: TypeAdapter[AnyCondition] = TypeAdapter(Condition)
PREVIEW_MAX = 100
RECENT = 24  # readings kept on the rule ([start, value, breaching]): its sparkline, its emails' chart


@dataclass
class Meter:
    """The metric's value over any bucket of one project, each bucket asked once."""

    ask: Callable[[QuerySpec], QueryResult]
    metric: AnyMetric
    values: dict[Bucket, float | None] = field(default_factory=dict)
    quota: Callable[[datetime], float | None] | None = None  # the organisation's quota used by then (%)
    judged: dict[Bucket, Reading] = field(default_factory=dict)  # anomaly conditions' readings

    def value(self, bucket: Bucket) -> float | None:
        if bucket not in self.values:
            if isinstance(self.metric, QuotaMetric):
                self.values[bucket] = self.quota(bucket[1]) if self.quota is not None else None
            else:
                answer = self.ask(metric_query(self.metric, bucket[0], bucket[1]))
                self.values[bucket] = metric_value(self.metric, answer)
        return self.values[bucket]

    def judge(self, bucket: Bucket, condition: Anomaly) -> Reading:
        """The bucket's value with its expected value and band (the ``anomalies`` kind's point)."""
        if bucket not in self.judged:
            points = self._points(bucket[0], bucket[1], condition)
            self.judged[bucket] = _judged(bucket, points[-1] if points else None)
        return self.judged[bucket]

    def judge_all(self, buckets: list[Bucket], condition: Anomaly) -> None:
        """Judge consecutive buckets with one question (a preview's); left to ``judge`` one by one when the
        answer's buckets are not the alert's (a repeated hour when the clocks go back)."""
        if not buckets:
            return
        points = self._points(buckets[0][0], buckets[-1][1], condition)
        if len(points) == len(buckets):
            for bucket, point in zip(buckets, points, strict=True):
                self.judged[bucket] = _judged(bucket, point)

    def _points(self, start: datetime, end: datetime, condition: Anomaly) -> list[Any]:
        assert isinstance(self.metric, SeriesMetric)  # RuleDraft allows no other
        answer = self.ask(anomaly_query(self.metric, condition, start, end))
        return list(answer.series[0].points) if answer.series else []  # type: ignore[attr-defined]


def _judged(bucket: Bucket, point: Any) -> Reading:
    if point is None:
        return Reading(bucket[0], bucket[1], None)
    band = None if point.lower is None else (point.lower, point.upper)
    return Reading(bucket[0], bucket[1], point.value, point.expected, band)


def condition_of(rule: AlertRule) -> AnyCondition:
    return _CONDITION.validate_python(rule.condition)


def config_of(rule: AlertRule) -> RuleConfig:
    escalation = rule.escalation or {}
    return RuleConfig(
        condition=condition_of(rule),
        pending_periods=rule.pending_periods,
        resolve_value=rule.resolve_value,
        cooldown_minutes=rule.cooldown_minutes,
        escalate_after_minutes=escalation.get("after_minutes"),
    )


def state_of(rule: AlertRule) -> RuleState:
    """The rule's state with aware instants (SQLite gives them back naive; they are UTC)."""
    return RuleState(
        state=rule.state,
        breaches=rule.breaches,
        fired_at=_maybe(rule.fired_at),
        notified_at=_maybe(rule.notified_at),
        escalated_at=_maybe(rule.escalated_at),
        acknowledged_at=_maybe(rule.acknowledged_at),
        acknowledged_by=rule.acknowledged_by,
    )


def _maybe(at: datetime | None) -> datetime | None:
    return None if at is None else _aware(at)


def store_state(rule: AlertRule, state: RuleState) -> None:
    rule.state, rule.breaches = state.state, state.breaches
    rule.fired_at, rule.notified_at, rule.escalated_at = state.fired_at, state.notified_at, state.escalated_at
    rule.acknowledged_at, rule.acknowledged_by = state.acknowledged_at, state.acknowledged_by


def reading(
    meter: Meter, condition: AnyCondition, interval: Interval, tz: ZoneInfo, bucket: Bucket
) -> Reading:
    if isinstance(condition, Anomaly):
        return meter.judge(bucket, condition)
    value = meter.value(bucket)
    other = None
    if isinstance(condition, Change):
        other = meter.value(compared(bucket, interval, tz, condition.compare_to))
    return Reading(bucket[0], bucket[1], value, other)


@dataclass(frozen=True, slots=True)
class Outcome:
    reading: Reading
    steps: list[Step]


def evaluate(rule: AlertRule, meter: Meter, tz: ZoneInfo, at: datetime, now: datetime) -> Outcome | None:
    """Move ``rule`` by the newest bucket complete at ``at`` (None if that bucket was evaluated already)."""
    bucket = last_complete(rule.interval, tz, at)  # type: ignore[arg-type]
    last = rule.last_bucket
    if last is not None and _aware(last) >= bucket[0]:
        return None
    config = config_of(rule)
    seen = reading(meter, config.condition, rule.interval, tz, bucket)  # type: ignore[arg-type]
    state, steps = machine.advance(config, state_of(rule), seen, now)
    store_state(rule, state)
    rule.last_bucket, rule.last_value, rule.last_evaluated_at = bucket[0], seen.value, now
    breach = machine.breaching(config.condition, seen)
    rule.recent = [*(rule.recent or []), [bucket[0].isoformat(), seen.value, breach]][-RECENT:]
    return Outcome(seen, steps)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PreviewPoint:
    start: datetime
    end: datetime
    value: float | None
    compared: float | None
    breaching: bool | None
    state: str
    fired: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "value": self.value,
            "compared": self.compared,
            "breaching": self.breaching,
            "state": self.state,
            "fired": self.fired,
        }


def backtest(
    metric: AnyMetric,
    config: RuleConfig,
    interval: Interval,
    tz: ZoneInfo,
    meter: Meter,
    at: datetime,
    buckets: int,
) -> list[PreviewPoint]:
    """The rule as if it had run over the last ``buckets`` complete buckets from ``ok``: each bucket's value,
    whether it breached, the state after it, and where it would have fired."""
    state = RuleState()
    points = []
    wanted = complete_buckets(interval, tz, at, min(buckets, PREVIEW_MAX))
    if isinstance(config.condition, Anomaly):
        meter.judge_all(wanted, config.condition)
    for bucket in wanted:
        seen = reading(meter, config.condition, interval, tz, bucket)
        state, steps = machine.advance(config, state, seen, bucket[1])
        fired = any(s.to_state == "firing" and s.kind == "transition" for s in steps)
        points.append(
            PreviewPoint(
                bucket[0],
                bucket[1],
                seen.value,
                seen.compared,
                machine.breaching(config.condition, seen),
                state.state,
                fired,
            )
        )
    return points


def metric_of(rule: AlertRule) -> AnyMetric:
    return parse_metric(rule.metric)
