"""``forecast``: counted series over a period, with the buckets not yet complete — the one under way, the
rest of the period, ``horizon`` buckets after it — projected by the anomaly detector's model run ahead
(``insights.forecast``), each with an interval of the asked ``coverage``; and per series the period's total
so far and projected by its end (the overview's "projected" figure). The model reads up to 8 weeks of days
(4 weeks of hours) before the first projected bucket, from the series' first non-zero bucket on; with less
than two weeks of it, nothing is projected."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from belvedere.insights.forecast import Coverage, project
from belvedere.query.dates import DateRange, bucket_starts, format_label, to_local, to_utc, truncate
from belvedere.query.kinds.anomalies import CountedQuery, phase_of, season_of, with_history
from belvedere.query.kinds.trends import TrendsQuery, TrendsRunner
from belvedere.query.runner import DatedRunner, QueryResult, register

MAX_HORIZON = {"day": 90, "hour": 24 * 14}


class ForecastQuery(CountedQuery):
    kind: Literal["forecast"] = "forecast"
    horizon: int = Field(
        0, ge=0, description="Buckets projected after the period (up to 90 days, 336 hours)."
    )
    coverage: Coverage = Field(80, description="How often the interval should hold the truth: 80 or 95 (%).")

    @model_validator(mode="after")
    def _horizon(self) -> ForecastQuery:
        if self.horizon > MAX_HORIZON[self.interval]:
            raise ValueError(f"horizon: at most {MAX_HORIZON[self.interval]} {self.interval}s")
        return self


class ForecastPoint(BaseModel):
    date: str = Field(description="The bucket's start, in the project's time zone.")
    value: float | None = Field(description="The count of a complete bucket (None: not complete yet).")
    expected: float | None = Field(description="The projection of a bucket not complete (None otherwise).")
    lower: float | None
    upper: float | None
    in_period: bool = Field(description="False for the horizon's buckets after the period.")


class ForecastSeries(BaseModel):
    label: str
    event: str | None
    math: str
    points: list[ForecastPoint]
    total_so_far: float = Field(description="The period's complete buckets, summed.")
    projected_total: float | None = Field(
        description="The period's total by its end: so far + the projections of its other buckets (None when"
        " nothing could be projected)."
    )


class ForecastResult(QueryResult):
    kind: Literal["forecast"] = "forecast"
    interval: Literal["hour", "day"]
    coverage: int
    series: list[ForecastSeries]


@register
class ForecastRunner(DatedRunner[ForecastQuery]):
    spec_model = ForecastQuery
    result_model = ForecastResult

    def _origin(self) -> datetime:
        """The first bucket not complete: the one holding now (the period's end if it is over)."""
        now = min(self.ctx.now, self.range.end)
        return truncate(to_local(now, self.range.tz), self.spec.interval)

    def cache_scope(self) -> str:
        return f"{super().cache_scope()}/{self._origin()}"

    def calculate(self) -> ForecastResult:
        interval = self.spec.interval
        season, tz = season_of(interval), self.range.tz
        history = with_history(self.range, interval)
        step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
        after = DateRange(self.range.end, to_utc(self.range.local_end() + self.spec.horizon * step, tz), tz)
        starts = bucket_starts(history, interval)
        later = bucket_starts(after, interval)[: self.spec.horizon] if self.spec.horizon else []
        every = starts + later
        phases = np.array([phase_of(s, interval) for s in every])
        begin, origin = self.range.local_start(), self._origin()
        first = sum(1 for s in starts if s < begin)
        known = sum(1 for s in starts if s < origin)
        trends = TrendsRunner(
            TrendsQuery(series=self.spec.series, interval=interval, filters=self.spec.filters),
            self.ctx,
        )
        _, found = trends.series_over(history)
        results = []
        for series in found:
            values = np.array([float(v or 0) for v in series.data[:known]])
            seen = next((i for i, v in enumerate(values) if v > 0), None)
            projected = None
            if seen is not None:
                projected = project(
                    values[seen:], phases[seen:known], phases[known:], season, self.spec.coverage
                )
            points = []
            for i in range(first, len(every)):
                ahead = projected[i - known] if projected is not None and i >= known else None
                points.append(
                    ForecastPoint(
                        date=format_label(every[i], interval),
                        value=float(values[i]) if i < known else None,
                        expected=None if ahead is None else round(ahead.expected, 2),
                        lower=None if ahead is None else round(ahead.lower, 2),
                        upper=None if ahead is None else round(ahead.upper, 2),
                        in_period=i < len(starts),
                    )
                )
            so_far = float(values[first:known].sum())
            rest = [p.expected for p in points if p.in_period and p.value is None]
            whole = None if any(e is None for e in rest) else so_far + sum(e or 0 for e in rest)
            results.append(
                ForecastSeries(
                    label=series.label,
                    event=series.event,
                    math=series.math,
                    points=points,
                    total_so_far=so_far,
                    projected_total=None if whole is None else round(whole, 2),
                )
            )
        return ForecastResult(interval=interval, coverage=self.spec.coverage, series=results)
