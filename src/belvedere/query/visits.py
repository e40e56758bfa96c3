"""Reading the ``visits`` table (one row per visit, kept by the writer) for a date range.

A visit wholly inside the range counts as stored. The few that cross the range's start or end must be
grouped again from their events inside the range, since only those belong to the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from belvedere.query.dates import DateRange
from belvedere.query.sql import Params, col


@dataclass(frozen=True, slots=True)
class RangeSplit:
    inside: exp.Expr  # condition on `visits`: the visit lies wholly inside the range
    crossing: exp.Select  # SELECT session_id FROM visits: the visits that cross one of its ends

    def regroup(self) -> exp.In:
        """Condition on `events`: the event belongs to a visit that crosses the range's ends."""
        return exp.In(this=col("session_id"), query=self.crossing.subquery())


def split_by_range(params: Params, rng: DateRange) -> RangeSplit:
    start, end = params.bind(rng.start), params.bind(rng.end)
    inside = exp.and_(
        exp.GTE(this=col("started_at"), expression=start), exp.LT(this=col("ended_at"), expression=end)
    )
    overlaps = exp.and_(
        exp.LT(this=col("started_at"), expression=end.copy()),
        exp.GTE(this=col("ended_at"), expression=start.copy()),
    )
    crossing = exp.select("session_id").from_("visits").where(exp.and_(overlaps, exp.not_(inside.copy())))
    return RangeSplit(inside, crossing)
