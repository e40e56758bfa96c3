"""``stats``: the headline numbers of a period, each beside the previous period of the same length."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from belvedere.query.dates import DateRange
from belvedere.query.goal import Goal
from belvedere.query.runner import ComparedQuery, DatedRunner, QueryResult, Statement, register
from belvedere.query.sql import Params, parse_select
from belvedere.query.visits import split_by_range

METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "revenue",
)


class StatsQuery(ComparedQuery):
    kind: Literal["stats"] = "stats"
    compare: bool = True
    goal: Goal | None = Field(
        None,
        description='An event name, or {"page": a path pattern}: its conversion rate (share of visitors who'
        " reached it) is added.",
    )


class Figure(BaseModel):
    value: float | int | None = Field(description="None when it has no meaning (a rate over no visits).")
    previous: float | int | None = Field(
        None,
        description="In the period compared with (compare_to); while this period is under way, only as much"
        " of that one as this one has had so far.",
    )
    change: float | None = Field(None, description="Percent change from ``previous``.")


class StatsResult(QueryResult):
    kind: Literal["stats"] = "stats"
    date_from: str = Field(description="The period's first instant, in the project's time zone.")
    date_to: str = Field(description="The period's end (exclusive), in the project's time zone.")
    compared_from: str | None = Field(None, description="With compare: the compared period's first instant.")
    compared_to: str | None = Field(
        None, description="With compare: its end (exclusive), cut like this period while it is under way."
    )
    results: dict[str, Figure] = Field(
        description="visitors, visits, pageviews, views_per_visit, bounce_rate (%), visit_duration (s),"
        " events, revenue (the sum of the events' `revenue`); with a goal, conversions and"
        " conversion_rate (%)."
    )


def change_pct(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous * 100, 2)


@register
class StatsRunner(DatedRunner[StatsQuery]):
    spec_model = StatsQuery
    result_model = StatsResult

    def _tree(self, rng: DateRange) -> tuple[exp.Select, Params]:
        params = Params()
        where = exp.and_(*self.where(params, rng))
        totals = parse_select(
            "SELECT count(*) AS events, bv_count_if(event = '$pageview') AS pageviews,"
            " sum(revenue) AS revenue_sum FROM events"
        ).where(where)
        visitors = self.visitors(params, rng, where.copy())
        per_visit = self._visits_of(where.copy()) if self.spec.filters else self._visits(params, rng)
        tree = (
            exp.select("p.*", "t.*", "s.*")
            .from_(visitors.subquery("p"))
            .join(totals.subquery("t"), join_type="cross")
            .join(per_visit.subquery("s"), join_type="cross")
        )
        if self.spec.goal is not None:
            did_goal = exp.and_(where.copy(), self.spec.goal.condition(params))
            tree = tree.select("g.*").join(
                self.people(did_goal, "conversions").subquery("g"), join_type="cross"
            )
        return tree, params

    def statements(self) -> list[Statement]:
        # One statement for the period and the one compared with: the range's ends are its values.
        return [("", lambda: self._tree(self.range))]

    def _values(self, rng: DateRange) -> dict[str, float | None]:
        row = self.fetch_ranged("", lambda: self._tree(rng), rng)[0]
        visitors, events, pageviews, revenue, n_visits, bounces, duration_ms = row[:7]
        n_visits = int(n_visits or 0)
        self.remember("visitors", rng, int(visitors or 0))
        goal: dict[str, float | None] = {}
        if self.spec.goal is not None:
            conversions = int(row[7] or 0)
            rate = round(conversions * 100 / visitors, 2) if visitors else None
            goal = {"conversions": conversions, "conversion_rate": rate}
        return {
            "visitors": int(visitors or 0),
            "visits": n_visits,
            "pageviews": int(pageviews or 0),
            "views_per_visit": round(pageviews / n_visits, 2) if n_visits else None,
            "bounce_rate": round(bounces * 100 / n_visits, 2) if n_visits else None,
            "visit_duration": round(float(duration_ms) / n_visits / 1000, 1) if n_visits else None,
            "events": int(events or 0),
            "revenue": round(float(revenue or 0), 2),
            **goal,
        }

    @staticmethod
    def _visits_of(where: exp.Expr) -> exp.Select:
        """(visits, bounces, total duration in ms) of the events matching ``where``, grouped into visits."""
        visits = parse_select(
            "SELECT session_id, count(*) AS n, bv_count_if(event = '$pageview') AS pv,"
            " bv_epoch_ms(max(timestamp)) - bv_epoch_ms(min(timestamp)) AS duration_ms"
            " FROM events WHERE session_id IS NOT NULL GROUP BY session_id"
        ).where(where)
        return parse_select(
            "SELECT count(*) AS visits, bv_count_if(n = 1 AND pv = 1) AS bounces,"
            " sum(duration_ms) AS duration_ms FROM v"
        ).with_("v", as_=visits)

    def _visits(self, params: Params, rng: DateRange) -> exp.Select:
        """The same without filters, from the ``visits`` table: a visit wholly inside the range counts as
        stored; only the few that cross its start or end are grouped again from their events in range."""
        split = split_by_range(params, rng)
        stored = parse_select(
            "SELECT count(*) AS visits, bv_count_if(events = 1 AND pageviews = 1) AS bounces,"
            " sum(bv_epoch_ms(ended_at) - bv_epoch_ms(started_at)) AS duration_ms FROM visits"
        ).where(split.inside)
        in_range = exp.and_(*self.where(params, rng), split.regroup())
        regrouped = self._visits_of(in_range)
        return (
            parse_select(
                "SELECT i.visits + c.visits AS visits, i.bounces + c.bounces AS bounces,"
                " coalesce(i.duration_ms, 0) + coalesce(c.duration_ms, 0) AS duration_ms"
            )
            .from_(stored.subquery("i"))
            .join(regrouped.subquery("c"), join_type="cross")
        )

    def _previous(self) -> DateRange:
        return self.range.compared(self.spec.compare_to, self.ctx.now)

    def cache_scope(self) -> str:
        """The previous period's end too: while the period is under way it moves with the clock."""
        if not self.spec.compare:
            return super().cache_scope()
        return f"{super().cache_scope()}/{self._previous().end.isoformat()}"

    def calculate(self) -> StatsResult:
        current = self._values(self.range)
        previous = self._values(self._previous()) if self.spec.compare else None
        results = {}
        for name in (*METRICS, "conversions", "conversion_rate") if self.spec.goal else METRICS:
            if previous is None:
                results[name] = Figure(value=current[name])
            else:
                change = change_pct(current[name], previous[name])
                results[name] = Figure(value=current[name], previous=previous[name], change=change)
        result = StatsResult(
            date_from=self.range.local_start().isoformat(),
            date_to=self.range.local_end().isoformat(),
            results=results,
        )
        if self.spec.compare:
            compared = self._previous()
            result.compared_from = compared.local_start().isoformat()
            result.compared_to = compared.local_end().isoformat()
        return result
