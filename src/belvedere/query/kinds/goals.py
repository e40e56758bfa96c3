"""``goals``: the events of a period by name, as conversions — how many people did each, how many times,
and those people as a share of the period's visitors (the overview's "Goals and events" panel).

Every event counts, whether it belongs to a visit or not (a purchase recorded by a server has no session),
and each person once per event name, read through the alias links like ``stats`` counts its visitors, so
that a goal's rate here is the rate ``stats`` gives for the same goal.

Page goals (``pages``: path patterns, see ``query.goal``) come after the events, one row each, in the order
asked. Bookkeeping events (``$identify``, ``$alias``…) are not conversions: they are left out unless
``events`` names them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlglot import exp

from belvedere.query.goal import Goal
from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, Statement, register
from belvedere.query.sql import PERSON_KEY, Params, col, parse_select, through_aliases

# Events a library sends to keep its books, not because a person did something.
BOOKKEEPING = ("$identify", "$alias", "$set", "$create_alias", "$groupidentify")


class GoalsQuery(DatedQuery):
    kind: Literal["goals"] = "goals"
    events: list[str] | None = Field(
        None,
        max_length=100,
        description="Only these event names; omit for every event (an empty list: none, page goals only).",
    )
    pages: list[str] | None = Field(
        None, min_length=1, max_length=20, description="Page goals too: path patterns (`/blog/*`)."
    )
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)

    @field_validator("pages")
    @classmethod
    def _patterns(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            Goal(page=value)  # raises with the reason
        return values


class GoalRow(BaseModel):
    goal: str = Field(description="The event's name, or a page goal's pattern.")
    page: bool = Field(False, description="True for a page goal (`goal` is its pattern).")
    people: int = Field(description="Distinct people who did it in the period.")
    events: int = Field(description="How many times it happened (page goals: matching page views).")
    conversion_rate: float | None = Field(description="people as a % of the period's visitors.")
    revenue: float | None = Field(
        None, description="The sum of its events' `revenue`; None when none had one."
    )


class GoalsResult(QueryResult):
    kind: Literal["goals"] = "goals"
    visitors: int = Field(description="The period's visitors (as stats counts them): the rates' base.")
    results: list[GoalRow] = Field(
        description="Events: most people first, then most events, then by name; then page goals, as asked."
    )
    total_values: int = Field(description="How many event names there are in all.")


@register
class GoalsRunner(DatedRunner[GoalsQuery]):
    spec_model = GoalsQuery
    result_model = GoalsResult

    def _visitors(self) -> tuple[exp.Select, Params]:
        params = Params()
        return self.visitors(params, self.range, exp.and_(*self.where(params))), params

    def _goals(self) -> tuple[exp.Select, Params]:
        params = Params()
        where = self.where(params)
        if self.spec.events is not None:
            names = [params.bind(name) for name in self.spec.events]
            which: exp.Expr = exp.In(this=col("event"), expressions=names)
        else:
            hidden = [params.bind(name) for name in BOOKKEEPING]
            which = exp.Not(this=exp.In(this=col("event"), expressions=hidden))
        where.append(which)
        # Events and revenue per event name; apart, each (event, stored id) once, then each person once
        # per event through the alias links. Two groupings, the large one with no sums to carry (30 days
        # of 10 M events: 480 → 400 ms against one grouping by (event, stored id) with the sums).
        condition = exp.and_(*where)
        totals = parse_select(
            # ``money``, not ``revenue``: ClickHouse reads aliases in WHERE, where filters name the column.
            "SELECT event AS goal, count(*) AS n, sum(revenue) AS money FROM events GROUP BY goal"
        ).where(condition)
        hours = self.hours()
        people = self._people(condition) if hours is None else hours.people_per_event(params, which.copy())
        tree = (
            parse_select(
                "SELECT t.goal AS goal, p.people AS people, t.n AS events, t.money AS revenue,"
                " count(*) OVER () AS total FROM t ORDER BY people DESC, events DESC, goal"
            )
            .join(
                "p",
                on=exp.NullSafeEQ(this=col("goal", "p"), expression=col("goal", "t")),
                join_type="inner",
            )
            .with_("t", as_=totals)
            .with_("p", as_=people)
            .limit(self.spec.limit)
            .offset(self.spec.offset)
        )
        return tree, params

    def _people(self, condition: exp.Expr) -> exp.Select:
        """(goal, people) of the events matching ``condition``: each (event, stored id) once, then each
        person once per event through the alias links."""
        pairs = parse_select(f"SELECT DISTINCT event AS goal, {PERSON_KEY} AS who FROM events").where(
            condition
        )
        base, person = through_aliases(pairs, keyed=True)
        return base.select(
            col("goal", "r").as_("goal"), exp.Anonymous(this=self.uniq, expressions=[person]).as_("people")
        ).group_by(col("goal", "r"))

    def _per_person(self, rows: exp.Select) -> exp.Select:
        """From rows of (goal, who: a stored id, n: events, money: revenue), each (goal, stored id) once, each
        person once per goal, read through the alias links: (goal, people, events, revenue)."""
        base, person = through_aliases(rows, keyed=True)
        return base.select(
            col("goal", "r").as_("goal"),
            exp.Anonymous(this=self.uniq, expressions=[person]).as_("people"),
            exp.Sum(this=col("n", "r")).as_("events"),
            exp.Sum(this=col("money", "r")).as_("revenue_sum"),
        ).group_by(col("goal", "r"))

    def _pages(self) -> tuple[exp.Select, Params]:
        """Each page goal's (pattern, people, page views, revenue): one statement for all of them."""
        params = Params()
        where = exp.and_(*self.where(params))
        parts: list[exp.Query] = []
        for pattern in self.spec.pages or []:
            parts.append(
                exp.select(
                    params.bind(pattern).as_("goal"),
                    col(PERSON_KEY).as_("who"),
                    exp.Count(this=exp.Star()).as_("n"),
                    exp.Sum(this=col("revenue")).as_("money"),
                )
                .from_("events")
                .where(exp.and_(where.copy(), Goal(page=pattern).condition(params)))
                .group_by("who")
            )
        union = parts[0]
        for part in parts[1:]:
            union = exp.union(union, part, distinct=False, copy=False)
        rows = parse_select("SELECT u.goal AS goal, u.who AS who, u.n AS n, u.money AS money").from_(
            union.subquery("u")
        )
        return self._per_person(rows), params

    def statements(self) -> list[Statement]:
        found: list[Statement] = [("visitors", self._visitors)]
        if self.spec.events != []:
            found.append(("goals", self._goals))
        if self.spec.pages:
            found.append(("pages", self._pages))
        return found

    def calculate(self) -> GoalsResult:
        # The overview asks its key figures first, which count the same visitors.
        visitors = self.recall("visitors", self.range)
        if visitors is None:
            visitors = int(self.fetch_ranged("visitors", self._visitors, self.range)[0][0] or 0)
        rows = self.fetch_ranged("goals", self._goals, self.range) if self.spec.events != [] else []

        def row(goal: str, people: Any, events: Any, revenue: Any, page: bool = False) -> GoalRow:
            return GoalRow(
                goal=goal,
                page=page,
                people=int(people),
                events=int(events),
                conversion_rate=round(int(people) * 100 / visitors, 2) if visitors else None,
                revenue=None if revenue is None else round(float(revenue), 2),
            )

        results = [row(goal, people, events, revenue) for goal, people, events, revenue, _ in rows]
        if self.spec.pages:
            found = {r[0]: r for r in self.fetch_ranged("pages", self._pages, self.range)}
            for pattern in self.spec.pages:
                _, people, events, revenue = found.get(pattern, (pattern, 0, 0, None))
                results.append(row(pattern, people, events, revenue, page=True))
        total = int(rows[0][4]) if rows else 0
        if not rows and self.spec.offset:
            total = self._count_goals()
        return GoalsResult(visitors=visitors, results=results, total_values=total)

    def _count_goals(self) -> int:
        """How many names there are, when the page asked for lies past the last one."""
        first = GoalsRunner(self.spec.model_copy(update={"offset": 0, "limit": 1}), self.ctx)
        rows = first.fetch_ranged("goals", first._goals, first.range)
        return int(rows[0][4]) if rows else 0
