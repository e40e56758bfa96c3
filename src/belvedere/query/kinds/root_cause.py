"""``root_cause``: why a counted series changed between the range and a baseline period before it — the
change split, for each dimension asked (channel, country, page, a property…), over the dimension's values,
so that their changes add up to the whole change, each with its significance (``insights.change``).

Each counted unit lies under one value of a dimension in a period: an event under its own value; a person
under the value of their first event of the series in the period that carries one (their events through the
alias links); a visit under its own source, location and device (``_visits``), and the first page or
property value of its events of the series. So the values' counts add up to the series' count in each
period, which is the count ``trends`` gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlglot import exp

from belvedere.insights.change import OTHER, SURPRISING, Part, surprise, weigh
from belvedere.query.dates import DateRange, format_label, to_local, to_utc
from belvedere.query.fields import check_dimension, conditions, text_field
from belvedere.query.goal import PAGEVIEW
from belvedere.query.kinds.anomalies import COUNTED
from belvedere.query.kinds.trends import Series
from belvedere.query.runner import DatedQuery, DatedRunner, QueryError, QueryResult, register
from belvedere.query.sql import Params, col, first_values_by_person, fn
from belvedere.query.visits import split_by_range
from belvedere.store.schema import VISIT_DIMENSIONS

Baseline = Literal["previous_period", "previous_week", "previous_year"]
DIMENSIONS = (
    "channel",
    "referrer_domain",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "device_type",
    "browser",
    "os",
    "path",
)
TOP = 5  # how many of the values that moved the total's way the answer names first


class RootCauseQuery(DatedQuery):
    kind: Literal["root_cause"] = "root_cause"
    series: Series = Field(description="One counted series (total, unique_users or unique_sessions).")
    baseline: Baseline = Field(
        "previous_period",
        description="The period the range is compared with: the one just before it, as long; the same"
        " dates a week earlier (ranges of at most 7 days: a day against the same weekday); or a year earlier."
        " While the range is under way, only as much of the baseline as the range has had.",
    )
    dimensions: list[str] = Field(
        default_factory=lambda: list(DIMENSIONS),
        min_length=1,
        max_length=15,
        description="The fields (and properties.<name>) whose values the change is split over.",
    )
    limit: int = Field(10, ge=1, le=100, description="Values shown per dimension; the rest are one $other.")

    @field_validator("series")
    @classmethod
    def _counted(cls, value: Series) -> Series:
        if value.math not in COUNTED:
            raise ValueError(f"root_cause splits counts ({', '.join(COUNTED)}), not {value.math}")
        return value

    @field_validator("dimensions")
    @classmethod
    def _dimensions(cls, value: list[str]) -> list[str]:
        if len(set(value)) < len(value):
            raise ValueError("each dimension once")
        return [check_dimension(v) for v in value]


class Contribution(BaseModel):
    value: Any = Field(description="The dimension's value (None: no value; $other: the values not shown).")
    before: int
    after: int
    change: int = Field(description="after - before; a dimension's changes add up to the total change.")
    share: float | None = Field(description="% of the total change (None when the total did not change).")
    p_value: float = Field(description="Of the two counts sharing one rate (the periods' lengths weighed).")
    q_value: float = Field(description="The p-value adjusted over every value shown (Benjamini-Hochberg).")
    significant: bool = Field(description="q_value < 0.05.")
    surprise: float = Field(
        description="How far the value's share of the count moved (the Jensen-Shannon divergence of its"
        " share before and after, in bits: 0 for a value that is as much of the whole as before)."
    )


class DimensionChange(BaseModel):
    dimension: str
    values: list[Contribution] = Field(description="The values that moved most, then $other.")
    total_values: int = Field(description="Distinct values in the two periods.")


class TopContribution(Contribution):
    dimension: str


class RootCauseResult(QueryResult):
    kind: Literal["root_cause"] = "root_cause"
    date_from: str = Field(description="The range, in the project's time zone.")
    date_to: str = Field(description="Its end (exclusive).")
    baseline_from: str
    baseline_to: str
    before: int = Field(description="The series' count in the baseline.")
    after: int = Field(description="Its count in the range.")
    change: int
    change_pct: float | None = Field(description="None when the baseline's count is 0.")
    dimensions: list[DimensionChange]
    top: list[TopContribution] = Field(
        description=f"Up to {TOP} significant values, across dimensions, that moved the way the total did"
        " and whose share of it moved: the most surprising first, then by the size of their change."
    )


@register
class RootCauseRunner(DatedRunner[RootCauseQuery]):
    spec_model = RootCauseQuery
    result_model = RootCauseResult

    def _baseline(self) -> DateRange:
        rng, baseline = self.range, self.spec.baseline
        if baseline != "previous_week":
            return rng.compared(baseline, self.ctx.now)
        if rng.local_end() - rng.local_start() > timedelta(days=7):
            raise QueryError("baseline previous_week: the range may be at most 7 days long")
        week = DateRange(
            to_utc(rng.local_start() - timedelta(days=7), rng.tz),
            to_utc(rng.local_end() - timedelta(days=7), rng.tz),
            rng.tz,
        )
        if not rng.start < self.ctx.now < rng.end:
            return week
        elapsed = to_local(self.ctx.now, rng.tz).replace(second=0, microsecond=0) - rng.local_start()
        return DateRange(week.start, to_utc(week.local_start() + elapsed, rng.tz), rng.tz)

    def _units(self, params: Params, baseline: DateRange) -> exp.Query:
        """One row per counted unit and period (``p``: 1 in the range, 0 in the baseline), with the unit's
        value of each dimension (``v0``, ``v1``…)."""
        series, rng = self.spec.series, self.range
        if series.math == "unique_sessions":
            return self._visits(params, baseline)
        parts = [
            exp.or_(_within(params, rng), _within(params, baseline)),
            *conditions(self.spec.filters, params),
            *_series_conditions(series, params),
        ]
        period = _period(params, rng, col("timestamp"))
        values = [text_field(d, params) for d in self.spec.dimensions]
        names = [f"v{i}" for i in range(len(values))]
        if series.math == "total":
            return (
                exp.select(period, *(v.as_(n) for v, n in zip(values, names, strict=True)))
                .from_("events")
                .where(exp.and_(*parts))
            )
        return first_values_by_person(values, exp.and_(*parts), period)

    def _visits(self, params: Params, baseline: DateRange) -> exp.Query:
        """One row per visit and period that has an event of the series. A visit-level field (source,
        location, device) is the visit's: its first value among the visit's events in the period, as the
        ``breakdown`` kind and the overview's panels count visits; any other field is the first value among
        the series' events. Without filters the visits wholly inside a period are read from the ``visits``
        table (30 days of 10 M events: see docs/benchmarks.md) and only those crossing a period's ends are
        grouped again from their events."""
        series, rng = self.spec.series, self.range
        stored = self._stored(params, baseline)
        where: list[exp.Expr] = [
            exp.or_(_within(params, rng), _within(params, baseline)),
            exp.Not(this=exp.Is(this=col("session_id"), expression=exp.Null())),
            *conditions(self.spec.filters, params),
        ]
        if stored is not None:
            crossing = [split_by_range(params, r).crossing for r in (rng, baseline)]
            where.append(exp.In(this=col("session_id"), query=_sessions(exp.or_(*crossing)).subquery()))
        found = _series_conditions(series, params)
        in_series = exp.and_(*found) if found else exp.true()
        ts = col("timestamp")
        values = []
        for i, dimension in enumerate(self.spec.dimensions):
            when: exp.Expr = ts.copy()
            if dimension not in VISIT_DIMENSIONS:
                when = exp.If(this=in_series.copy(), true=ts.copy())
            values.append(fn("arg_min", text_field(dimension, params), when).as_(f"v{i}"))
        grouped = (
            exp.select(_period(params, rng, ts), *values)
            .from_("events")
            .where(exp.and_(*where))
            .group_by("p", fn("key64", col("session_id")))
            .having(exp.GT(this=fn("count_if", in_series), expression=exp.Literal.number(0)))
        )
        return grouped if stored is None else exp.union(stored, grouped, distinct=False)

    def _stored(self, params: Params, baseline: DateRange) -> exp.Select | None:
        """The visits wholly inside the range or the baseline, as the ``visits`` table has them; None when
        it cannot answer (filters; a field other than the visit's own, but for the page of a page view
        series, which is the visit's entry page)."""
        series = self.spec.series
        if self.spec.filters or series.filters:
            return None
        columns = []
        for i, dimension in enumerate(self.spec.dimensions):
            if dimension in VISIT_DIMENSIONS:
                columns.append(col(dimension).as_(f"v{i}"))
            elif dimension == "path" and series.event == PAGEVIEW:
                columns.append(col("entry_page").as_(f"v{i}"))
            else:
                return None
        inside = [split_by_range(params, r).inside for r in (self.range, baseline)]
        which: list[exp.Expr] = [exp.or_(*inside)]
        if series.event == PAGEVIEW:
            which.append(exp.GT(this=col("pageviews"), expression=exp.Literal.number(0)))
        elif series.event is not None:
            which.append(fn("has", col("event_names"), params.bind(series.event)))
        return (
            exp.select(_period(params, self.range, col("started_at")), *columns)
            .from_("visits")
            .where(exp.and_(*which))
        )

    def _statement(self, baseline: DateRange) -> tuple[exp.Expr, Params]:
        """Per dimension (its index ``d``): the ``limit`` values that moved most (``k`` 1, 2…: the largest
        change either way, then the most units, then by value, no value last), each with its units in the
        baseline (``b``) and the range (``a``), then the rest folded into one ``OTHER`` row; each row with
        the dimension's number of values. Ranked in the engine: a dimension such as the page has hundreds
        of thousands of values, which Python would take seconds to receive and sort."""
        params = Params()
        units = self._units(params, baseline)
        signed = exp.DataType.build("BIGINT")

        def count_in(period: int) -> exp.Expr:
            counted = fn("count_if", exp.EQ(this=col("p"), expression=exp.Literal.number(period)))
            return exp.Cast(this=counted, to=signed.copy())

        counts: exp.Query | None = None
        for i in range(len(self.spec.dimensions)):
            part = (
                exp.select(exp.Literal.number(i).as_("d"), col(f"v{i}").as_("v"))
                .select(count_in(0).as_("b"), count_in(1).as_("a"))
                .from_("units")
                .group_by(f"v{i}")
            )
            counts = part if counts is None else exp.union(counts, part, distinct=False)
        assert counts is not None
        order = exp.Order(
            expressions=[
                exp.Ordered(this=exp.Abs(this=exp.Sub(this=col("a"), expression=col("b"))), desc=True),
                exp.Ordered(this=exp.Add(this=col("a"), expression=col("b")), desc=True),
                exp.Ordered(this=col("v"), nulls_first=False),
            ]
        )
        by_dimension = [col("d")]
        ranked = exp.select(
            col("d"),
            col("v"),
            col("b"),
            col("a"),
            exp.Window(this=exp.RowNumber(), partition_by=by_dimension, order=order).as_("k"),
            exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col("d")]).as_("n"),
        ).from_("counts")
        limit = exp.Literal.number(self.spec.limit)
        shown = (
            exp.select("d", "k", "v", "b", "a", "n")
            .from_("ranked")
            .where(exp.LTE(this=col("k"), expression=limit.copy()))
        )
        # Its own names: ClickHouse reads a name of the SELECT list in WHERE before the table's columns,
        # and ``11 AS k`` would make ``k > 10`` hold for every value.
        rest = (
            exp.select(col("d"), exp.Literal.number(self.spec.limit + 1).as_("rest_k"))
            .select(exp.Literal.string(OTHER).as_("rest_v"), exp.Sum(this=col("b")).as_("rest_b"))
            .select(exp.Sum(this=col("a")).as_("rest_a"), exp.Max(this=col("n")).as_("rest_n"))
            .from_("ranked")
            .where(exp.GT(this=col("k"), expression=limit.copy()))
            .group_by("d")
        )
        tree = exp.union(shown, rest, distinct=False)
        return tree.with_("units", as_=units).with_("counts", as_=counts).with_("ranked", as_=ranked), params

    def calculate(self) -> RootCauseResult:
        baseline = self._baseline()
        if baseline.end > self.range.start:
            raise QueryError("the baseline overlaps the range")
        tree, params = self._statement(baseline)
        split_up: list[list[tuple[int, Part]]] = [[] for _ in self.spec.dimensions]
        values = [0] * len(self.spec.dimensions)
        for d, k, v, b, a, n in self.fetch(tree, params):
            split_up[int(d)].append((int(k), Part(v, int(b or 0), int(a or 0))))
            values[int(d)] = int(n)
        shown = [[part for _, part in sorted(parts, key=lambda kp: kp[0])] for parts in split_up]
        before = sum(part.before for part in shown[0])
        after = sum(part.after for part in shown[0])
        now = self.ctx.now
        elapsed = min(now, self.range.end) - self.range.start if self.range.start < now else self.range.length
        weigh(
            [part for parts in shown for part in parts],
            (baseline.end - baseline.start).total_seconds(),
            max(elapsed, timedelta(seconds=1)).total_seconds(),
        )
        change = after - before
        dimensions = [
            DimensionChange(
                dimension=dimension,
                values=[_contribution(part, before, after) for part in parts],
                total_values=n,
            )
            for dimension, parts, n in zip(self.spec.dimensions, shown, values, strict=True)
        ]
        return RootCauseResult(
            date_from=_label(self.range.local_start()),
            date_to=_label(self.range.local_end()),
            baseline_from=_label(baseline.local_start()),
            baseline_to=_label(baseline.local_end()),
            before=before,
            after=after,
            change=change,
            change_pct=None if before == 0 else round(100 * change / before, 2),
            dimensions=dimensions,
            top=_top(dimensions, change),
        )


def _contribution(part: Part, before: int, after: int) -> Contribution:
    total_change = after - before
    return Contribution(
        value=part.value,
        before=part.before,
        after=part.after,
        change=part.change,
        share=None if total_change == 0 else round(100 * part.change / total_change, 2),
        p_value=part.p_value,
        q_value=part.q_value,
        significant=part.significant,
        surprise=round(
            surprise(part.before / before if before else 0.0, part.after / after if after else 0.0), 6
        ),
    )


def _top(dimensions: list[DimensionChange], change: int) -> list[TopContribution]:
    found = [
        TopContribution(dimension=d.dimension, **c.model_dump())
        for d in dimensions
        for c in d.values
        if c.significant and c.value != OTHER and c.change * change > 0 and c.surprise > SURPRISING
    ]
    # A value that is the whole before and after (every visitor on Chrome) moves with the total but
    # explains none of it: the values whose share moved come first.
    found.sort(key=lambda c: (-c.surprise, -abs(c.change), c.dimension, str(c.value)))
    return found[:TOP]


def _label(local: Any) -> str:
    return format_label(local, "hour" if (local.hour, local.minute) != (0, 0) else "day")


def _within(params: Params, r: DateRange) -> exp.Expr:
    ts = col("timestamp")
    return exp.and_(
        exp.GTE(this=ts, expression=params.bind(r.start)),
        exp.LT(this=ts.copy(), expression=params.bind(r.end)),
    )


def _period(params: Params, rng: DateRange, at: exp.Expr) -> exp.Expr:
    """``p``: 1 for the range, 0 for the baseline (which lies before it)."""
    return exp.If(
        this=exp.GTE(this=at, expression=params.bind(rng.start)),
        true=exp.Literal.number(1),
        false=exp.Literal.number(0),
    ).as_("p")


def _series_conditions(series: Series, params: Params) -> list[exp.Expr]:
    found = conditions(series.filters, params)
    if series.event is not None:
        found.append(exp.EQ(this=col("event"), expression=params.bind(series.event)))
    return found


def _sessions(which: exp.Expr) -> exp.Select:
    return exp.select("session_id").from_("visits").where(which)
