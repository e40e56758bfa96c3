"""``correlations``: which series move with a target series, day by day (``insights.correlate``).

Candidates are trends series, listed, or ``"auto"``: the project's event names (the 30 with most events in
the range) and the top values of channel, country, device and browser (5 each), each as the daily count of
its events — found by one pass over the range. Days are the range's complete days in the project's zone: the
day under way is left out (a partial day is not compared with whole ones). The history before ``date_from``
is read for the lags."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator
from sqlglot import exp

from belvedere.insights.correlate import Correlation, adjust, correlate
from belvedere.query.dates import DateRange, bucket_starts, format_label, to_local, to_utc, truncate
from belvedere.query.fields import Filter, text_field
from belvedere.query.kinds.trends import Series, TrendsQuery, TrendsRunner
from belvedere.query.runner import DatedQuery, DatedRunner, QueryError, QueryResult, register
from belvedere.query.sql import Params, col

AUTO_EVENTS = 30
AUTO_DIMENSIONS = ("channel", "country", "device_type", "browser")
AUTO_VALUES = 5
MAX_DAYS = 366


class CorrelationsQuery(DatedQuery):
    kind: Literal["correlations"] = "correlations"
    date_from: str = "-30d"
    target: Series = Field(description="The series the candidates are compared with (any math).")
    candidates: list[Series] | Literal["auto"] = Field(
        "auto",
        description='Trends series (up to 50), or "auto": the 30 busiest event names and the top 5 values of'
        " channel, country, device_type and browser, each as its events' daily count.",
    )
    max_lag: int = Field(0, ge=0, le=14, description="Days a candidate may lead the target by.")
    transform: Literal["levels", "changes"] = Field(
        "levels",
        description="levels: the daily values; changes: each day's change from the day before (series that"
        " both grow, or both dip at weekends, correlate in levels whether or not they move together).",
    )

    @field_validator("candidates")
    @classmethod
    def _few(cls, value: list[Series] | str) -> list[Series] | str:
        if isinstance(value, list) and not 1 <= len(value) <= 50:
            raise ValueError('between 1 and 50 candidates, or "auto"')
        return value


class CandidateCorrelation(BaseModel):
    label: str = Field(description='What the candidate counts: "event signup", "channel = Direct", "B"…')
    series: Series = Field(description="The candidate as a trends series.")
    n: int = Field(description="Days compared.")
    lag: int = Field(description="Days the candidate leads the target by, at its closest.")
    pearson: float | None = Field(description="None when either series is constant over the days.")
    pearson_p: float | None
    spearman: float | None
    spearman_p: float | None
    p_value: float | None = Field(description="Pearson's p-value times the lags tried (at most 1).")
    q_value: float | None = Field(description="p_value adjusted over the candidates (Benjamini-Hochberg).")
    significant: bool = Field(description="q_value < 0.05.")


class CorrelationsResult(QueryResult):
    kind: Literal["correlations"] = "correlations"
    labels: list[str] = Field(description="The complete days compared, in the project's time zone.")
    target: list[float] = Field(description="The target's value on each of those days.")
    transform: Literal["levels", "changes"]
    results: list[CandidateCorrelation] = Field(description="By the size of Pearson's coefficient.")


@register
class CorrelationsRunner(DatedRunner[CorrelationsQuery]):
    spec_model = CorrelationsQuery
    result_model = CorrelationsResult

    def _days(self) -> DateRange:
        """The range's complete days: it ends at the start of the day under way, if it holds one."""
        rng, now = self.range, self.ctx.now
        if rng.start <= now < rng.end:
            today = truncate(to_local(now, rng.tz), "day")
            rng = DateRange(rng.start, to_utc(today, rng.tz), rng.tz)
        return rng

    def cache_scope(self) -> str:
        return f"{super().cache_scope()}/{self._days().end.isoformat()}"

    def _read(self) -> int:
        """Days read before the range: the lags, and the day before for changes."""
        return self.spec.max_lag + (self.spec.transform == "changes")

    def _with_history(self, days: DateRange) -> DateRange:
        start = to_utc(days.local_start() - timedelta(days=self._read()), days.tz)
        return DateRange(start, days.end, days.tz)

    def _trends(self, series: list[Series], rng: DateRange) -> list[list[float]]:
        found: list[list[float]] = []
        for first in range(0, len(series), 10):
            trends = TrendsRunner(
                TrendsQuery(series=series[first : first + 10], interval="day", filters=self.spec.filters),
                self.ctx,
            )
            found += [[float(v or 0) for v in s.data] for s in trends.series_over(rng)[1]]
        return found

    def _auto(self, rng: DateRange) -> tuple[list[tuple[str, Series]], list[list[float]]]:
        """The automatic candidates and their daily counts over ``rng``, from one grouped pass."""
        params = Params()
        starts = bucket_starts(rng, "day")
        day = self.bucket_index(params, col("timestamp"), starts[0], "day", rng).as_("b")
        fields = ["event", *AUTO_DIMENSIONS]
        values = [text_field(f, params).as_(f"v{i}") for i, f in enumerate(fields)]
        grouped = (
            exp.select(day, *values, exp.Count(this=exp.Star()).as_("n"))
            .from_("events")
            .where(exp.and_(*self.where(params, rng)))
            .group_by("b", *(f"v{i}" for i in range(len(fields))))
        )
        parts = [
            exp.select(exp.Literal.number(i).as_("d"), col("b"), col(f"v{i}").as_("v"))
            .select(exp.Sum(this=col("n")).as_("n"))
            .from_("g")
            .where(exp.Not(this=exp.Is(this=col(f"v{i}"), expression=exp.Null())))
            .group_by("b", f"v{i}")
            for i in range(len(fields))
        ]
        tree: exp.Query = parts[0]
        for part in parts[1:]:
            tree = exp.union(tree, part, distinct=False)
        daily: dict[tuple[int, str], np.ndarray] = {}
        for d, b, v, n in self.fetch(tree.with_("g", as_=grouped), params):
            if 0 <= int(b) < len(starts):
                daily.setdefault((int(d), str(v)), np.zeros(len(starts)))[int(b)] += float(n)
        target = self.spec.target
        plain_target = target.math == "total" and not target.filters
        chosen: list[tuple[str, Series]] = []
        values_found: list[list[float]] = []
        for d, field in enumerate(fields):
            keys = sorted((k for k in daily if k[0] == d), key=lambda k: (-daily[k].sum(), k[1]))
            if field == "event":
                keys = [k for k in keys if not (plain_target and k[1] == target.event)][:AUTO_EVENTS]
            else:
                keys = keys[:AUTO_VALUES]
            for key in keys:
                if field == "event":
                    label, series = f"event {key[1]}", Series(event=key[1])
                else:
                    label = f"{field} = {key[1]}"
                    series = Series(filters=[Filter(property=field, operator="eq", value=key[1])])
                chosen.append((label, series))
                values_found.append(list(daily[key]))
        return chosen, values_found

    def calculate(self) -> CorrelationsResult:
        days = self._days()
        labels = bucket_starts(days, "day") if days.end > days.start else []
        if len(labels) < 3:
            raise QueryError("correlations need at least 3 complete days: widen the date range")
        if len(labels) > MAX_DAYS:
            raise QueryError(f"correlations compare at most {MAX_DAYS} days: narrow the date range")
        rng = self._with_history(days)
        (target,) = self._trends([self.spec.target], rng)
        if self.spec.candidates == "auto":
            named, candidates = self._auto(rng)
        else:
            listed = self.spec.candidates
            named = [(chr(ord("B") + i) if i < 25 else f"#{i + 1}", s) for i, s in enumerate(listed)]
            candidates = self._trends(listed, rng)
        shape = self._shape
        found = [
            correlate(shape(target)[self.spec.max_lag :], shape(c), self.spec.max_lag) for c in candidates
        ]
        adjust(found)
        results = [_result(label, series, c) for (label, series), c in zip(named, found, strict=True)]
        results.sort(key=lambda r: (r.pearson is None, -abs(r.pearson or 0.0), r.label))
        return CorrelationsResult(
            labels=[format_label(label, "day") for label in labels],
            target=target[self._read() :],
            transform=self.spec.transform,
            results=results,
        )

    def _shape(self, values: list[float]) -> np.ndarray:
        array = np.array(values, dtype=float)
        return np.diff(array) if self.spec.transform == "changes" else array


def _result(label: str, series: Series, c: Correlation) -> CandidateCorrelation:
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return CandidateCorrelation(
        label=label,
        series=series,
        n=c.n,
        lag=c.lag,
        pearson=r(c.pearson),
        pearson_p=c.pearson_p,
        spearman=r(c.spearman),
        spearman_p=c.spearman_p,
        p_value=c.p_value,
        q_value=c.q_value,
        significant=c.significant,
    )
