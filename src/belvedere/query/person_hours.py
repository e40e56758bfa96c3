"""Counting people from the person hours (``store.person_hours``) instead of the events.

DuckDB's store keeps, per person as the alias links resolve it and per event name ('' for any event), the
UTC hours in which that person had such events. The people of a range of whole hours are then the rows with
an hour in it: a count, where the events need every (person) or (bucket, person) pair made distinct first.
That is the overview's cost at 10 M events: its visitors, people per day and people per event (docs/
benchmarks.md, "Overview in the browser").

The rows answer only when nothing finer than an hour matters: the query has no filters (they need the
events' columns), the range starts and ends on whole UTC hours, and, for buckets, the project's zone is a
whole number of hours from UTC throughout (an hour then never straddles two local days). Otherwise, and on
ClickHouse, which keeps no such rows, a kind reads its events as before (``HourRange.of`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlglot import exp

from belvedere.query.dates import DateRange, offset_changes
from belvedere.query.sql import Params, col, fn

ANY_EVENT = ""  # the rows of any event (event names are 1 to 200 characters)
_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1)
_PERIOD_HOURS = {"day": 24, "week": 24 * 7}


def _hours(at: datetime) -> int | None:
    """Whole hours since the epoch of a naive UTC instant; None when it is not on the hour."""
    whole, rest = divmod(at - _EPOCH, _HOUR)
    return None if rest else whole


@dataclass(frozen=True, slots=True)
class HourRange:
    """A date range that begins on a whole UTC hour and ends on one — or, when ``cut``, anywhere after: only
    ``people`` counts such a range, from the hours up to its last whole hour and the events after it."""

    rng: DateRange
    cut: bool = False

    @classmethod
    def of(cls, rng: DateRange, *, dialect: str, filtered: bool, cut: bool = False) -> HourRange | None:
        """The range in hours, if the person hours can answer for it (see the module's docstring); with
        ``cut``, also a range that ends off the hour (the compared period of a period under way)."""
        if dialect != "duckdb" or filtered or rng.start >= rng.end or _hours(rng.start) is None:
            return None
        if _hours(rng.end) is not None:
            return cls(rng)
        return cls(rng, cut=True) if cut else None

    def condition(self, params: Params, event: str | None) -> exp.Expr:
        """The rows of ``event`` (None: any event) with an hour in the range."""
        name = params.bind(ANY_EVENT if event is None else event)
        return exp.and_(exp.EQ(this=col("event"), expression=name), self._in_range(params))

    def _in_range(self, params: Params) -> exp.Expr:
        """Rows with an hour in the range: one whose first and last hours both lie inside has one without
        its list being read."""
        first, end = self._bounds(params)
        inside = exp.and_(
            exp.GTE(this=col("first_hour"), expression=first.copy()),
            exp.LT(this=col("last_hour"), expression=end.copy()),
        )
        return exp.and_(
            exp.LT(this=col("first_hour"), expression=end.copy()),
            exp.GTE(this=col("last_hour"), expression=first.copy()),
            exp.Paren(this=exp.or_(inside, fn("hours_in", col("hours"), first.copy(), end.copy()))),
        )

    def _bounds(self, params: Params) -> tuple[exp.Expr, exp.Expr]:
        """The range's first hour and its end, computed in SQL from the range's ends as bound values: the
        statement is then the same for every range (``compile_ranged``)."""
        return fn("hour_number", params.bind(self.rng.start)), fn("hour_number", params.bind(self.rng.end))

    def people(self, params: Params, event: str | None = None, name: str = "visitors") -> exp.Select:
        """``SELECT <people who had event (None: any) in the range> AS name``. A ``cut`` range adds the
        people of its events after its last whole hour who had none before it in the range."""
        count = exp.Count(this=exp.Star())
        counted = exp.select(count).from_("person_hours").where(self.condition(params, event))
        if not self.cut:
            return counted.select(count.copy().as_(name), append=False)
        total = exp.Add(this=counted.subquery(), expression=self._newcomers(params, event).subquery())
        return exp.select(total.as_(name))

    def _newcomers(self, params: Params, event: str | None) -> exp.Select:
        """How many people had events (of ``event``) after the range's last whole hour, and no row of the
        person hours with an hour in the range before it. ``person_id`` read from the events is the person
        the alias links say (the compiler reads it through them), as the rows are."""
        end = params.bind(self.rng.end)
        last_hour = fn("hour_start", fn("hour_number", end.copy()))
        after = [
            exp.GTE(this=col("timestamp"), expression=last_hour),
            exp.LT(this=col("timestamp"), expression=end),
            exp.not_(exp.Is(this=col("person_id"), expression=exp.Null())),
        ]
        if event is not None:
            after.append(exp.EQ(this=col("event"), expression=params.bind(event)))
        late = exp.select(col("person_id").as_("person")).distinct().from_("events").where(exp.and_(*after))
        known = (
            exp.select(exp.Literal.number(1))
            .from_("person_hours")
            .where(
                exp.and_(
                    exp.EQ(this=col("person"), expression=col("person", "f")), self.condition(params, event)
                )
            )
        )
        return (
            exp.select(exp.Count(this=exp.Star()))
            .from_(late.subquery("f"))
            .where(exp.not_(exp.Exists(this=known)))
        )

    def people_per_event(self, params: Params, events: exp.Expr) -> exp.Select:
        """(goal: each event name that ``events``, a condition on ``event``, admits; people: who had it)."""
        where = exp.and_(
            exp.NEQ(this=col("event"), expression=params.bind(ANY_EVENT)), events, self._in_range(params)
        )
        return (
            exp.select(col("event").as_("goal"), exp.Count(this=exp.Star()).as_("people"))
            .from_("person_hours")
            .where(where)
            .group_by(col("event"))
        )

    def whole_hour_zone(self) -> bool:
        """Whether the zone is a whole number of hours from UTC around the range, changing on the hour: its
        local days and weeks then begin on whole UTC hours."""
        return all(
            offset % 3600 == 0 and (i == 0 or _hours(at) is not None)
            for i, (at, offset) in enumerate(self._changes())
        )

    def _changes(self) -> list[tuple[datetime, int]]:
        """The zone's offsets from a week before the range (a week bucket may begin there) to a day after."""
        return offset_changes(
            self.rng.tz, self.rng.start - timedelta(days=8), self.rng.end + timedelta(days=1)
        )

    def people_per_bucket(
        self, params: Params, event: str | None, interval: Literal["day", "week"], origin: datetime
    ) -> exp.Select:
        """(b: the index of each local day (week) after ``origin``, a local bucket start; bv: NULL, as no
        breakdown; v: the people who had ``event`` (None: any) in it). A row whose hours all lie in one
        bucket inside the range (most people) counts there without its list being read; the others' hours
        in the range become their distinct buckets, one row each. Counted per bucket: nothing is made
        distinct across rows (30 days of the bench store: 62 against 112 ms with every row's list read)."""
        first, end = self._bounds(params)

        def bucket(hour: exp.Expr) -> exp.Expr:
            local = exp.Add(this=hour, expression=self._offset_hours(hour, params))
            period = _PERIOD_HOURS[interval]
            since = exp.Sub(this=local, expression=params.bind((origin - _EPOCH) // _HOUR - period))
            whole = fn("int_div", exp.Paren(this=since), exp.Literal.number(period))
            return exp.Paren(this=exp.Sub(this=whole, expression=exp.Literal.number(1)))

        single = exp.and_(
            exp.GTE(this=col("first_hour"), expression=first.copy()),
            exp.LT(this=col("last_hour"), expression=end.copy()),
            exp.EQ(this=bucket(col("first_hour")), expression=bucket(col("last_hour"))),
        )
        # Rows with no hour in the range give no bucket: only their first and last hours are tested here.
        overlaps = exp.and_(
            exp.EQ(this=col("event"), expression=params.bind(ANY_EVENT if event is None else event)),
            exp.LT(this=col("first_hour"), expression=end.copy()),
            exp.GTE(this=col("last_hour"), expression=first.copy()),
        )
        ones = exp.select(bucket(col("first_hour")).as_("b")).from_("person_hours")
        buckets = fn("buckets_of_hours", col("hours"), first.copy(), end.copy(), bucket(col("h")))
        spread = exp.select(fn("unnest", buckets).as_("b")).from_("person_hours")
        rows = exp.union(
            ones.where(exp.and_(overlaps, single)),
            spread.where(exp.and_(overlaps.copy(), exp.not_(exp.Paren(this=single.copy())))),
            distinct=False,
        )
        return (
            exp.select(col("b"), exp.Null().as_("bv"), exp.Count(this=exp.Star()).as_("v"))
            .from_(rows.subquery("r"))
            .group_by(col("b"))
        )

    def _offset_hours(self, hour: exp.Expr, params: Params) -> exp.Expr:
        """The zone's offset from UTC in whole hours at ``hour`` (around the range): the first offset plus
        each change since, by arithmetic (a CASE per hour of every list took a fifth longer)."""
        changes = self._changes()
        offset: exp.Expr = exp.Literal.number(changes[0][1] // 3600)
        for (at, after), (_, before) in zip(changes[1:], changes, strict=False):
            since = exp.Cast(
                this=exp.GTE(this=hour.copy(), expression=params.bind(_hours(at))),
                to=exp.DataType.build("INT"),
            )
            step = exp.Mul(this=since, expression=exp.Literal.number((after - before) // 3600))
            offset = exp.Add(this=offset, expression=step)
        return exp.Paren(this=offset)
