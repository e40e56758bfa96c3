"""``retention``: cohorts of people by the period of their start event, and who came back in each later
period.

- ``first_time``: a person's cohort is the period of their first-ever start event (all history counts, so
  someone who started before the range is in no cohort of it);
- ``recurring``: a person belongs to the cohort of every period in which they did the start event.

Row k of the matrix is the cohort starting in the k-th period of the range; column 0 is its size and
column j the people of the cohort who did the return event in period cohort + j. Periods that have not
happened yet are ``None``. With ``revenue_property``, each cell also gets the cohort's cumulative revenue
per person (LTV) from its period 0 through period j, from every event carrying that value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlglot import exp

from belvedere.query.dates import (
    DateRange,
    bucket,
    bucket_starts,
    format_label,
    next_bucket,
    to_local,
    to_utc,
    truncate,
)
from belvedere.query.fields import check_field, conditions, number_field
from belvedere.query.runner import DatedQuery, DatedRunner, QueryContext, QueryResult, register
from belvedere.query.sql import (
    EVENT_PERSON,
    PERSON_KEY,
    Params,
    col,
    fn,
    keyed_aliases,
    parse,
    parse_select,
    regroup_by_person,
)

Period = Literal["day", "week", "month"]


class RetentionQuery(DatedQuery):
    kind: Literal["retention"] = "retention"
    date_from: str = Field("-12w", description="Cohorts start in this range.")
    start_event: str | None = Field(None, max_length=200, description="Omit for any event.")
    return_event: str | None = Field(None, max_length=200, description="Omit for any event.")
    period: Period = "week"
    periods: int = Field(12, ge=1, le=120, description="Later periods followed after each cohort's own.")
    retention_type: Literal["first_time", "recurring"] = "first_time"
    revenue_property: str | None = Field(None, description="Numeric field summed into LTV (e.g. revenue).")

    _check_revenue = field_validator("revenue_property")(
        classmethod(lambda cls, v: None if v is None else check_field(v))
    )


class Cohort(BaseModel):
    cohort: str = Field(description="The cohort's period.")
    size: int
    values: list[int | None] = Field(description="Column 0: the size; column j: who came back in period j.")
    percentages: list[float | None]
    ltv: list[float | None] | None = Field(None, description="Only with revenue_property.")


class RetentionResult(QueryResult):
    kind: Literal["retention"] = "retention"
    period: Period
    retention_type: Literal["first_time", "recurring"]
    cohorts: list[Cohort]
    current: str | None = Field(
        None,
        description="The period that holds now (not over: people may still come back in it), when a cohort"
        " has reached it.",
    )


def _add_periods(label: datetime, period: Period, n: int) -> datetime:
    for _ in range(n):
        label = next_bucket(label, period)
    return label


@register
class RetentionRunner(DatedRunner[RetentionQuery]):
    spec_model = RetentionQuery
    result_model = RetentionResult
    MASK_SLOTS = 62  # periods one 64-bit mask of returns can hold (bit 63, the sign, is left alone)

    def __init__(self, spec: RetentionQuery, ctx: QueryContext) -> None:
        super().__init__(spec, ctx)
        self.cohorts = bucket_starts(self.range, spec.period)
        tz = self.range.tz
        horizon_local = _add_periods(self.cohorts[-1], spec.period, spec.periods + 1)
        # From the first cohort's own start (revenue before date_from in that period is its LTV) to the
        # end of the last cohort's last followed period.
        self.horizon = DateRange(
            min(to_utc(self.cohorts[0], tz), self.range.start),
            max(to_utc(horizon_local, tz), self.range.end),
            tz,
        )
        self.current = truncate(to_local(ctx.now, tz), spec.period)

    def _event_is(self, name: str | None, params: Params) -> list[exp.Expr]:
        return [] if name is None else [exp.EQ(this=col("event"), expression=params.bind(name))]

    def _period_of(self, ts: exp.Expr, params: Params) -> exp.Expr:
        return bucket(self.local_ts(params, self.horizon, ts_column=ts), self.spec.period)

    def _index(self, cohort: exp.Expr, period: exp.Expr) -> exp.Expr:
        """How many periods ``period`` lies after ``cohort`` (both period starts)."""
        if self.spec.period == "month":
            return fn("diff_months", cohort, period)
        days = fn("diff_days", cohort, period)
        return fn("int_div", days, 7) if self.spec.period == "week" else days

    @property
    def _by_mask(self) -> bool:
        """Cohorts whose periods, from the first cohort's to the last one followed, fit in the bits of one
        64-bit integer are answered from one grouping of the events by person (``_masked``)."""
        slots = len(self.cohorts) + self.spec.periods
        return slots <= self.MASK_SLOTS

    def _starts(self, params: Params) -> exp.Select:
        """(who, cohort): the start periods of each person, for cohorts in range."""
        base = [*self._event_is(self.spec.start_event, params), *conditions(self.spec.filters, params)]
        base.append(exp.Not(this=exp.Is(this=col(EVENT_PERSON), expression=exp.Null())))
        start, end = params.bind(self.range.start), params.bind(self.range.end)
        if self.spec.retention_type == "recurring":
            in_range = [
                exp.GTE(this=col("timestamp"), expression=start),
                exp.LT(this=col("timestamp"), expression=end),
            ]
            rows = (
                exp.select(
                    col(PERSON_KEY).as_("who"), self._period_of(col("timestamp"), params).as_("cohort")
                )
                .from_("events")
                .where(exp.and_(*base, *in_range))
                .group_by("who", "cohort")
            )
            return regroup_by_person(rows, ["cohort"], keyed=True)
        firsts = regroup_by_person(
            exp.select(col(PERSON_KEY).as_("who"), exp.Min(this=col("timestamp")).as_("first_ts"))
            .from_("events")
            .where(exp.and_(*base, exp.LT(this=col("timestamp"), expression=end)))
            .group_by("who"),
            [],
            {"first_ts": "min"},
            keyed=True,
        )
        return (
            exp.select("who", self._period_of(col("first_ts"), params).as_("cohort"))
            .from_(firsts.subquery("f"))
            .where(exp.GTE(this=col("first_ts"), expression=start))
        )

    def _masked(self, params: Params) -> exp.Select:
        """(who, cohort, mask) of the cohorts in one grouping of the events by person: a bit per period
        (counted from the first cohort's) with a return event, and the first start event's time (first
        time) or a bit per period of the range with a start event (recurring). Grouping by (person,
        period) pairs, as ``_starts`` and ``_returns`` do, holds about twice the groups."""
        start = [*self._event_is(self.spec.start_event, params)]
        returned = [*self._event_is(self.spec.return_event, params)]
        first_cohort = params.bind(self.cohorts[0])
        # Negative for events before the horizon (first start events only), which both engines refuse to
        # shift by; the bit is kept only where ``is_return`` holds. DuckDB computes a CASE branch only for
        # its rows (test_retention.py's person d fails loudly should that change; a clamp here costs it
        # about 10 % of the query); ClickHouse may compute it for all, so its `bit` clamps. Days and weeks
        # are counted on milliseconds (12 weeks of 10 M events: 413 → 322 ms).
        index = self.bucket_index(params, col("timestamp"), self.cohorts[0], self.spec.period, self.horizon)
        is_start = exp.and_(*start, exp.LT(this=col("timestamp"), expression=params.bind(self.range.end)))
        is_return = exp.and_(
            *returned, exp.GTE(this=col("timestamp"), expression=params.bind(self.horizon.start))
        )
        where = [
            *conditions(self.spec.filters, params),
            exp.Not(this=exp.Is(this=col(EVENT_PERSON), expression=exp.Null())),
            exp.LT(this=col("timestamp"), expression=params.bind(self.horizon.end)),
        ]
        if start and returned:
            where.append(exp.or_(*start, *returned))

        def bits(when: exp.Expr) -> exp.Expr:
            return fn("bit_or", exp.If(this=when, true=fn("bit", index.copy()), false=exp.Literal.number(0)))

        if self.spec.retention_type == "recurring":
            in_range = exp.GTE(this=col("timestamp"), expression=params.bind(self.range.start))
            started, how = bits(exp.and_(is_start, in_range)).as_("started"), "bit_or"
        else:
            started, how = exp.Min(this=exp.If(this=is_start, true=col("timestamp"))).as_("started"), "min"
        rows = (
            exp.select(col(PERSON_KEY).as_("who"), started, bits(is_return).as_("mask"))
            .from_("events")
            .where(exp.and_(*where))
            .group_by("who")
        )
        people = regroup_by_person(rows, [], {"started": how, "mask": "bit_or"}, keyed=True)
        if self.spec.retention_type == "first_time":
            return (
                exp.select("who", self._period_of(col("started"), params).as_("cohort"), "mask")
                .from_(people.subquery("f"))
                .where(exp.GTE(this=col("started"), expression=params.bind(self.range.start)))
            )
        # One row per (person, cohort of a period in which they started): every cohort's label, kept
        # where the person's bit for it is set.
        labels = exp.Array(expressions=[params.bind(label) for label in self.cohorts])
        every = exp.select("who", "started", "mask", fn("unnest", labels).as_("cohort")).from_(
            people.subquery("f")
        )
        started_in = fn("bit_at", col("started"), self._index(first_cohort.copy(), col("cohort")))
        return (
            exp.select("who", "cohort", "mask")
            .from_(every.subquery("c"))
            .where(exp.EQ(this=started_in, expression=exp.Literal.number(1)))
        )

    def _masked_cells(self, params: Params) -> exp.Select:
        """Per cohort: its size and, for each later period k, how many of its people have bit
        cohort + k of their mask set."""
        first_cohort = params.bind(self.cohorts[0])
        at = self._index(first_cohort, col("cohort"))
        returned = [
            exp.Sum(
                this=fn("bit_at", col("mask"), exp.Add(this=at.copy(), expression=exp.Literal.number(k)))
            ).as_(f"r{k}")
            for k in range(1, self.spec.periods + 1)
        ]
        return (
            exp.select("cohort", exp.Literal.number(-1).as_("k"), exp.Literal.string("size").as_("m"))
            .select(parse("count(*)").as_("v"), *returned)
            .from_("starts")
            .group_by("cohort")
        )

    @staticmethod
    def _cohort_ids() -> exp.Query:
        """The keys of the stored ids of people in a cohort: their own, and the ids aliased to them. People
        are told apart by their keys (``PERSON_KEY``): retention only counts them."""
        aliased = (
            exp.select(col("alias", "pa").as_("who"))
            .from_(keyed_aliases())
            .where(parse("pa.person_id IN (SELECT who FROM starts)"))
        )
        return exp.union(parse_select("SELECT who FROM starts"), aliased, distinct=False)

    @staticmethod
    def _of_cohorts() -> exp.Expr:
        """Only the events of people in a cohort (a superset of what the cells join keeps, so that the
        grouping by person skips everyone else's history)."""
        return exp.In(this=col(PERSON_KEY), query=parse_select("SELECT who FROM cohort_ids").subquery())

    def _returns(self, params: Params) -> exp.Select:
        where = [
            *self._event_is(self.spec.return_event, params),
            *conditions(self.spec.filters, params),
            self._of_cohorts(),
            exp.GTE(this=col("timestamp"), expression=params.bind(self.horizon.start)),
            exp.LT(this=col("timestamp"), expression=params.bind(self.horizon.end)),
        ]
        rows = (
            exp.select(col(PERSON_KEY).as_("who"), self._period_of(col("timestamp"), params).as_("period"))
            .from_("events")
            .where(exp.and_(*where))
            .group_by("who", "period")
        )
        return regroup_by_person(rows, ["period"], keyed=True)

    def _revenue(self, params: Params) -> exp.Select:
        assert self.spec.revenue_property is not None
        value = number_field(self.spec.revenue_property, params)
        where = [
            self._of_cohorts(),
            exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())),
            exp.GTE(this=col("timestamp"), expression=params.bind(self.horizon.start)),
            exp.LT(this=col("timestamp"), expression=params.bind(self.horizon.end)),
        ]
        rows = (
            exp.select(
                col(PERSON_KEY).as_("who"),
                self._period_of(col("timestamp"), params).as_("period"),
                exp.Sum(this=value).as_("amount"),
            )
            .from_("events")
            .where(exp.and_(*where))
            .group_by("who", "period")
        )
        return regroup_by_person(rows, ["period"], {"amount": "sum"}, keyed=True)

    def _cells(self, params: Params, other: str, name: str, measure: exp.Expr) -> exp.Select:
        joined = exp.and_(parse("o.who = s.who"), parse("o.period >= s.cohort"))
        index = self._index(col("cohort"), col("period"))
        return (
            exp.select(
                col("cohort", "s"), index.as_("k"), exp.Literal.string(name).as_("m"), measure.as_("v")
            )
            .from_(exp.to_table("starts").as_("s"))
            .join(exp.to_table(other).as_("o"), on=joined, join_type="inner")
            .where(exp.LTE(this=index.copy(), expression=exp.Literal.number(self.spec.periods)))
            .group_by(col("cohort", "s"), "k")
        )

    def _tree(self) -> tuple[exp.Query, Params]:
        """One statement: cohort sizes (k = -1), then returning people and revenue per (cohort, k) — so the
        people's start periods, the costly part, are found once. On the mask path, a cohort's size row
        also carries its returns, one column per later period (NULL on the other rows)."""
        params = Params()
        pad: list[exp.Expr] = []
        if self._by_mask:
            parts: list[exp.Select] = [self._masked_cells(params)]
            tree_ctes: list[tuple[str, exp.Query]] = [("starts", self._masked(params))]
            pad = [exp.Null().as_(f"r{k}") for k in range(1, self.spec.periods + 1)]
        else:
            sizes_part = exp.select(
                "cohort",
                exp.Literal.number(-1).as_("k"),
                exp.Literal.string("size").as_("m"),
                parse("count(*)"),
            )
            # (who, cohort) and (who, period) rows are unique, so a joined row is one person: count(*).
            parts = [
                sizes_part.from_("starts").group_by("cohort"),
                self._cells(params, "returns", "returned", parse("count(*)")),
            ]
            tree_ctes = [
                ("starts", self._starts(params)),
                ("cohort_ids", self._cohort_ids()),
                ("returns", self._returns(params)),
            ]
        if self.spec.revenue_property is not None:
            parts.append(
                self._cells(params, "revenue", "revenue", exp.Sum(this=col("amount", "o"))).select(*pad)
            )
            if self._by_mask:
                tree_ctes.append(("cohort_ids", self._cohort_ids()))
            tree_ctes.append(("revenue", self._revenue(params)))
        tree: exp.Query = parts[0]
        for part in parts[1:]:
            tree = exp.union(tree, part, distinct=False, copy=False)
        for name, cte in tree_ctes:
            tree = tree.with_(name, as_=cte)
        return tree, params

    def calculate(self) -> RetentionResult:
        sizes: dict[Any, int] = {}
        returned: dict[tuple[Any, int], int] = {}
        revenue: dict[tuple[Any, int], float] = {}
        for cohort, k, measure, value, *later in self.fetch_built(self._by_mask, self._tree):
            if measure == "size":
                sizes[cohort] = int(value)
                returned.update({(cohort, j): int(n) for j, n in enumerate(later, 1)})
            elif measure == "returned":
                returned[(cohort, int(k))] = int(value)
            else:
                revenue[(cohort, int(k))] = float(value)
        horizon = _add_periods(self.cohorts[-1], self.spec.period, self.spec.periods)
        return RetentionResult(
            period=self.spec.period,
            retention_type=self.spec.retention_type,
            cohorts=[self._row(label, sizes, returned, revenue) for label in self.cohorts],
            current=format_label(self.current, self.spec.period)
            if self.cohorts[0] <= self.current <= horizon
            else None,
        )

    def _row(
        self,
        label: datetime,
        sizes: dict[Any, int],
        returned: dict[tuple[Any, int], int],
        revenue: dict[tuple[Any, int], float],
    ) -> Cohort:
        size = sizes.get(label, 0)
        values: list[int | None] = [size]
        percentages: list[float | None] = [100.0 if size else None]
        ltv: list[float | None] = []
        total = 0.0
        for k in range(0, self.spec.periods + 1):
            happened = _add_periods(label, self.spec.period, k) <= self.current
            total += revenue.get((label, k), 0.0)
            ltv.append(round(total / size, 4) if size and happened else None)
            if k == 0:
                continue
            n = returned.get((label, k), 0) if happened else None
            values.append(n)
            percentages.append(round(n * 100 / size, 2) if n is not None and size else None)
        row = Cohort(
            cohort=format_label(label, self.spec.period), size=size, values=values, percentages=percentages
        )
        if self.spec.revenue_property is not None:
            row.ltv = ltv
        return row
