"""``trends``: one or more series over time buckets, zero-filled, with optional breakdown, formula,
cumulative totals and the previous period."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime
from itertools import accumulate
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlglot import exp

from belvedere.query.dates import (
    DateRange,
    Interval,
    bucket,
    bucket_starts,
    format_label,
    to_local,
    truncate,
)
from belvedere.query.fields import (
    COHORT,
    MAX_FILTERS,
    Filter,
    check_breakdown,
    check_breakdown_cohorts,
    check_field,
    conditions,
    number_field,
    text_field,
)
from belvedere.query.formula import check_formula, evaluate
from belvedere.query.runner import ComparedQuery, DatedRunner, QueryResult, register
from belvedere.query.sql import PERSON_KEY, Params, col, fn, through_aliases

Math = Literal[
    "total", "unique_users", "unique_sessions", "sum", "avg", "min", "max", "median", "p90", "p95", "p99"
]
_QUANTILES = {"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
_NEEDS_PROPERTY = {"sum", "avg", "min", "max", *_QUANTILES}
_CUMULATIVE = {"total", "sum", "unique_users", "unique_sessions"}
OTHER = "$other"
NONE = "$none"
WHOLE = "$whole"  # the one bucket of a series' total over the range


class Series(BaseModel):
    event: str | None = Field(None, description="Event name; omit for every event.", max_length=200)
    math: Math = "total"
    math_property: str | None = Field(None, description="Numeric field for sum/avg/min/max/quantiles.")
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)

    _check_property = field_validator("math_property")(
        classmethod(lambda cls, v: None if v is None else check_field(v))
    )

    @model_validator(mode="after")
    def _property_when_needed(self) -> Series:
        if self.math in _NEEDS_PROPERTY and self.math_property is None:
            raise ValueError(f"math {self.math!r} needs a math_property")
        return self


class TrendsQuery(ComparedQuery):
    kind: Literal["trends"] = "trends"
    series: list[Series] = Field(min_length=1, max_length=10)
    formula: str | None = None
    breakdown: str | None = Field(
        None,
        description="A field to split each series by (top values), or `cohort`: one line per cohort of"
        " `breakdown_cohorts`, counting its members' events (a person in two cohorts counts in both).",
    )
    breakdown_limit: int = Field(10, ge=1, le=100)
    breakdown_cohorts: list[int] = Field(
        default_factory=list,
        max_length=10,
        description="With `breakdown: cohort`: the cohorts' ids (1 to 10).",
    )
    cumulative: bool = False
    compare: bool = False
    totals: bool = Field(
        False,
        description="Also each series' value over the whole range in `total`, whatever its math: distinct"
        " people over the range (not a sum of the buckets' people), the average of all its events, ….",
    )

    _check_breakdown = field_validator("breakdown")(classmethod(lambda cls, v: check_breakdown(v)))

    @model_validator(mode="after")
    def _consistent(self) -> TrendsQuery:
        check_breakdown_cohorts(self.breakdown, self.breakdown_cohorts)
        if self.formula is not None:
            check_formula(self.formula, set(string.ascii_uppercase[: len(self.series)]))
        if self.cumulative:
            bad = [s.math for s in self.series if s.math not in _CUMULATIVE]
            if bad:
                raise ValueError(
                    f"cumulative works with total, sum, unique_users, unique_sessions, not {bad[0]}"
                )
        return self


Number = float | int | None


class SeriesResult(BaseModel):
    label: str = Field(description="The series' letter (A, B, …), as formulas name it.")
    event: str | None
    math: Math
    data: list[Number] = Field(description="One value per label.")
    total: Number = Field(
        None,
        description="The value over the whole range: for counts and sums (not cumulative) always, for every"
        " math with `totals`.",
    )
    breakdown_value: Any = Field(None, description="Only with a breakdown: the value (None: no value).")


class FormulaResult(BaseModel):
    formula: str
    data: list[Number]
    total: Number = Field(None, description="Only with `totals`: the formula over the series' totals.")
    breakdown_value: Any = Field(None, description="Only with a breakdown.")


class PreviousPeriod(BaseModel):
    labels: list[str] = Field(
        description="The compared period's buckets, each beside the range's bucket at the same position."
    )
    series: list[SeriesResult]


class TrendsResult(QueryResult):
    kind: Literal["trends"] = "trends"
    interval: Interval
    labels: list[str] = Field(description="Each bucket's start, in the project's time zone.")
    series: list[SeriesResult]
    formula: list[FormulaResult] | None = Field(None, description="Only with a formula.")
    previous: PreviousPeriod | None = Field(
        None, description="Only with compare: the period compare_to names, whole."
    )
    current: int | None = Field(
        None,
        description="While the range is under way, the index of the bucket that holds now: it is not over,"
        " and the buckets after it have not begun (their values are 0 or null).",
    )


@register
class TrendsRunner(DatedRunner[TrendsQuery]):
    spec_model = TrendsQuery
    result_model = TrendsResult

    def _aggregate(self, series: Series, params: Params) -> exp.Expr:
        math = series.math
        if math == "total":
            return exp.Count(this=exp.Star())
        if math == "unique_sessions":
            return fn(self.uniq[3:], col("session_id"))
        assert series.math_property is not None
        value = number_field(series.math_property, params)
        if math in _QUANTILES:
            return fn("quantile", value, _QUANTILES[math])
        return exp.Anonymous(this=math, expressions=[value])

    def _where(self, series: Series, params: Params, rng: DateRange) -> exp.Expr:
        parts = self.where(params, rng)
        if series.event is not None:
            parts.append(exp.EQ(this=col("event"), expression=params.bind(series.event)))
        parts.extend(conditions(series.filters, params))
        return exp.and_(*parts)

    def _breakdown_value(self, params: Params) -> exp.Expr:
        assert self.spec.breakdown is not None
        return exp.Coalesce(
            this=text_field(self.spec.breakdown, params), expressions=[exp.Literal.string(NONE)]
        )

    def _top_values(self, series: Series, rng: DateRange) -> list[str]:
        params = Params()
        value = self._breakdown_value(params)
        tree = (
            exp.select(value.as_("bv"), exp.Count(this=exp.Star()).as_("n"))
            .from_("events")
            .where(self._where(series, params, rng))
            .group_by("bv")
            .order_by("n DESC", "bv", dialect="duckdb")
            .limit(self.spec.breakdown_limit)
        )
        return [str(v) for v, _ in self.fetch(tree, params)]

    def _bucket(self, params: Params, rng: DateRange) -> tuple[exp.Expr, Callable[[Any], Any]]:
        """Each event's bucket, and how to turn what the statement returns for it into the bucket's label.
        Days, weeks and months are returned as indexes among the range's labels (days and weeks counted on
        milliseconds: truncating each event's local time to its bucket took three times as long); hours
        (with DST gaps) as the local bucket start itself."""
        interval = self.spec.interval
        if interval == "hour":
            return bucket(self.local_ts(params, rng), interval), lambda label: label
        labels = bucket_starts(rng, interval)
        index = self.bucket_index(params, col("timestamp"), labels[0], interval, rng)
        return index, _label_of(labels)

    def _rows(
        self, series: Series, rng: DateRange, *, whole: bool = False
    ) -> dict[str | None, dict[Any, float]]:
        """{breakdown value (None without breakdown): {bucket label: value}}; ``whole``: one bucket, the
        range, labelled ``WHOLE``."""
        params = Params()
        counted = self._from_hours(series, params, rng, whole=whole)
        if counted is not None:
            return counted
        # Cumulative people per bucket count each from the bucket first seen in (``_first_seen``).
        one_pass = whole or not self.spec.cumulative
        if self.spec.breakdown is not None and series.math == "unique_users" and one_pass:
            return self._people_by_value(series, params, rng, whole=whole)
        grouped: exp.Expr = exp.Null()
        if self.spec.breakdown is not None:
            top = self._top_values(series, rng)
            value = self._breakdown_value(params)
            if top and len(top) < self.spec.breakdown_limit:
                grouped = value  # every value is a top value: no "other" to fold into
            elif top:
                grouped = (
                    exp.Case()
                    .when(exp.In(this=value, expressions=[params.bind(v) for v in top]), value.copy())
                    .else_(exp.Literal.string(OTHER))
                )
            else:
                grouped = exp.Literal.string(OTHER)
        where = self._where(series, params, rng)
        at, label = (exp.Literal.number(0), lambda _: WHOLE) if whole else self._bucket(params, rng)
        if not whole and self.spec.cumulative and series.math in ("unique_users", "unique_sessions"):
            return self._first_seen(series, params, at, label, grouped, where)
        b = at.as_("b")
        # Without a breakdown, grouped by the bucket alone, not also by a constant (the chart of unique people
        # per day, 30 days of 10 M events: 7 % less).
        keys = ["b"] if isinstance(grouped, exp.Null) else ["b", "bv"]
        if series.math == "unique_users":
            # Distinct (bucket, value, stored id's key) first; only those are read through the alias links.
            rows = exp.select(b, *([] if len(keys) == 1 else [grouped.as_("bv")]), col(PERSON_KEY).as_("who"))
            base, person = through_aliases(rows.distinct().from_("events").where(where), keyed=True)
            count = exp.Anonymous(this=self.uniq, expressions=[person])
            value = col("bv", "r") if len(keys) == 2 else exp.Null()
            tree = base.select("r.b", value.as_("bv"), count.as_("v")).group_by(*(f"r.{k}" for k in keys))
        else:
            tree = (
                exp.select(b, grouped.as_("bv"), self._aggregate(series, params).as_("v"))
                .from_("events")
                .where(where)
                .group_by(*keys)
            )
        return _by_value(self.fetch(tree, params), label)

    def _from_hours(
        self, series: Series, params: Params, rng: DateRange, *, whole: bool
    ) -> dict[str | None, dict[Any, float]] | None:
        """Unique people per day or week (or over the range), from the person hours when they can say (see
        ``query.person_hours``): no breakdown, no filter, not cumulative."""
        plain = series.math == "unique_users" and self.spec.breakdown is None and not series.filters
        hours = self.hours(rng) if plain else None
        if hours is None:
            return None
        if whole:
            people = hours.people(params, series.event, "v")
            return {None: {WHOLE: self.fetch(people, params)[0][0]}}
        interval = self.spec.interval
        if self.spec.cumulative or interval not in ("day", "week") or not hours.whole_hour_zone():
            return None
        assert interval in ("day", "week")
        labels = bucket_starts(rng, interval)
        tree = hours.people_per_bucket(params, series.event, interval, labels[0])
        return _by_value(self.fetch(tree, params), _label_of(labels))

    def _people_by_value(
        self, series: Series, params: Params, rng: DateRange, *, whole: bool
    ) -> dict[str | None, dict[Any, float]]:
        """Unique people per (bucket, breakdown value) in one statement: each distinct (bucket, value,
        stored id's key) with its events, from which the top values (most events, then by value, as
        ``_top_values`` picks them) are found, the others folded into ``OTHER``, and only then the ids read
        through the alias links. One pass over the events instead of two (the top values' own count)."""
        value = self._breakdown_value(params)
        where = self._where(series, params, rng)
        at, label = (exp.Literal.number(0), lambda _: WHOLE) if whole else self._bucket(params, rng)
        triples = (
            exp.select(at.as_("b"), value.as_("bv"), col(PERSON_KEY).as_("who"))
            .select(exp.Count(this=exp.Star()).as_("n"))
            .from_("events")
            .where(where)
            .group_by("b", "bv", "who")
        )
        top = (
            exp.select(col("bv").as_("top_value"))
            .from_("triples")
            .group_by("bv")
            .order_by("sum(n) DESC", "bv", dialect="duckdb")
            .limit(self.spec.breakdown_limit)
        )
        folded = exp.Case().when(
            exp.In(this=col("bv", "t"), query=exp.select("top_value").from_("top").subquery()),
            col("bv", "t"),
        )
        rows = exp.select(
            col("b", "t").as_("b"),
            folded.else_(exp.Literal.string(OTHER)).as_("folded"),
            col("who", "t").as_("who"),
        ).from_(exp.to_table("triples").as_("t"))
        base, person = through_aliases(rows, keyed=True)
        count = exp.Anonymous(this=self.uniq, expressions=[person])
        tree = (
            base.select("r.b", col("folded", "r"), count.as_("v"))
            .group_by("r.b", col("folded", "r"))
            .with_("triples", as_=triples)
            .with_("top", as_=top)
        )
        return _by_value(self.fetch(tree, params), label)

    def _first_seen(
        self,
        series: Series,
        params: Params,
        at: exp.Expr,
        label: Callable[[Any], Any],
        grouped: exp.Expr,
        where: exp.Expr,
    ) -> dict[str | None, dict[Any, float]]:
        """Cumulative distinct counts: each user (or visit) counts from the bucket it was first seen in."""
        who = col("person_id" if series.math == "unique_users" else "session_id")
        firsts = (
            exp.select(grouped.as_("bv"), who.as_("who"), exp.Min(this=at).as_("b"))
            .from_("events")
            .where(where)
            .group_by("bv", "who")
        )
        tree = (
            # count(who): events without a person (or visit) keep their breakdown value, counted as 0.
            exp.select("b", "bv", exp.Count(this=exp.column("who")).as_("v"))
            .from_(firsts.subquery("f"))
            .group_by("b", "bv")
        )
        return _by_value(self.fetch(tree, params), label)

    def _by_cohort(self, rng: DateRange) -> tuple[list[str], list[SeriesResult]]:
        """Each series once per cohort: the series with a ``cohort`` filter, counted without a breakdown, its
        lines labelled with the cohort's id."""
        labels: list[str] = []
        results: list[SeriesResult] = []
        for letter, series in zip(string.ascii_uppercase, self.spec.series, strict=False):
            for cohort in self.spec.breakdown_cohorts:
                member = Filter(property=COHORT, operator="eq", value=cohort)
                one = series.model_copy(update={"filters": [*series.filters, member]})
                spec = self.spec.model_copy(
                    update={"series": [one], "breakdown": None, "breakdown_cohorts": []}
                )
                labels, (entry,) = TrendsRunner(spec, self.ctx)._series(rng)
                results.append(entry.model_copy(update={"label": letter, "breakdown_value": cohort}))
        return labels, results

    def _series(self, rng: DateRange) -> tuple[list[str], list[SeriesResult]]:
        if self.spec.breakdown == COHORT:
            return self._by_cohort(rng)
        labels = bucket_starts(rng, self.spec.interval)
        results: list[SeriesResult] = []
        totals: dict[str, dict[str | None, dict[Any, float]]] = {}  # per series, with ``totals``
        for letter, series in zip(string.ascii_uppercase, self.spec.series, strict=False):
            rows = self._rows(series, rng)
            if self.spec.breakdown is None:
                rows = {None: rows.get(None, {})}
            for bv, values in sorted(rows.items(), key=lambda kv: _breakdown_order(kv[0], kv[1])):
                data = [_number(values.get(label)) for label in labels]
                if self.spec.cumulative:
                    data = [_number(x) for x in accumulate(d or 0 for d in data)]
                entry = SeriesResult(label=letter, event=series.event, math=series.math, data=data)
                if series.math in ("total", "sum") and not self.spec.cumulative:
                    entry.total = _number(sum(d or 0 for d in data))
                elif self.spec.totals:
                    whole = totals.setdefault(letter, self._rows(series, rng, whole=True))
                    entry.total = _number(whole.get(bv, {}).get(WHOLE))
                if self.spec.breakdown is not None:
                    entry.breakdown_value = None if bv == NONE else bv
                results.append(entry)
        return [format_label(label, self.spec.interval) for label in labels], results

    def series_over(self, rng: DateRange) -> tuple[list[str], list[SeriesResult]]:
        """The bucket labels and each series' values over ``rng`` rather than the spec's own range (the
        history ``anomalies`` judges its buckets against)."""
        return self._series(rng)

    def _current(self) -> int | None:
        """The index of the bucket holding now, if the range is under way."""
        now = self.ctx.now
        if not self.range.start <= now < self.range.end:
            return None
        here = truncate(to_local(now, self.range.tz), self.spec.interval)
        starts = bucket_starts(self.range, self.spec.interval)
        return max((i for i, start in enumerate(starts) if start <= here), default=0)

    def cache_scope(self) -> str:
        """The bucket holding now too: an answer kept from 13:59 does not say 14:00's bucket has begun."""
        return f"{super().cache_scope()}/{self._current()}"

    def calculate(self) -> TrendsResult:
        labels, series = self._series(self.range)
        result = TrendsResult(interval=self.spec.interval, labels=labels, series=series)
        current = self._current()
        if current is not None:
            result.current = current
        if self.spec.formula is not None:
            result.formula = _apply_formula(
                self.spec.formula, series, len(labels), len(self.spec.series), self.spec.totals
            )
        if self.spec.compare:
            prev_labels, prev_series = self._series(self.range.compared(self.spec.compare_to))
            result.previous = PreviousPeriod(labels=prev_labels, series=prev_series)
        return result


def _label_of(labels: list[datetime]) -> Callable[[Any], datetime | None]:
    """A bucket index's label. An index outside the labels (a clock put back at midnight repeats an hour of
    the day before the range) has none, as its bucket start had none."""
    return lambda i: labels[int(i)] if 0 <= int(i) < len(labels) else None


def _by_value(rows: list[tuple[Any, ...]], label: Callable[[Any], Any]) -> dict[str | None, dict[Any, float]]:
    """(bucket, breakdown value, number) rows as {breakdown value: {bucket label: number}}."""
    out: dict[str | None, dict[Any, float]] = {}
    for b, bv, v in rows:
        out.setdefault(bv, {})[label(b)] = v
    return out


def _number(value: Any) -> float | int | None:
    if value is None:
        return 0
    if isinstance(value, float):
        return round(value, 6)
    return int(value) if isinstance(value, int) else float(value)


def _breakdown_order(value: str | None, values: dict[Any, float]) -> tuple[int, float, str]:
    # Biggest first, "other" last, ties by name, so the output order does not depend on the engine.
    return (1 if value == OTHER else 0, -sum(v or 0 for v in values.values()), str(value))


def _apply_formula(
    formula: str, series: list[SeriesResult], n: int, n_series: int, with_totals: bool
) -> list[FormulaResult]:
    tree = check_formula(formula, set(string.ascii_uppercase[:n_series]))
    by_value: dict[Any, dict[str, list[Any]]] = {}
    for entry in series:
        by_value.setdefault(entry.breakdown_value, {})[entry.label] = entry.data
    out = []
    for bv, data in by_value.items():
        values = [evaluate(tree, {k: (v[i] or 0) for k, v in data.items()}) for i in range(n)]
        item = FormulaResult(formula=formula, data=values)
        totals = {e.label: e.total for e in series if e.breakdown_value == bv}
        if with_totals and all(t is not None for t in totals.values()):
            item.total = evaluate(tree, {k: t or 0 for k, t in totals.items()})
        if len(by_value) > 1 or bv is not None:
            item.breakdown_value = bv
        out.append(item)
    return out
