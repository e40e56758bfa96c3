"""``users``: a paginated list of the people with events matching the filters; ``user``: one person's profile.

A person is a ``person_id``, read through ``person_aliases`` by the compiler: the list and the profile
take in the events of every id aliased to the person, including those sent before the alias, so a person
is counted once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field
from sqlglot import exp

from belvedere.query.dates import DateRange, local_time, to_local
from belvedere.query.runner import (
    DatedQuery,
    DatedRunner,
    QueryContext,
    QueryResult,
    QueryRunner,
    QuerySpec,
    register,
)
from belvedere.query.sql import Params, col, fn, parse, parse_select


class UsersQuery(DatedQuery):
    kind: Literal["users"] = "users"
    date_from: str = "-30d"
    search: str | None = Field(None, max_length=200, description="Only ids containing this text.")
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)


class Person(BaseModel):
    person_id: str
    first_seen: str | None = Field(description="UTC, ISO 8601.")
    last_seen: str | None
    events: int
    sessions: int
    properties: dict[str, Any]


class UsersResult(QueryResult):
    kind: Literal["users"] = "users"
    results: list[Person]
    total: int = Field(description="People matching, over every page.")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def _traits(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    parsed = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return parsed if isinstance(parsed, dict) else {}


@register
class UsersRunner(DatedRunner[UsersQuery]):
    spec_model = UsersQuery
    result_model = UsersResult

    def calculate(self) -> UsersResult:
        params = Params()
        where = [*self.where(params), parse("person_id IS NOT NULL")]
        if self.spec.search:
            where.append(fn("contains", col("person_id"), params.bind(self.spec.search)))
        people = (
            exp.select(
                col("person_id").as_("who"),
                parse("min(timestamp)").as_("first_seen"),
                parse("max(timestamp)").as_("last_seen"),
                parse("count(*)").as_("events"),
                parse("bv_uniq_exact(session_id)").as_("sessions"),
            )
            .from_("events")
            .where(exp.and_(*where))
            .group_by("who")
        )
        tree = (
            parse_select("SELECT u.*, p.properties, count(*) OVER () AS total FROM people AS u")
            .join(exp.to_table("persons").as_("p"), on=parse("p.distinct_id = u.who"), join_type="left")
            .with_("people", as_=people)
            .order_by("last_seen DESC", "who", dialect="duckdb")
            .limit(self.spec.limit)
            .offset(self.spec.offset)
        )
        rows = self.fetch(tree, params)
        if not rows and self.spec.offset:
            # Past the last page: the window count has no row to ride on, so count the people alone.
            count = parse_select("SELECT count(*) FROM people").with_("people", as_=people)
            total = int(self.fetch(count, params)[0][0] or 0)
        else:
            total = int(rows[0][-1]) if rows else 0
        results = [
            Person(
                person_id=who,
                first_seen=_iso(first),
                last_seen=_iso(last),
                events=int(events),
                sessions=int(sessions),
                properties=_traits(props),
            )
            for who, first, last, events, sessions, props, _ in rows
        ]
        return UsersResult(results=results, total=total)


class UserQuery(QuerySpec):
    kind: Literal["user"] = "user"
    person_id: str = Field(min_length=1, max_length=200)
    recent: int = Field(20, ge=0, le=200, description="How many of the latest events to include.")


class PeakHour(BaseModel):
    hour: int = Field(description="Hour of the day in the project's time zone.")
    events: int


class EventCount(BaseModel):
    event: str
    count: int


class RecentEvent(BaseModel):
    timestamp: str | None
    local_time: str
    event: str
    path: str | None
    session_id: str | None


class UserResult(QueryResult):
    """One person's profile; only ``person_id`` and ``found`` when they have no events."""

    kind: Literal["user"] = "user"
    person_id: str
    found: bool
    first_seen: str | None = None
    last_seen: str | None = None
    events: int = 0
    sessions: int = 0
    days_active: int = 0
    total_visit_duration: float = Field(0.0, description="Seconds.")
    avg_visit_duration: float | None = None
    revenue: float = 0.0
    cost: float = 0.0
    peak_hours: list[PeakHour] = []
    top_events: list[EventCount] = []
    properties: dict[str, Any] = {}
    recent_events: list[RecentEvent] = []


@register
class UserRunner(QueryRunner[UserQuery]):
    spec_model = UserQuery
    result_model = UserResult

    def __init__(self, spec: UserQuery, ctx: QueryContext) -> None:
        super().__init__(spec, ctx)
        self._span: tuple[datetime, datetime] | None = None

    def _theirs(self, params: Params) -> exp.Expr:
        """Events of the person — with those of any id aliased to them, as the compiler resolves
        ``person_id`` through ``person_aliases``."""
        return exp.EQ(this=col("person_id"), expression=params.bind(self.spec.person_id))

    def calculate(self) -> UserResult:
        params = Params()
        visits = parse_select(
            "SELECT session_id, min(timestamp) AS first_ts,"
            " bv_epoch_ms(max(timestamp)) - bv_epoch_ms(min(timestamp)) AS duration_ms"
            " FROM events WHERE session_id IS NOT NULL GROUP BY session_id"
        ).where(self._theirs(params))
        summary = parse_select("SELECT count(*), sum(duration_ms), avg(duration_ms) FROM their_visits").with_(
            "their_visits", as_=visits
        )
        n_visits, total_ms, avg_ms = self.fetch(summary, params)[0]

        params = Params()
        local = self.local_time(params)
        totals = (
            exp.select(
                parse("min(timestamp)"),
                parse("max(timestamp)"),
                parse("count(*)"),
                fn("uniq_exact", fn("trunc_day", local)).as_("days"),
                parse("sum(revenue)"),
                parse("sum(cost)"),
            )
            .from_("events")
            .where(self._theirs(params))
        )
        first, last, n_events, days, revenue, cost = self.fetch(totals, params)[0]
        if not n_events:
            return UserResult(person_id=self.spec.person_id, found=False)
        return UserResult(
            person_id=self.spec.person_id,
            found=True,
            first_seen=_iso(first),
            last_seen=_iso(last),
            events=int(n_events),
            sessions=int(n_visits or 0),
            days_active=int(days or 0),
            total_visit_duration=round(float(total_ms or 0) / 1000, 1),
            avg_visit_duration=round(float(avg_ms) / 1000, 1) if avg_ms is not None else None,
            revenue=float(revenue or 0),
            cost=float(cost or 0),
            peak_hours=self._peak_hours(),
            top_events=self._top_events(),
            properties=self._properties(),
            recent_events=self._recent(),
        )

    def local_time(self, params: Params) -> exp.Expr:
        """Local time over the person's whole history: the zone's offsets across their own time span."""
        if self._span is None:
            span_params = Params()
            span = parse_select("SELECT min(timestamp), max(timestamp) FROM events").where(
                self._theirs(span_params)
            )
            lo, hi = self.fetch(span, span_params)[0]
            self._span = (lo, hi) if lo is not None else (self.ctx.now, self.ctx.now)
        lo, hi = self._span
        rng = DateRange(lo - timedelta(days=1), hi + timedelta(days=1), self.ctx.tz)
        return local_time(col("timestamp"), self.ctx.tz, rng, params)

    def _peak_hours(self) -> list[PeakHour]:
        params = Params()
        hour = fn("hour_of", self.local_time(params))
        tree = (
            exp.select(hour.as_("h"), exp.Count(this=exp.Star()).as_("n"))
            .from_("events")
            .where(self._theirs(params))
            .group_by("h")
            .order_by("n DESC", "h", dialect="duckdb")
            .limit(3)
        )
        return [PeakHour(hour=int(h), events=int(n)) for h, n in self.fetch(tree, params)]

    def _top_events(self) -> list[EventCount]:
        params = Params()
        tree = (
            exp.select(col("event"), exp.Count(this=exp.Star()).as_("n"))
            .from_("events")
            .where(exp.and_(self._theirs(params), parse("event NOT LIKE '$%'")))  # features, not $pageview…
            .group_by("event")
            .order_by("n DESC", "event", dialect="duckdb")
            .limit(10)
        )
        return [EventCount(event=e, count=int(n)) for e, n in self.fetch(tree, params)]

    def _properties(self) -> dict[str, Any]:
        params = Params()
        tree = parse_select("SELECT properties FROM persons").where(
            exp.EQ(this=col("distinct_id"), expression=params.bind(self.spec.person_id))
        )
        rows = self.fetch(tree, params)
        return _traits(rows[0][0]) if rows else {}

    def _recent(self) -> list[RecentEvent]:
        if not self.spec.recent:
            return []
        params = Params()
        tree = (
            parse_select("SELECT timestamp, event, path, session_id FROM events")
            .where(self._theirs(params))
            .order_by("timestamp DESC", dialect="duckdb")
            .limit(self.spec.recent)
        )
        tz = self.ctx.tz
        return [
            RecentEvent(
                timestamp=_iso(ts), local_time=to_local(ts, tz).isoformat(), event=e, path=p, session_id=s
            )
            for ts, e, p, s in self.fetch(tree, params)
        ]
