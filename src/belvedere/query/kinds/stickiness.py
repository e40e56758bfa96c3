"""``stickiness``: how many people came back on how many of the range's intervals — of the people who did
``event`` (omit for any) in the range, how many did it in exactly 1, 2, … N of its N days (or hours, weeks,
months). People are read through the alias links; only the range's own events count (a week that starts
before ``date_from`` counts from ``date_from``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from belvedere.query.dates import Interval
from belvedere.query.kinds.activity import ActivityQuery, ActivityRunner
from belvedere.query.runner import QueryResult, register
from belvedere.query.sql import PERSON_KEY, Params, col, parse_select, regroup_by_person


class StickinessQuery(ActivityQuery):
    kind: Literal["stickiness"] = "stickiness"


class StickinessRow(BaseModel):
    intervals: int = Field(description="How many of the range's intervals the people were active in.")
    people: int


class StickinessResult(QueryResult):
    kind: Literal["stickiness"] = "stickiness"
    interval: Interval
    results: list[StickinessRow] = Field(
        description="One row per count, 1 to the range's intervals, zero-filled."
    )
    people: int = Field(description="The people active in the range, all counts together.")
    average_active: float = Field(
        description="People active per interval, on average over the range's intervals (DAU for days)."
    )
    ratio: float | None = Field(
        description="average_active / people, in %: DAU/MAU for a month of days, DAU/WAU for a week, WAU/MAU"
        " for a month of weeks (None: nobody active)."
    )


@register
class StickinessRunner(ActivityRunner):
    spec_model = StickinessQuery
    result_model = StickinessResult

    def _tree(self) -> tuple[exp.Expr, Params]:
        params = Params()
        in_range = [
            *self.base(params),
            exp.GTE(this=col("timestamp"), expression=params.bind(self.range.start)),
            exp.LT(this=col("timestamp"), expression=params.bind(self.range.end)),
        ]
        # Each (person, interval) once, people through their alias links; then intervals per person.
        active = regroup_by_person(
            exp.select(col(PERSON_KEY).as_("who"), self._index(col("timestamp"), params).as_("idx"))
            .from_("events")
            .where(exp.and_(*in_range))
            .group_by("who", "idx"),
            ["idx"],
            keyed=True,
        )
        per_person = parse_select("SELECT who, count(*) AS n FROM active GROUP BY who")
        tree = (
            parse_select("SELECT p.n AS n, count(*) AS people FROM per_person AS p GROUP BY p.n")
            .with_("active", as_=active)
            .with_("per_person", as_=per_person)
        )
        return tree, params

    def calculate(self) -> StickinessResult:
        found = {int(n): int(people) for n, people in self.fetch_built("stickiness", self._tree)}
        span = len(self.labels)
        rows = [StickinessRow(intervals=k, people=found.get(k, 0)) for k in range(1, span + 1)]
        people = sum(found.values())
        # Each person counts once per interval they were active in: the intervals' active people, summed.
        average = sum(k * n for k, n in found.items()) / span if span else 0.0
        return StickinessResult(
            interval=self.spec.interval,
            results=rows,
            people=people,
            average_active=round(average, 2),
            ratio=round(average * 100 / people, 2) if people else None,
        )
