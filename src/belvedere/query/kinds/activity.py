"""Per-person activity by period — the shared ground of ``lifecycle`` and ``usage``.

Each person active in a period of the range (or the one just before it) gets a row with the period's index
(0 = the range's first bucket, -1 = the one before), the index of their previous and next active periods,
and the index of the period of their first-ever activity. Every status (new, returning, resurrecting,
dormant, churned, retained) is then a comparison of indexes, counted in one pass.

The first-ever period needs no scan of each person's whole history for its time: a person active before
the scanned periods has it earlier than any of them (index -2 says so), and anyone else has it at their
first scanned period. Only *whether* they were active before is read, by a distinct list of people (at 30
days of 10 M events: earliest time per person, 317 ms of CPU; this, about 150).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from pydantic import Field
from sqlglot import exp

from belvedere.query.dates import DateRange, bucket, bucket_starts, to_local, to_utc, truncate
from belvedere.query.fields import conditions
from belvedere.query.runner import DatedQuery, DatedRunner, QueryContext
from belvedere.query.sql import (
    EVENT_PERSON,
    PERSON_KEY,
    Params,
    col,
    fn,
    parse,
    parse_select,
    regroup_by_person,
)

# The first-ever period of a person active before the scanned periods: before all of them.
BEFORE_SCAN = -2


class ActivityQuery(DatedQuery):
    date_from: str = "-30d"
    event: str | None = Field(
        None, max_length=200, description="What counts as activity; omit for any event."
    )


class ActivityRunner(DatedRunner[ActivityQuery]):
    def __init__(self, spec: ActivityQuery, ctx: QueryContext) -> None:
        super().__init__(spec, ctx)
        interval = spec.interval
        self.labels = bucket_starts(self.range, interval)
        first, tz = self.labels[0], self.range.tz
        # the bucket just before the range (found in UTC, so a DST gap before the range is stepped over)
        before = truncate(to_local(to_utc(first, tz) - timedelta(seconds=1), tz), interval)
        self.origin, self.before = first, before
        self.scan = DateRange(to_utc(before, tz), self.range.end, tz)
        self.current = truncate(to_local(ctx.now, tz), interval)
        self.gaps = _skipped_hours(bucket_starts(self.scan, "hour"), first) if interval == "hour" else []

    def _index(self, ts: exp.Expr, params: Params) -> exp.Expr:
        """The bucket index of ``ts`` (a scanned instant) counted from the range's first bucket."""
        interval = self.spec.interval
        if interval != "hour":
            # Counted from the bucket before the range: the scan's first instant is in it, or (a clock put
            # back at midnight) just before it.
            since = self.bucket_index(params, ts, self.before, interval, self.scan)
            return exp.Sub(this=since, expression=exp.Literal.number(1))
        b = bucket(self.local_ts(params, self.scan, ts_column=ts), interval)
        hours = fn("int_div", fn("diff_seconds", params.bind(self.origin), b), 3600)
        return _close_gaps(hours, self.gaps)

    def base(self, params: Params) -> list[exp.Expr]:
        """What counts as activity: a known person, the activity event, the spec's filters."""
        known = exp.Not(this=exp.Is(this=col(EVENT_PERSON), expression=exp.Null()))
        base = [known, *conditions(self.spec.filters, params)]
        if self.spec.event is not None:
            base.append(exp.EQ(this=col("event"), expression=params.bind(self.spec.event)))
        return base

    def activity(self, params: Params) -> tuple[exp.Select, exp.Select]:
        """Rows (who, idx, prev_idx, next_idx, first_idx) for every person active in a scanned period, which
        read the table ``earlier``; and what ``earlier`` is: the people active before the scanned periods."""
        base = self.base(params)
        active = regroup_by_person(
            exp.select(col(PERSON_KEY).as_("who"), self._index(col("timestamp"), params).as_("idx"))
            .from_("events")
            .where(
                exp.and_(
                    *base,
                    exp.GTE(this=col("timestamp"), expression=params.bind(self.scan.start)),
                    exp.LT(this=col("timestamp"), expression=params.bind(self.scan.end)),
                )
            )
            .group_by("who", "idx"),
            ["idx"],
            keyed=True,
        )
        earlier = regroup_by_person(
            exp.select(col(PERSON_KEY).as_("who"))
            .from_("events")
            .where(
                exp.and_(
                    *[b.copy() for b in base],
                    exp.LT(this=col("timestamp"), expression=params.bind(self.scan.start)),
                )
            )
            .group_by("who"),
            [],
            keyed=True,
        )
        # One sort by (person, period) for the three windows.
        per_person = "OVER (PARTITION BY who ORDER BY idx ROWS BETWEEN {0})".format
        windowed = parse_select(
            f"SELECT who, idx, bv_prev_row(idx) {per_person('1 PRECEDING AND 1 PRECEDING')} AS prev_idx,"
            f" bv_next_row(idx) {per_person('1 FOLLOWING AND 1 FOLLOWING')} AS next_idx,"
            f" first_value(idx) {per_person('UNBOUNDED PRECEDING AND CURRENT ROW')} AS first_active"
            " FROM active"
        ).with_("active", as_=active)
        rows = (
            exp.select(
                "a.who",
                "a.idx",
                "a.prev_idx",
                "a.next_idx",
                parse(f"CASE WHEN e.who IS NULL THEN a.first_active ELSE {BEFORE_SCAN} END").as_("first_idx"),
            )
            .from_(windowed.subquery("a"))
            .join(exp.to_table("earlier").as_("e"), on=parse("e.who = a.who"), join_type="left")
        )
        return rows, earlier

    def cache_scope(self) -> str:
        return f"{super().cache_scope()}/{self.under_way()}"

    def under_way(self) -> int | None:
        """The index of the bucket that holds now, when the range is under way: it is not over, so its
        dormant or churned people are only those not back *yet*."""
        if not self.range.start <= self.ctx.now < self.range.end:
            return None
        return next((i for i, label in enumerate(self.labels) if label == self.current), None)

    def happened(self, index: int) -> bool:
        return index < len(self.labels) and self.labels[index] <= self.current

    def counts(self, measures: dict[str, str], *, earlier: bool = False) -> dict[int, dict[str, int]]:
        """{bucket index: {measure: count}} for the SQL conditions in ``measures`` over the activity rows;
        with ``earlier``, also {BEFORE_SCAN: {"people": n}}: how many people were active before the scanned
        periods (read from the same statement, so the events before the range are scanned once)."""

        def build() -> tuple[exp.Expr, Params]:
            params = Params()
            rows, people_before = self.activity(params)
            tree: exp.Query = (
                exp.select(
                    "idx", *[parse(f"bv_count_if({cond})").as_(name) for name, cond in measures.items()]
                )
                .from_(rows.subquery("x"))
                .group_by("idx")
            )
            if earlier:
                zeros = [exp.Literal.number(0) for _ in list(measures)[1:]]
                head = exp.select(exp.Literal.number(BEFORE_SCAN), exp.Count(this=exp.Star()), *zeros)
                tree = exp.union(tree, head.from_("earlier"), distinct=False)
            return tree.with_("earlier", as_=people_before), params

        out: dict[int, dict[str, int]] = {}
        for idx, *values in self.fetch_built((tuple(measures.items()), earlier), build):
            if idx == BEFORE_SCAN:
                out[BEFORE_SCAN] = {"people": int(values[0] or 0)}
            else:
                out[int(idx)] = {name: int(v or 0) for name, v in zip(measures, values, strict=True)}
        return out


def _skipped_hours(labels: list[datetime], origin: datetime) -> list[int]:
    """Wall-clock hours (counted from ``origin``) that DST skips between the scanned hour labels."""
    offsets = [int((label - origin).total_seconds()) // 3600 for label in labels]
    return [h for a, b in pairwise(offsets) for h in range(a + 1, b)]


def _close_gaps(hours: exp.Expr, gaps: list[int]) -> exp.Expr:
    """Wall-clock hours from the origin → bucket indexes: an hour that DST skips has no bucket, so every
    later hour moves one index closer to the origin (and every earlier one, before it)."""
    index: exp.Expr = hours
    for gap in gaps:
        later = exp.GT(this=hours.copy(), expression=exp.Literal.number(gap))
        earlier = exp.LT(this=hours.copy(), expression=exp.Literal.number(gap))
        towards = exp.Literal.number(1 if gap > 0 else -1)
        step = exp.If(this=later if gap > 0 else earlier, true=towards)
        index = exp.Sub(this=index, expression=exp.Case(ifs=[step], default=exp.Literal.number(0)))
    return index
