"""``conversion_drivers``: what people who reached a goal in the range did, or came with, more or less often
than those who did not (``insights.drivers``).

The people are those with events in the range (``population``: those who did that event), read through
their alias links; a person converted when they reached ``goal`` in the range. Features: each event name
done before converting (by people who never converted: in the range), and each value of ``properties``
a person came with (their first event of the range carrying the field)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlglot import exp

from belvedere.insights.drivers import Feature, weigh_all
from belvedere.query.fields import check_dimension, text_field
from belvedere.query.goal import Goal
from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, register
from belvedere.query.sql import PERSON_KEY, Params, col, first_values_by_person, fn, through_aliases

PROPERTIES = ("channel", "country", "device_type", "browser", "os")
_IGNORED = ("$alias", "$identify")  # bookkeeping, not behaviour
_EVENTS, _TOTALS = -1, -2  # the ``d`` of event features and of the totals row


class ConversionDriversQuery(DatedQuery):
    kind: Literal["conversion_drivers"] = "conversion_drivers"
    goal: Goal = Field(description='An event name, or {"page": a path pattern}: what converting is.')
    population: str | None = Field(
        None, max_length=200, description="Only the people who did this event in the range (default: all)."
    )
    properties: list[str] = Field(
        default_factory=lambda: list(PROPERTIES),
        max_length=10,
        description="Fields (or properties.<name>) whose values people came with are features too.",
    )
    min_people: int = Field(5, ge=1, le=1_000_000, description="Features fewer people had are not tested.")
    limit: int = Field(20, ge=1, le=200)

    @field_validator("properties")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        if len(set(value)) < len(value):
            raise ValueError("each property once")
        return [check_dimension(v) for v in value]


class Driver(BaseModel):
    feature: Literal["event", "property"]
    property: str | None = Field(description="The field, for a property value.")
    value: Any = Field(description="The event's name, or the field's value.")
    converted_with: int = Field(description="People who converted and had the feature.")
    converted_without: int
    others_with: int = Field(description="People who did not convert and had the feature.")
    others_without: int
    rate_with: float = Field(description="% of the people with the feature who converted.")
    rate_without: float | None
    odds_ratio: float = Field(description="Above 1: the feature goes with converting; below 1: against.")
    lower: float = Field(description="The odds ratio's 95 % confidence interval.")
    upper: float
    p_value: float = Field(description="Fisher's exact test.")
    q_value: float = Field(description="Adjusted over every feature tested (Benjamini-Hochberg).")
    significant: bool


class ConversionDriversResult(QueryResult):
    kind: Literal["conversion_drivers"] = "conversion_drivers"
    goal: str
    people: int = Field(description="People considered.")
    converted: int
    conversion_rate: float | None = Field(description="%")
    tested: int = Field(description="Features tested (had by at least min_people people).")
    drivers: list[Driver] = Field(
        description="The significant features, by how far their odds ratio lies from 1, then the others by"
        " p-value; `limit` of them."
    )


@register
class ConversionDriversRunner(DatedRunner[ConversionDriversQuery]):
    spec_model = ConversionDriversQuery
    result_model = ConversionDriversResult

    def _statement(self) -> tuple[exp.Expr, Params]:
        params = Params()
        ts, key = col("timestamp"), col(PERSON_KEY)
        where = exp.and_(*self.where(params), exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())))
        one, zero = exp.Literal.number(1), exp.Literal.number(0)
        member: exp.Expr = one.copy()
        if self.spec.population is not None:
            member = exp.EQ(this=col("event"), expression=params.bind(self.spec.population))
        # Each person: when they first reached the goal (NULL: never), whether they are counted.
        stored = (
            exp.select(key.copy().as_("who"))
            .select(exp.Min(this=exp.If(this=self.spec.goal.condition(params), true=ts.copy())).as_("conv"))
            .select(exp.Max(this=exp.If(this=member, true=one.copy(), false=zero.copy())).as_("member"))
            .from_("events")
            .where(where.copy())
            .group_by("who")
        )
        base, person = through_aliases(stored, keyed=True)
        people = base.select(
            person.as_("who"),
            exp.Min(this=col("conv", "r")).as_("conv"),
            exp.Max(this=col("member", "r")).as_("member"),
        ).group_by(person.copy())
        # Each person's event names, with the first time they did each.
        named = (
            exp.select(key.copy().as_("who"), col("event").as_("e"), exp.Min(this=ts.copy()).as_("first"))
            .from_("events")
            .where(where.copy())
            .group_by("who", "e")
        )
        base, person = through_aliases(named, keyed=True)
        events = base.select(
            person.as_("who"), col("e", "r").as_("e"), exp.Min(this=col("first", "r")).as_("first")
        ).group_by(person.copy(), col("e", "r"))
        # Each person's first value of each property.
        values = [text_field(p, params) for p in self.spec.properties]
        carried = first_values_by_person(values, where.copy())

        converted = exp.Not(this=exp.Is(this=col("conv", "p"), expression=exp.Null()))
        never = exp.Is(this=col("conv", "p"), expression=exp.Null())
        members = exp.EQ(this=col("member", "p"), expression=one.copy())

        def counted(d: int, value: exp.Expr, table: str, with_: exp.Expr) -> exp.Select:
            return (
                exp.select(exp.Literal.number(d).as_("d"), value.as_("v"))
                .select(fn("count_if", exp.and_(converted.copy(), with_)).as_("a"))
                .select(fn("count_if", never.copy()).as_("c"))
                .from_(exp.to_table(table).as_("x"))
                .join(
                    exp.to_table("people").as_("p"),
                    on=exp.EQ(this=col("who", "p"), expression=col("who", "x")),
                )
                .where(members.copy())
            )

        before = exp.LT(this=col("first", "x"), expression=col("conv", "p"))
        parts: list[exp.Select] = [
            exp.select(exp.Literal.number(_TOTALS).as_("d"), exp.Null().as_("v"))
            .select(fn("count_if", converted.copy()).as_("a"), fn("count_if", never.copy()).as_("c"))
            .from_(exp.to_table("people").as_("p"))
            .where(members.copy()),
            counted(_EVENTS, col("e", "x"), "named", before).group_by(col("e", "x")),
        ]
        for i in range(len(values)):
            v = col(f"v{i}", "x")
            part = counted(i, v, "carried", exp.true()).where(
                exp.Not(this=exp.Is(this=v.copy(), expression=exp.Null()))
            )
            parts.append(part.group_by(v.copy()))
        tree: exp.Query = parts[0]
        for part in parts[1:]:
            tree = exp.union(tree, part, distinct=False)
        tree = tree.with_("people", as_=people).with_("named", as_=events).with_("carried", as_=carried)
        return tree, params

    def calculate(self) -> ConversionDriversResult:
        tree, params = self._statement()
        rows = self.fetch(tree, params)
        converted = others = 0
        found: list[tuple[int, str, Feature]] = []
        skip = {*_IGNORED, self.spec.population, self.spec.goal.event}
        for d, _, a, c in rows:
            if int(d) == _TOTALS:
                converted, others = int(a or 0), int(c or 0)
        for d, v, a, c in rows:
            d, a, c = int(d), int(a or 0), int(c or 0)
            if d == _TOTALS or (d == _EVENTS and v in skip) or a + c < self.spec.min_people:
                continue
            found.append((d, v, Feature(a=a, b=converted - a, c=c, d=others - c)))
        weigh_all([f for _, _, f in found])
        drivers = [self._driver(d, v, f) for d, v, f in found]
        drivers.sort(key=_order)
        people = converted + others
        return ConversionDriversResult(
            goal=self.spec.goal.label,
            people=people,
            converted=converted,
            conversion_rate=None if people == 0 else round(100 * converted / people, 2),
            tested=len(found),
            drivers=drivers[: self.spec.limit],
        )

    def _driver(self, d: int, value: Any, f: Feature) -> Driver:
        with_, without = f.a + f.c, f.b + f.d
        return Driver(
            feature="event" if d == _EVENTS else "property",
            property=None if d == _EVENTS else self.spec.properties[d],
            value=value,
            converted_with=f.a,
            converted_without=f.b,
            others_with=f.c,
            others_without=f.d,
            rate_with=round(100 * f.a / with_, 2),
            rate_without=None if without == 0 else round(100 * f.b / without, 2),
            odds_ratio=round(f.odds_ratio, 4),
            lower=round(f.lower, 4),
            upper=round(f.upper, 4),
            p_value=f.p_value,
            q_value=f.q_value,
            significant=f.significant,
        )


def _order(driver: Driver) -> tuple[bool, float, float, str]:
    distance = abs(math.log(driver.odds_ratio)) if driver.odds_ratio > 0 else math.inf
    if driver.significant:
        return (False, -distance, 0.0, str(driver.value))
    return (True, driver.p_value, -distance, str(driver.value))
