"""``funnel``: how many people reach each step (see ``chains``), and, when asked, the same per value of a
field (breakdown), per bucket in which people entered (over time), and how long they took between two steps
(a histogram)."""

from __future__ import annotations

import math
from typing import Any

from sqlglot import exp

from belvedere.query.dates import bucket_starts, format_label
from belvedere.query.fields import COHORT, Filter, text_field
from belvedere.query.kinds.funnel.chains import FunnelChains, seconds
from belvedere.query.kinds.funnel.spec import (
    ConversionOverTime,
    FunnelBreakdown,
    FunnelQuery,
    FunnelResult,
    StepResult,
    TimeBin,
    TimeHistogram,
)
from belvedere.query.kinds.trends import NONE
from belvedere.query.runner import register
from belvedere.query.sql import Params, col, fn, parse

# Bin widths a histogram may use, in seconds: the smallest that keeps it within its number of bins.
_WIDTHS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@register
class FunnelRunner(FunnelChains[FunnelQuery]):
    spec_model = FunnelQuery
    result_model = FunnelResult

    def extra_columns(self, params: Params) -> list[tuple[exp.Expr, str]]:
        columns = [(self._breakdown_value(params).as_("bv"), "max")]
        if self.spec.over_time:
            interval = self.spec.interval
            assert interval != "hour"
            origin = bucket_starts(self.range, interval)[0]
            index = self.bucket_index(params, col("timestamp"), origin, interval, self.range)
            entry = exp.Case().when(self.is_step(self.spec.steps[0], params), index)
            columns.append((entry.as_("bk"), "min"))  # the bucket of the person's first step-1 event
        return columns

    def _breakdown_value(self, params: Params) -> exp.Expr:
        """The breakdown value of the person's first step-1 event, on every row of the person."""
        if self.spec.breakdown in (None, COHORT):
            return exp.Null()
        value = exp.Coalesce(
            this=text_field(self.spec.breakdown, params), expressions=[exp.Literal.string(NONE)]
        )
        is_step1 = self.is_step(self.spec.steps[0], params)
        first_step1 = exp.Case().when(is_step1, exp.Literal.number(0)).else_(exp.Literal.number(1))
        return exp.Window(
            this=exp.Anonymous(this="first_value", expressions=[value]),
            partition_by=[col("person_id")],
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=first_step1),
                    exp.Ordered(this=col("timestamp")),
                    exp.Ordered(this=value.copy()),
                ]
            ),
        )

    # ------------------------------------------------------------------ steps, and per breakdown value

    def _tree(self, *, by_value: bool) -> tuple[exp.Select, Params]:
        params = Params()
        aggregates: list[exp.Expr] = []
        for k in range(1, len(self.spec.steps) + 1):
            aggregates.append(parse(f"bv_count_if(reached >= {k})").as_(f"n{k}"))
            if self.timed:
                aggregates += [
                    parse(f"avg(d{k})").as_(f"avg{k}"),
                    fn("quantile", col(f"d{k}"), 0.5).as_(f"med{k}"),
                ]
            else:
                aggregates += [exp.Null().as_(f"avg{k}"), exp.Null().as_(f"med{k}")]
        columns = ["bv", *aggregates] if by_value else aggregates
        tree = exp.select(*columns).from_(self.per_person(params).subquery("p"))
        return (tree.group_by("bv") if by_value else tree), params

    def _aggregate(self, *, by_value: bool) -> list[tuple[Any, ...]]:
        rows = self.fetch_built(by_value, lambda: self._tree(by_value=by_value))
        return rows if by_value else [(None, *row) for row in rows]

    def _steps(self, row: tuple[Any, ...]) -> list[StepResult]:
        steps = []
        first = int(row[0] or 0)
        previous = first
        for k, step in enumerate(self.spec.steps):
            users, avg_ms, median_ms = int(row[3 * k] or 0), row[3 * k + 1], row[3 * k + 2]
            steps.append(
                StepResult(
                    step=k + 1,
                    event=step.event,
                    users=users,
                    conversion_rate=round(users * 100 / first, 2) if first else None,
                    step_conversion_rate=round(users * 100 / previous, 2) if previous else None,
                    drop_off=previous - users if k else 0,
                    avg_time_to_convert=seconds(avg_ms) if k else None,
                    median_time_to_convert=seconds(median_ms) if k else None,
                )
            )
            previous = users
        return steps

    def _by_cohort(self) -> list[FunnelBreakdown]:
        """The funnel of each cohort: the same funnel over its members' events (a ``cohort`` filter)."""
        found = []
        for cohort in self.spec.breakdown_cohorts:
            member = Filter(property=COHORT, operator="eq", value=cohort)
            spec = self.spec.model_copy(
                update={
                    "filters": [*self.spec.filters, member],
                    "breakdown": None,
                    "breakdown_cohorts": [],
                    "over_time": False,
                    "time_to_convert": None,
                }
            )
            overall = FunnelRunner(spec, self.ctx)._aggregate(by_value=False)[0]
            found.append(FunnelBreakdown(value=cohort, steps=self._steps(overall[1:])))
        return found

    def _breakdown(self) -> list[FunnelBreakdown]:
        if self.spec.breakdown == COHORT:
            return self._by_cohort()
        entered = [r for r in self._aggregate(by_value=True) if int(r[1] or 0) > 0]
        rows = sorted(entered, key=lambda r: (-int(r[1] or 0), str(r[0])))
        return [
            FunnelBreakdown(value=None if value == NONE else value, steps=self._steps(tuple(rest)))
            for value, *rest in rows[: self.spec.breakdown_limit]
        ]

    # ------------------------------------------------------------------ over time

    def _over_time_tree(self) -> tuple[exp.Select, Params]:
        params = Params()
        n = len(self.spec.steps)
        tree = (
            exp.select(
                "bk", parse("count(*)").as_("entered"), parse(f"bv_count_if(reached >= {n})").as_("converted")
            )
            .from_(self.per_person(params).subquery("p"))
            .where(parse("bk IS NOT NULL"))
            .group_by("bk")
        )
        return tree, params

    def _over_time(self) -> ConversionOverTime:
        interval = self.spec.interval
        assert interval != "hour"
        labels = bucket_starts(self.range, interval)
        by_bucket = {
            int(b): (int(e), int(c)) for b, e, c in self.fetch_built("over_time", self._over_time_tree)
        }
        entered = [by_bucket.get(i, (0, 0))[0] for i in range(len(labels))]
        converted = [by_bucket.get(i, (0, 0))[1] for i in range(len(labels))]
        return ConversionOverTime(
            interval=interval,
            labels=[format_label(label, interval) for label in labels],
            entered=entered,
            converted=converted,
            conversion_rate=[
                round(c * 100 / e, 2) if e else None for e, c in zip(entered, converted, strict=True)
            ],
        )

    # ------------------------------------------------------------------ time to convert

    def _span(self) -> tuple[int, int, str]:
        histogram = self.spec.time_to_convert
        assert histogram is not None
        a, b = histogram.from_step, histogram.to_step or len(self.spec.steps)
        # d_k is the shortest time from step 1 to step k: from a to b is d_b - d_a (just d_b from step 1).
        return a, b, f"d{b}" if a == 1 else f"(d{b} - d{a})"

    def _range_tree(self) -> tuple[exp.Select, Params]:
        params = Params()
        _, b, span = self._span()
        tree = (
            exp.select(parse(f"min({span})").as_("lo"), parse(f"max({span})").as_("hi"))
            .from_(self.per_person(params).subquery("p"))
            .where(parse(f"reached >= {b}"))
        )
        return tree, params

    def _bins_tree(self, width_ms: int) -> tuple[exp.Select, Params]:
        params = Params()
        _, b, span = self._span()
        tree = (
            exp.select(
                fn("int_div", parse(span), exp.Literal.number(width_ms)).as_("bin"),
                parse("count(*)").as_("n"),
            )
            .from_(self.per_person(params).subquery("p"))
            .where(parse(f"reached >= {b}"))
            .group_by("bin")
        )
        return tree, params

    def _time_to_convert(self) -> TimeHistogram:
        histogram = self.spec.time_to_convert
        assert histogram is not None
        a, b, _ = self._span()
        lo, hi = self.fetch_built("time_range", self._range_tree)[0]
        if lo is None:
            return TimeHistogram(from_step=a, to_step=b, bin_seconds=1, bins=[])
        lo_s, hi_s = int(lo) // 1000, int(hi) // 1000
        width = next((w for w in _WIDTHS if hi_s // w - lo_s // w + 1 <= histogram.bins), None)
        if width is None:  # longer than the named widths allow: whole days
            width = 86400 * math.ceil((hi_s // 86400 - lo_s // 86400 + 1) / histogram.bins)
            while hi_s // width - lo_s // width + 1 > histogram.bins:
                width += 86400
        counts = {
            int(i): int(n)
            for i, n in self.fetch_built(("bins", width), lambda: self._bins_tree(width * 1000))
        }
        first, last = lo_s // width, hi_s // width
        bins = [
            TimeBin(start=i * width, end=(i + 1) * width, people=counts.get(i, 0))
            for i in range(first, last + 1)
        ]
        return TimeHistogram(from_step=a, to_step=b, bin_seconds=width, bins=bins)

    def calculate(self) -> FunnelResult:
        overall = self._aggregate(by_value=False)[0]
        result = FunnelResult(order=self.spec.order, window=self.spec.window, steps=self._steps(overall[1:]))
        if self.spec.breakdown is not None:
            result.breakdown = self._breakdown()
        if self.spec.over_time:
            result.over_time = self._over_time()
        if self.spec.time_to_convert is not None:
            result.time_to_convert = self._time_to_convert()
        return result
