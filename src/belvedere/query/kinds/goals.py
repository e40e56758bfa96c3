"""``goals``: the events of a period by name, as conversions — how many people did each, how many times,
and those people as a share of the period's visitors (the overview's "Goals and events" panel).

Every event counts, whether it belongs to a visit or not (a purchase recorded by a server has no session),
and each person once per event name, read through the alias links like ``stats`` counts its visitors, so
that a goal's rate here is the rate ``stats`` gives for the same goal."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, register
from belvedere.query.sql import PERSON_KEY, Params, col, parse_select, through_aliases


class GoalsQuery(DatedQuery):
    kind: Literal["goals"] = "goals"
    events: list[str] | None = Field(
        None, min_length=1, max_length=100, description="Only these event names; omit for every event."
    )
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


class GoalRow(BaseModel):
    goal: str = Field(description="The event's name.")
    people: int = Field(description="Distinct people who did it in the period.")
    events: int = Field(description="How many times it happened.")
    conversion_rate: float | None = Field(description="people as a % of the period's visitors.")


class GoalsResult(QueryResult):
    kind: Literal["goals"] = "goals"
    visitors: int = Field(description="The period's visitors (as stats counts them): the rates' base.")
    results: list[GoalRow] = Field(description="Most people first, then most events, then by name.")
    total_values: int = Field(description="How many event names there are in all.")


@register
class GoalsRunner(DatedRunner[GoalsQuery]):
    spec_model = GoalsQuery
    result_model = GoalsResult

    def _visitors(self) -> tuple[exp.Select, Params]:
        params = Params()
        return self.people(exp.and_(*self.where(params))), params

    def _goals(self) -> tuple[exp.Select, Params]:
        params = Params()
        where = self.where(params)
        if self.spec.events is not None:
            names = [params.bind(name) for name in self.spec.events]
            where.append(exp.In(this=col("event"), expressions=names))
        # Each (event, stored id) once, then each person once per event through the alias links.
        rows = parse_select(
            f"SELECT event, {PERSON_KEY} AS who, count(*) AS n FROM events GROUP BY event, who"
        )
        base, person = through_aliases(rows.where(exp.and_(*where)), keyed=True)
        per_goal = base.select(
            col("event", "r").as_("goal"),
            exp.Anonymous(this=self.uniq, expressions=[person]).as_("people"),
            exp.Sum(this=col("n", "r")).as_("events"),
        ).group_by(col("event", "r"))
        tree = (
            parse_select(
                "SELECT g.goal AS goal, g.people AS people, g.events AS events, count(*) OVER () AS total"
                " FROM g ORDER BY people DESC, events DESC, goal"
            )
            .with_("g", as_=per_goal)
            .limit(self.spec.limit)
            .offset(self.spec.offset)
        )
        return tree, params

    def calculate(self) -> GoalsResult:
        visitors = int(self.fetch_built("visitors", self._visitors)[0][0] or 0)
        rows = self.fetch_built("goals", self._goals)
        results = [
            GoalRow(
                goal=goal,
                people=int(people),
                events=int(events),
                conversion_rate=round(int(people) * 100 / visitors, 2) if visitors else None,
            )
            for goal, people, events, _ in rows
        ]
        total = int(rows[0][3]) if rows else 0
        if not rows and self.spec.offset:
            total = self._count_goals()
        return GoalsResult(visitors=visitors, results=results, total_values=total)

    def _count_goals(self) -> int:
        """How many names there are, when the page asked for lies past the last one."""
        first = GoalsRunner(self.spec.model_copy(update={"offset": 0, "limit": 1}), self.ctx)
        rows = first.fetch_built("goals", first._goals)
        return int(rows[0][3]) if rows else 0
