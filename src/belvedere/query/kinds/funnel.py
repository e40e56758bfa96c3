"""``funnel``: how many people go through 2 to 20 steps, in one sorted pass per step instead of self-joins.

Ordered (ClickHouse ``windowFunnel`` semantics, strict time order): a person reaches step k when step events
happen at t1 < t2 < … < tk with tk - t1 ≤ window. Each event of step k carries the *latest* feasible start
of a chain reaching it — the latest step-1 time reachable through steps 2…k-1 — which is the best start to
extend (it leaves the most of the window). That is a running ``max`` over earlier rows: one window function
per step, no join. ``strict`` also requires the chain's events to be consecutive among all the person's
events; ``unordered`` counts how many distinct steps a person did within one window, in any order.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlglot import exp

from belvedere.query.fields import MAX_FILTERS, Filter, check_dimension, conditions, text_field
from belvedere.query.kinds.trends import NONE
from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, register
from belvedere.query.sql import Params, col, fn, parse

Order = Literal["ordered", "strict", "unordered"]


class FunnelStep(BaseModel):
    event: str = Field(max_length=200)
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)


class FunnelQuery(DatedQuery):
    kind: Literal["funnel"] = "funnel"
    steps: list[FunnelStep] = Field(min_length=2, max_length=20)
    window: int = Field(14 * 86400, ge=1, le=366 * 86400, description="Seconds from step 1 to the last step.")
    order: Order = "ordered"
    breakdown: str | None = Field(None, description="Split by this field of the person's first step-1 event.")
    breakdown_limit: int = Field(10, ge=1, le=100)

    _check_breakdown = field_validator("breakdown")(
        classmethod(lambda cls, v: None if v is None else check_dimension(v))
    )


class StepResult(BaseModel):
    step: int
    event: str
    users: int
    conversion_rate: float | None = Field(description="% of step 1's people.")
    step_conversion_rate: float | None = Field(description="% of the previous step's people.")
    drop_off: int
    avg_time_to_convert: float | None = Field(description="Seconds from the previous step.")
    median_time_to_convert: float | None


class FunnelBreakdown(BaseModel):
    value: Any
    steps: list[StepResult]


class FunnelResult(QueryResult):
    kind: Literal["funnel"] = "funnel"
    order: Order
    window: int
    steps: list[StepResult]
    breakdown: list[FunnelBreakdown] | None = Field(None, description="Only with a breakdown.")


def _window(order_by: str, frame: str) -> str:
    return f"OVER (PARTITION BY who ORDER BY {order_by} {frame})"


@register
class FunnelRunner(DatedRunner[FunnelQuery]):
    spec_model = FunnelQuery
    result_model = FunnelResult

    def _events(self, params: Params) -> exp.Select:
        """The people's events in range, with one boolean column per step (s1 … sn)."""
        steps: list[exp.Expr] = []
        matches: list[exp.Expr] = []
        for i, step in enumerate(self.spec.steps, start=1):
            is_step = exp.and_(
                exp.EQ(this=col("event"), expression=params.bind(step.event)),
                *conditions(step.filters, params),
            )
            matches.append(exp.Paren(this=is_step.copy()))
            steps.append(exp.func("coalesce", is_step, exp.false()).as_(f"s{i}"))
        steps.append(self._breakdown_value(params).as_("bv"))
        where = [*self.where(params), parse("person_id IS NOT NULL")]
        if self.spec.order != "strict":
            # Only events of some step matter (strict needs them all, to see what lies between steps):
            # a step on page views with a page filter keeps a few thousand rows out of millions.
            where.append(exp.Paren(this=exp.or_(*matches)))
        return (
            exp.select(col("person_id").as_("who"), fn("epoch_ms", col("timestamp")).as_("t"), *steps)
            .from_("events")
            .where(exp.and_(*where))
        )

    def _breakdown_value(self, params: Params) -> exp.Expr:
        """The breakdown value of the person's first step-1 event, on every row of the person."""
        if self.spec.breakdown is None:
            return exp.Null()
        value = exp.Coalesce(
            this=text_field(self.spec.breakdown, params), expressions=[exp.Literal.string(NONE)]
        )
        step1 = self.spec.steps[0]
        is_step1 = exp.and_(
            exp.EQ(this=col("event"), expression=params.bind(step1.event)), *conditions(step1.filters, params)
        )
        first_step1 = exp.Case().when(is_step1, exp.Literal.number(0)).else_(exp.Literal.number(1))
        window = exp.Window(
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
        return window

    def _chains(self, params: Params) -> exp.Select:
        """Add st1 … stn: the latest feasible chain start at each event that reaches step k (else NULL)."""
        window_ms = self.spec.window * 1000
        tree = exp.select("*", parse("CASE WHEN s1 THEN t END").as_("st1")).from_(
            self._events(params).subquery("e")
        )
        for k in range(2, len(self.spec.steps) + 1):
            if self.spec.order == "strict":
                prev_start = f"max(st{k - 1}) {_window('t', 'ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING')}"
                prev_t = f"max(t) {_window('t', 'ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING')}"
                inner = exp.select("*", parse(prev_start).as_("m"), parse(prev_t).as_("pt")).from_(
                    tree.subquery(f"c{k}")
                )
                feasible = f"s{k} AND m IS NOT NULL AND pt < t AND t - m <= {window_ms}"
            else:
                prev_start = (
                    f"max(st{k - 1}) {_window('t', 'RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING')}"
                )
                inner = exp.select("*", parse(prev_start).as_("m")).from_(tree.subquery(f"c{k}"))
                feasible = f"s{k} AND m IS NOT NULL AND t - m <= {window_ms}"
            tree = exp.select(
                *[col(c) for c in self._columns(k)], parse(f"CASE WHEN {feasible} THEN m END").as_(f"st{k}")
            ).from_(inner.subquery(f"m{k}"))
        return tree

    def _columns(self, k: int) -> list[str]:
        n = len(self.spec.steps)
        return ["who", "t", "bv", *[f"s{i}" for i in range(1, n + 1)], *[f"st{i}" for i in range(1, k)]]

    def _ordered(self, params: Params) -> exp.Expr:
        n = len(self.spec.steps)
        per_person = (
            exp.select(
                "who",
                parse("max(bv)").as_("bv"),
                *[parse(f"min(t - st{k})").as_(f"d{k}") for k in range(1, n + 1)],
            )
            .from_(self._chains(params).subquery("c"))
            .group_by("who")
        )
        aggregates = []
        for k in range(1, n + 1):
            aggregates += [
                parse(f"count(d{k})").as_(f"n{k}"),
                parse(f"avg(d{k})").as_(f"avg{k}"),
                fn("quantile", col(f"d{k}"), 0.5).as_(f"med{k}"),
            ]
        return exp.select("bv", *aggregates).from_(per_person.subquery("p"))

    def _unordered(self, params: Params) -> exp.Expr:
        n = len(self.spec.steps)
        frame = f"RANGE BETWEEN CURRENT ROW AND {self.spec.window * 1000} FOLLOWING"
        done = " + ".join(
            f"max(CASE WHEN s{i} THEN 1 ELSE 0 END) {_window('t', frame)}" for i in range(1, n + 1)
        )
        counted = exp.select("who", "bv", parse(done).as_("k")).from_(self._events(params).subquery("e"))
        per_person = (
            exp.select("who", parse("max(bv)").as_("bv"), parse("max(k)").as_("reached"))
            .from_(counted.subquery("c"))
            .group_by("who")
        )
        aggregates = []
        for k in range(1, n + 1):
            aggregates += [
                parse(f"bv_count_if(reached >= {k})").as_(f"n{k}"),
                exp.Null().as_(f"avg{k}"),
                exp.Null().as_(f"med{k}"),
            ]
        return exp.select("bv", *aggregates).from_(per_person.subquery("p"))

    def _tree(self, *, by_value: bool) -> tuple[exp.Select, Params]:
        params = Params()
        tree = self._unordered(params) if self.spec.order == "unordered" else self._ordered(params)
        assert isinstance(tree, exp.Select)
        if by_value:
            return tree.group_by("bv"), params
        tree.set("expressions", tree.expressions[1:])  # every person together, without "bv"
        return tree, params

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
                    avg_time_to_convert=_seconds(avg_ms) if k else None,
                    median_time_to_convert=_seconds(median_ms) if k else None,
                )
            )
            previous = users
        return steps

    def calculate(self) -> FunnelResult:
        overall = self._aggregate(by_value=False)[0]
        result = FunnelResult(order=self.spec.order, window=self.spec.window, steps=self._steps(overall[1:]))
        if self.spec.breakdown is not None:
            entered = [r for r in self._aggregate(by_value=True) if int(r[1] or 0) > 0]
            rows = sorted(entered, key=lambda r: (-int(r[1] or 0), str(r[0])))
            result.breakdown = [
                FunnelBreakdown(value=None if value == NONE else value, steps=self._steps(tuple(rest)))
                for value, *rest in rows[: self.spec.breakdown_limit]
            ]
        return result


def _seconds(ms: Any) -> float | None:
    return None if ms is None else round(float(ms) / 1000, 3)
