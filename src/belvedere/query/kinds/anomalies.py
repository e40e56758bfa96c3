"""``anomalies``: each bucket of one or more counted series against what the series' own past says it should
be (``insights.anomaly``): the expected value, its band, whether the bucket lies outside, which way, and by
how many spreads. The history before ``date_from`` is read too (8 weeks for days, 4 for hours), from the
series' first non-zero bucket on; a bucket with less than two weeks of it before has no expected value. The
bucket under way is shown but never judged: a partial day is not compared with whole ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from belvedere.insights.anomaly import DAILY, HOURLY, Judged, Season, Sensitivity, judge
from belvedere.query.dates import DateRange, bucket_starts, to_local, to_utc, truncate
from belvedere.query.kinds.trends import Series, TrendsQuery, TrendsRunner
from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, register

COUNTED = ("total", "unique_users", "unique_sessions")


class CountedQuery(DatedQuery):
    """Counted series by hour or by day: what the seasonal model of ``insights`` judges and projects
    (``anomalies``, ``forecast``)."""

    interval: Literal["hour", "day"] = "day"
    series: list[Series] = Field(min_length=1, max_length=5)

    @field_validator("series")
    @classmethod
    def _counted(cls, value: list[Series]) -> list[Series]:
        for series in value:
            if series.math not in COUNTED:
                raise ValueError(f"the seasonal model reads counts ({', '.join(COUNTED)}), not {series.math}")
        return value


def season_of(interval: str) -> Season:
    return HOURLY if interval == "hour" else DAILY


def with_history(rng: DateRange, interval: str) -> DateRange:
    """``rng`` with the history the model reads before it (8 weeks of days, 4 weeks of hours)."""
    days = season_of(interval).history // (24 if interval == "hour" else 1)
    return DateRange(to_utc(rng.local_start() - timedelta(days=days), rng.tz), rng.end, rng.tz)


def phase_of(start: datetime, interval: str) -> int:
    """A bucket's place in its week: the weekday, or the hour of the week."""
    return start.weekday() * 24 + start.hour if interval == "hour" else start.weekday()


class AnomaliesQuery(CountedQuery):
    kind: Literal["anomalies"] = "anomalies"
    sensitivity: Sensitivity = Field(
        "medium", description="low: fewer, surer anomalies (5 spreads); medium: 4; high: more (3)."
    )


class AnomalyPoint(BaseModel):
    date: str = Field(description="The bucket's start, in the project's time zone.")
    value: float
    expected: float | None = Field(description="What the series' past says (None: too little history).")
    lower: float | None = Field(description="The band's lower edge; never below zero.")
    upper: float | None
    anomaly: bool
    direction: Literal["up", "down"] | None = None
    score: float | None = Field(description="(value - expected) / spread: how many spreads away.")
    complete: bool = Field(True, description="False for the bucket under way (never judged) and later ones.")


class AnomalySeries(BaseModel):
    label: str = Field(description="The series' letter (A, B, …).")
    event: str | None
    math: str
    points: list[AnomalyPoint]
    anomalies: int = Field(description="How many of the range's buckets are anomalies.")


class AnomaliesResult(QueryResult):
    kind: Literal["anomalies"] = "anomalies"
    interval: Literal["hour", "day"]
    sensitivity: Sensitivity
    history_from: str = Field(description="Where the history read before the range begins (local time).")
    series: list[AnomalySeries]


@register
class AnomaliesRunner(DatedRunner[AnomaliesQuery]):
    spec_model = AnomaliesQuery
    result_model = AnomaliesResult

    def _now_bucket(self) -> datetime | None:
        now = self.ctx.now
        if not self.range.start <= now < self.range.end:
            return None
        return truncate(to_local(now, self.range.tz), self.spec.interval)

    def cache_scope(self) -> str:
        """The bucket under way too: an answer kept from 13:59 does not judge 13:00 as whole at 14:00."""
        return f"{super().cache_scope()}/{self._now_bucket()}"

    def calculate(self) -> AnomaliesResult:
        interval = self.spec.interval
        season = season_of(interval)
        history = with_history(self.range, interval)
        trends = TrendsRunner(
            TrendsQuery(
                series=self.spec.series,
                interval=interval,
                filters=self.spec.filters,
                approximate=self.spec.approximate,
            ),
            self.ctx,
        )
        labels, found = trends.series_over(history)
        starts = bucket_starts(history, interval)
        begin = self.range.local_start()
        first = sum(1 for start in starts if start < begin)
        phases = [phase_of(s, interval) for s in starts]
        now = self._now_bucket()
        results = []
        for series in found:
            values = [float(v or 0) for v in series.data]
            judged = _judged(values, phases, first, season, self.spec.sensitivity)
            points = []
            for i, j in enumerate(judged, start=first):
                complete = now is None or starts[i] < now
                point = AnomalyPoint(
                    date=labels[i],
                    value=values[i],
                    expected=None,
                    lower=None,
                    upper=None,
                    anomaly=False,
                    direction=None,
                    score=None,
                    complete=complete,
                )
                if j is not None:
                    point.expected, point.lower, point.upper = _r(j.expected), _r(j.lower), _r(j.upper)
                    point.score = _r(j.score)
                    if complete and j.anomaly:
                        point.anomaly, point.direction = True, j.direction
                points.append(point)
            results.append(
                AnomalySeries(
                    label=series.label,
                    event=series.event,
                    math=series.math,
                    points=points,
                    anomalies=sum(p.anomaly for p in points),
                )
            )
        return AnomaliesResult(
            interval=interval,
            sensitivity=self.spec.sensitivity,
            history_from=labels[0] if labels else "",
            series=results,
        )


def _judged(
    values: list[float], phases: list[int], first: int, season: Season, sensitivity: Sensitivity
) -> list[Judged | None]:
    """The range's buckets judged against the history since the series' first non-zero bucket: the days
    before a project sent anything are no history (a new project's first events are not anomalies)."""
    seen = next((i for i, v in enumerate(values) if v > 0), None)
    if seen is None:
        return [None] * (len(values) - first)
    start = max(first, seen)
    judged = judge(np.array(values[seen:]), np.array(phases[seen:]), season, start - seen, sensitivity)
    return [None] * (start - first) + judged


def _r(value: float) -> float:
    return round(value, 2)
