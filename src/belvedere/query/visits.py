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
    crossing: exp.Expr  # condition on `visits`: the visit crosses one of its ends

    def regroup(self, also: exp.Expr | None = None) -> exp.In:
        """Condition on `events`: the event belongs to a visit that crosses the range's ends, or (``also``, a
        condition on `visits`) to a visit inside the range that the stored row cannot answer for. One
        subquery, so that the engine joins the few visits it finds rather than testing every event twice
        (breakdown by page, 30 days of 10 M events: 458 → 419 ms)."""
        which = self.crossing.copy()
        if also is not None:
            which = exp.or_(which, exp.and_(self.inside.copy(), also))
        visits = exp.select("session_id").from_("visits").where(which)
        return exp.In(this=col("session_id"), query=visits.subquery())


def split_by_range(params: Params, rng: DateRange) -> RangeSplit:
    start, end = params.bind(rng.start), params.bind(rng.end)
    inside = exp.and_(
        exp.GTE(this=col("started_at"), expression=start), exp.LT(this=col("ended_at"), expression=end)
    )
    overlaps = exp.and_(
        exp.LT(this=col("started_at"), expression=end.copy()),
        exp.GTE(this=col("ended_at"), expression=start.copy()),
    )
    return RangeSplit(inside, exp.and_(overlaps, exp.not_(inside.copy())))
