"""``correlations``: which series move with a target series, day by day (``insights.correlate``).

Candidates are trends series, listed, or ``"auto"``: the project's event names (the 30 with most events in
the range) and the top values (5 each) of the source (channel, referrer, UTM source), country, device,
browser, OS and page, each as the daily count of its events — found by one pass over the range. Days are
the range's complete days in the project's zone: the day under way is left out (a partial day is not
compared with whole ones). The history before ``date_from`` is read for the lags."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator
from sqlglot import exp

from belvedere.insights.correlate import Correlation, adjust, correlate
from belvedere.query.dates import DateRange, bucket_starts, format_label, to_local, to_utc, truncate
from belvedere.query.fields import Filter, conditions, text_field
from belvedere.query.kinds.trends import Series, TrendsQuery, TrendsRunner
from belvedere.query.runner import DatedQuery, DatedRunner, QueryError, QueryResult, register
from belvedere.query.sql import PERSON_KEY, Params, col, fn, through_aliases

AUTO_EVENTS = 30
AUTO_DIMENSIONS = (
    "channel",
    "referrer_domain",
    "utm_source",
    "country",
    "device_type",
    "browser",
    "os",
    "path",
)
AUTO_VALUES = 5
MAX_DAYS = 366


class CorrelationsQuery(DatedQuery):
    kind: Literal["correlations"] = "correlations"
    date_from: str = "-30d"
    target: Series = Field(description="The series the candidates are compared with (any math).")
    candidates: list[Series] | Literal["auto"] = Field(
        "auto",
        description='Trends series (up to 50), or "auto": the 30 busiest event names and the top 5 values of'
        " channel, referrer_domain, utm_source, country, device_type, browser, os and path, each as its"
        " events' daily count.",
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

    def _listed(self, listed: list[Series], rng: DateRange) -> list[list[float]]:
        """The listed candidates' daily values, two statements for them all (50 candidates, 30 days of 10 M
        events: 2.3 s as trends series, a statement each): the counts of events and visits, a column each;
        the people, as (day, person) rows with a flag per candidate, the persons read through the alias
        links. Other maths (sums, averages…) as trends series."""
        found: dict[int, list[float]] = {}
        found.update(
            self._counted(listed, rng, [i for i, s in enumerate(listed) if s.math != "unique_users"])
        )
        found.update(self._people(listed, rng, [i for i, s in enumerate(listed) if s.math == "unique_users"]))
        others = [i for i in range(len(listed)) if i not in found]
        found.update(zip(others, self._trends([listed[i] for i in others], rng), strict=True))
        return [found[i] for i in range(len(listed))]

    def _condition(self, series: Series, params: Params) -> exp.Expr:
        parts = [*conditions(series.filters, params)]
        if series.event is not None:
            parts.insert(0, exp.EQ(this=col("event"), expression=params.bind(series.event)))
        return exp.and_(*parts) if parts else exp.true()

    def _daily(self, tree: exp.Select, params: Params, which: list[int], days: int) -> dict[int, list[float]]:
        daily = {i: [0.0] * days for i in which}
        for b, *values in self.fetch(tree, params):
            if b is not None and 0 <= int(b) < days:
                for i, value in zip(which, values, strict=True):
                    daily[i][int(b)] = float(value or 0)
        return daily

    def _counted(self, listed: list[Series], rng: DateRange, which: list[int]) -> dict[int, list[float]]:
        which = [i for i in which if listed[i].math in ("total", "unique_sessions")]
        if not which:
            return {}
        params = Params()
        starts = bucket_starts(rng, "day")
        day = self.bucket_index(params, col("timestamp"), starts[0], "day", rng).as_("b")
        matches, columns = [], []
        for i in which:
            match = self._condition(listed[i], params)
            matches.append(match)
            if listed[i].math == "total":
                columns.append(fn("count_if", match.copy()).as_(f"c{i}"))
            else:
                visit = exp.If(this=match.copy(), true=col("session_id"), false=exp.Null())
                columns.append(fn(self.uniq[3:], visit).as_(f"c{i}"))
        tree = (
            exp.select(day, *columns)
            .from_("events")
            .where(exp.and_(*self.where(params, rng), exp.or_(*matches)))
            .group_by("b")
        )
        return self._daily(tree, params, which, len(starts))

    def _people(self, listed: list[Series], rng: DateRange, which: list[int]) -> dict[int, list[float]]:
        if not which:
            return {}
        params = Params()
        starts = bucket_starts(rng, "day")
        day = self.bucket_index(params, col("timestamp"), starts[0], "day", rng).as_("b")
        one, zero = exp.Literal.number(1), exp.Literal.number(0)
        matches = [self._condition(listed[i], params) for i in which]
        flags = [
            exp.Max(this=exp.If(this=m.copy(), true=one.copy(), false=zero.copy())).as_(f"f{i}")
            for i, m in zip(which, matches, strict=True)
        ]
        stored = (
            exp.select(day, col(PERSON_KEY).as_("who"), *flags)
            .from_("events")
            .where(exp.and_(*self.where(params, rng), exp.or_(*matches)))
            .where(exp.Not(this=exp.Is(this=col(PERSON_KEY), expression=exp.Null())))
            .group_by("b", "who")
        )
        base, person = through_aliases(stored, keyed=True)
        people = base.select(
            col("b", "r").as_("b"), *(exp.Max(this=col(f"f{i}", "r")).as_(f"f{i}") for i in which)
        ).group_by(col("b", "r"), person)
        tree = (
            exp.select(col("b"), *(exp.Sum(this=col(f"f{i}")).as_(f"c{i}") for i in which))
            .from_(people.subquery("people"))
            .group_by("b")
        )
        return self._daily(tree, params, which, len(starts))

    def _auto(self, rng: DateRange) -> tuple[list[tuple[str, Series]], list[list[float]]]:
        """The automatic candidates and their daily counts over ``rng``, from one statement."""
        params = Params()
        starts = bucket_starts(rng, "day")
        day = self.bucket_index(params, col("timestamp"), starts[0], "day", rng).as_("b")
        fields = ["event", *AUTO_DIMENSIONS]
        # A pass per field, each reading its own column: grouping once by every field together made a row
        # per page and combination (30 days of 10 M events: 2.7 s against 0.6 s).
        parts = [
            exp.select(exp.Literal.number(i).as_("d"), day.copy(), text_field(f, params).as_("v"))
            .select(exp.Count(this=exp.Star()).as_("n"))
            .from_("events")
            .where(
                exp.and_(*self.where(params, rng), exp.Not(this=exp.Is(this=col(f), expression=exp.Null())))
            )
            .group_by("b", "v")
            for i, f in enumerate(fields)
        ]
        daily: exp.Query = parts[0]
        for part in parts[1:]:
            daily = exp.union(daily, part, distinct=False)
        # The top values of each field by their events over the days, ranked in the engine (a field such as
        # the page has a row per value and day: hundreds of thousands for Python to receive and sort).
        totals = exp.select("d", "v", exp.Sum(this=col("n")).as_("total")).from_("daily").group_by("d", "v")
        order = exp.Order(expressions=[exp.Ordered(this=col("total"), desc=True), exp.Ordered(this=col("v"))])
        ranked = exp.select(
            col("d"),
            col("v"),
            exp.Window(this=exp.RowNumber(), partition_by=[col("d")], order=order).as_("k"),
        ).from_("totals")
        kept = exp.If(
            this=exp.EQ(this=col("d", "t"), expression=exp.Literal.number(0)),
            true=exp.Literal.number(AUTO_EVENTS + 1),  # one more: the target's own event is left out
            false=exp.Literal.number(AUTO_VALUES),
        )
        tree = (
            exp.select(col("d", "x"), col("k", "t"), col("v", "x"), col("b", "x"), col("n", "x"))
            .from_(exp.to_table("daily").as_("x"))
            .join(
                exp.to_table("ranked").as_("t"),
                on=exp.and_(
                    exp.EQ(this=col("d", "x"), expression=col("d", "t")),
                    exp.EQ(this=col("v", "x"), expression=col("v", "t")),
                ),
            )
            .where(exp.LTE(this=col("k", "t"), expression=kept))
            .with_("daily", as_=daily)
            .with_("totals", as_=totals)
            .with_("ranked", as_=ranked)
        )
        found: dict[tuple[int, int], tuple[str, np.ndarray]] = {}
        for d, k, v, b, n in self.fetch(tree, params):
            if 0 <= int(b) < len(starts):
                found.setdefault((int(d), int(k)), (str(v), np.zeros(len(starts))))[1][int(b)] += float(n)
        target = self.spec.target
        plain_target = target.math == "total" and not target.filters
        chosen: list[tuple[str, Series]] = []
        values_found: list[list[float]] = []
        for (d, _), (value, counts) in sorted(found.items()):
            field = fields[d]
            if field == "event":
                if (plain_target and value == target.event) or len(chosen) == AUTO_EVENTS:
                    continue
                label, series = f"event {value}", Series(event=value)
            else:
                label = f"{field} = {value}"
                series = Series(filters=[Filter(property=field, operator="eq", value=value)])
            chosen.append((label, series))
            values_found.append(list(counts))
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
            candidates = self._listed(listed, rng)
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
