"""What a rule is made of, checked: the metric it watches, the interval, the condition, how it notifies.

A metric is one of three shapes (the API's ``series``):

- a trends series: ``{"event": "signup", "math": "unique_users", "filters": [...]}``;
- a formula over several series: ``{"series": [{...}, {...}], "formula": "B / A * 100"}``;
- a figure of the key figures: ``{"stat": "bounce_rate"}``, or ``{"stat": "conversion_rate", "goal":
  "signup"}``.

Each becomes the query the query API itself would answer (``metric_query``), over one bucket: the value a rule
sees is exactly the value the API gives for that range.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from belvedere.insights.anomaly import Sensitivity
from belvedere.query.fields import Filter
from belvedere.query.goal import Goal
from belvedere.query.kinds import parse_query
from belvedere.query.kinds.anomalies import COUNTED
from belvedere.query.kinds.stats import METRICS
from belvedere.query.kinds.trends import Series
from belvedere.query.runner import QuerySpec

Interval = Literal["5m", "hour", "day", "week", "month"]
INTERVALS: tuple[Interval, ...] = ("5m", "hour", "day", "week", "month")
STATS = (*METRICS, "conversion_rate")  # the key figures, and a goal's conversion rate
LIMIT = 1e15  # thresholds beyond this are absurd (and lose integer precision as floats)
ChannelId = Annotated[int, Field(ge=1, le=2**62)]  # an id the metadata database can hold
MAX_CHANNELS = 10


class SeriesMetric(Series):
    model_config = ConfigDict(extra="forbid")


class FormulaMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    series: list[SeriesMetric] = Field(min_length=1, max_length=10)
    formula: str = Field(min_length=1, max_length=200)
    filters: list[Filter] = Field(default_factory=list, max_length=20)


class StatMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stat: Literal[STATS]  # type: ignore[valid-type]
    goal: Goal | None = None
    filters: list[Filter] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _goal_when_needed(self) -> StatMetric:
        if self.stat == "conversion_rate" and self.goal is None:
            raise ValueError('conversion_rate needs a goal: an event name, or {"page": a path pattern}')
        return self


class QuotaMetric(BaseModel):
    """The share (%) of the organisation's monthly event quota used by the end of the bucket: the events of
    all its projects since the start of that calendar month (UTC, as the quota counts), over the plan's
    ``events_per_month``. No value on a plan without a quota."""

    model_config = ConfigDict(extra="forbid")
    quota: Literal["events"]


def _shape(raw: Any) -> str:
    """Which shape a metric has, from its keys: one set of errors for the shape meant, not three."""
    if isinstance(raw, dict):
        return next((key for key in ("stat", "formula", "quota") if key in raw), "series")
    shapes: dict[type, str] = {StatMetric: "stat", FormulaMetric: "formula", QuotaMetric: "quota"}
    return shapes.get(type(raw), "series")


AnyMetric = StatMetric | FormulaMetric | QuotaMetric | SeriesMetric
Metric = Annotated[
    Annotated[StatMetric, Tag("stat")]
    | Annotated[FormulaMetric, Tag("formula")]
    | Annotated[QuotaMetric, Tag("quota")]
    | Annotated[SeriesMetric, Tag("series")],
    Discriminator(_shape),
]
_METRIC: TypeAdapter[AnyMetric] = TypeAdapter(Metric)


def _finite(value: float) -> float:
    if not math.isfinite(value) or abs(value) > LIMIT:
        raise ValueError(f"a threshold must be a number between -{LIMIT:.0e} and {LIMIT:.0e}")
    return value


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["threshold"] = "threshold"
    operator: Literal["above", "below"]
    value: float

    _check = field_validator("value")(classmethod(lambda cls, v: _finite(v)))


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["change"] = "change"
    direction: Literal["up", "down"]
    percent: float = Field(gt=0, le=100_000)
    compare_to: Literal["previous", "week_before"] = "previous"


class Anomaly(BaseModel):
    """The bucket lies outside the band the series' own past gives it (the ``anomalies`` query kind; its
    method in docs/insights.md): for a counted series, by hour or by day."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["anomaly"] = "anomaly"
    sensitivity: Sensitivity = "medium"
    direction: Literal["up", "down", "both"] = "both"


AnyCondition = Threshold | Change | Anomaly
Condition = Annotated[AnyCondition, Field(discriminator="type")]


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after_minutes: int = Field(ge=1, le=7 * 24 * 60)
    channels: list[ChannelId] = Field(min_length=1, max_length=MAX_CHANNELS)


class RuleDraft(BaseModel):
    """A rule as a user writes it (create, update, preview)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    series: Metric
    interval: Interval = "hour"
    condition: Condition
    pending_periods: int = Field(1, ge=1, le=100, description="Consecutive breaching buckets before firing.")
    resolve_value: float | None = Field(
        None,
        description="Hysteresis: a firing alert resolves only past this value (threshold) or this percent "
        "(change); default: as soon as the condition no longer holds.",
    )
    cooldown_minutes: int = Field(0, ge=0, le=30 * 24 * 60, description="Repeat while firing; 0: never.")
    channels: list[ChannelId] = Field(default_factory=list, max_length=MAX_CHANNELS)
    escalation: Escalation | None = None
    enabled: bool = True

    _check_resolve = field_validator("resolve_value")(
        classmethod(lambda cls, v: v if v is None else _finite(v))
    )

    @model_validator(mode="after")
    def _consistent(self) -> RuleDraft:
        metric_query(self.series, datetime(2026, 1, 1), datetime(2026, 1, 2))  # the query API's own checks
        c, r = self.condition, self.resolve_value
        wrong_side = isinstance(c, Threshold) and (
            (c.operator == "above" and r is not None and r > c.value)
            or (c.operator == "below" and r is not None and r < c.value)
        )
        if wrong_side and isinstance(c, Threshold):
            side = "at or below" if c.operator == "above" else "at or above"
            raise ValueError(
                f"resolve_value must be {side} the threshold ({c.value:g}), or it never resolves"
            )
        if r is not None and isinstance(c, Change) and not 0 <= r <= c.percent:
            raise ValueError(f"resolve_value is a percent between 0 and the condition's {c.percent:g}")
        if isinstance(c, Anomaly):
            _check_anomaly_rule(self.series, self.interval, r)
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel is listed twice")
        return self


def _check_anomaly_rule(metric: AnyMetric, interval: Interval, resolve_value: float | None) -> None:
    if not isinstance(metric, SeriesMetric) or metric.math not in COUNTED:
        raise ValueError(f"an anomaly condition watches a counted series (math: {', '.join(COUNTED)})")
    if interval not in ("hour", "day"):
        raise ValueError("an anomaly condition is judged by hour or by day")
    if resolve_value is not None:
        raise ValueError("an anomaly alert resolves when a bucket is back inside its band: no resolve_value")


def anomaly_query(metric: SeriesMetric, condition: Anomaly, start: datetime, end: datetime) -> QuerySpec:
    """The ``anomalies`` question whose one point judges the bucket [start, end)."""
    return parse_query(
        _plain(
            {
                "kind": "anomalies",
                "series": [metric],
                "interval": "hour" if end - start <= _HOUR else "day",
                "sensitivity": condition.sensitivity,
                "date_from": _iso(start),
                "date_to": _iso(end),
            }
        )
    )


def events_named(metric: AnyMetric) -> list[str]:
    """The event names a metric counts (a rule on an event never received is refused)."""
    if isinstance(metric, StatMetric):
        return [metric.goal.event] if metric.goal is not None and metric.goal.event else []
    if isinstance(metric, QuotaMetric):
        return []
    series = metric.series if isinstance(metric, FormulaMetric) else [metric]
    return sorted({s.event for s in series if s.event})


def parse_metric(raw: Any) -> AnyMetric:
    return _METRIC.validate_python(raw)


def metric_json(metric: AnyMetric) -> dict[str, Any]:
    return metric.model_dump(mode="json", exclude_defaults=True)


def metric_query(metric: AnyMetric, start: datetime, end: datetime) -> QuerySpec:
    """The query whose answer is the metric over [start, end) (aware or naive UTC instants); the quota, an
    organisation's count, is asked per project (``alerts.quota``): this gives one project's events."""
    dates = {
        "date_from": _iso(start),
        "date_to": _iso(end),
        "interval": "hour" if end - start <= _DAY else "day",
    }
    if isinstance(metric, StatMetric):
        spec: dict[str, Any] = {"kind": "stats", "compare": False, "filters": metric.filters, **dates}
        if metric.goal is not None:
            spec["goal"] = metric.goal
        return parse_query(_plain(spec))
    if isinstance(metric, FormulaMetric):
        spec = {
            "kind": "trends",
            "series": metric.series,
            "formula": metric.formula,
            "filters": metric.filters,
        }
    else:
        spec = {"kind": "trends", "series": [metric]}
    return parse_query(_plain({**spec, "totals": True, **dates}))


def metric_value(metric: AnyMetric, answer: Any) -> float | None:
    """The metric's value in the answer to ``metric_query``."""
    if isinstance(metric, StatMetric):
        figure = answer.results.get(metric.stat)
        value = figure.value if figure is not None else None
    elif isinstance(metric, FormulaMetric):
        value = answer.formula[0].total if answer.formula else None
    elif isinstance(metric, QuotaMetric):
        raise TypeError("the quota is read by alerts.quota, not from one answer")
    else:
        value = answer.series[0].total if answer.series else None
    return None if value is None else float(value)


_DAY = datetime(2026, 1, 2) - datetime(2026, 1, 1)
_HOUR = _DAY / 24


def _iso(at: datetime) -> str:
    return at.isoformat() if at.tzinfo is not None else at.isoformat() + "+00:00"


def _plain(spec: dict[str, Any]) -> dict[str, Any]:
    """Models inside the spec as the JSON the query API receives."""
    return {k: _json(v) for k, v in spec.items()}


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value
