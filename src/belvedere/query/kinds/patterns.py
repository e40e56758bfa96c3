"""``patterns``: behaviour patterns among the people active in the range (``insights.patterns``).

- ``power_users``: the top share of the active people by active days (L7 or L28 when the range is a week or
  four weeks), then by their key actions;
- ``churn_risk``: the regular people (active on at least ``min_active_days`` days) whose absence since their
  last active day is unusual against their own rhythm, scored;
- ``conversion_opportunities``: the people who did the lead-up actions at least ``min_times`` times in the
  range but never reached the goal, by how many they did.

Activity is any event (or ``event``) passing the filters; people are read through their alias links; days
are the project's. Each answer gives how many people the pattern holds, and a sample of them with their
score, most typical first."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlglot import exp

from belvedere.insights.patterns import churn_score, power_threshold
from belvedere.query.fields import check_dimension, text_field
from belvedere.query.goal import Goal
from belvedere.query.kinds.activity import ActivityQuery, ActivityRunner
from belvedere.query.runner import QueryResult, register
from belvedere.query.sql import (
    EVENT_PERSON,
    PERSON_KEY,
    Params,
    col,
    first_values_by_person,
    fn,
    parse_select,
    regroup_by_person,
)

Pattern = Literal["power_users", "churn_risk", "conversion_opportunities", "feature_adoption"]
# Bookkeeping and page views: not features.
_NOT_FEATURES = ("$pageview", "$pageleave", "$alias", "$identify")
AUTO_FEATURES = 30


class PatternsQuery(ActivityQuery):
    kind: Literal["patterns"] = "patterns"
    date_from: str = "-28d"
    pattern: Pattern
    key_event: str | None = Field(
        None, max_length=200, description="power_users: the key action counted beside active days."
    )
    top_share: float = Field(0.1, gt=0, le=0.5, description="power_users: the share of active people (0.1).")
    min_active_days: int = Field(4, ge=2, le=365, description="churn_risk: who counts as regular.")
    threshold: float = Field(
        0.95, ge=0.5, le=0.9999, description="churn_risk: the least risk score of the people counted."
    )
    goal: Goal | None = Field(
        None, description='conversion_opportunities: an event name or {"page": pattern}.'
    )
    lead_events: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="conversion_opportunities: the lead-up actions (event names).",
    )
    min_times: int = Field(3, ge=1, le=10_000, description="conversion_opportunities: lead-up actions done.")
    features: list[str] = Field(
        default_factory=list,
        max_length=AUTO_FEATURES,
        description="feature_adoption: the features (event names); default the 30 most used, page views and"
        " bookkeeping events aside.",
    )
    max_share: float = Field(0.2, gt=0, le=1, description="feature_adoption: below it, a feature is a gap.")
    by: str | None = Field(
        None, description="feature_adoption: a field whose values (people's first) say who uses each feature."
    )
    sample: int = Field(20, ge=0, le=200, description="How many of the people to list.")

    _check_by = field_validator("by")(classmethod(lambda cls, v: None if v is None else check_dimension(v)))

    @model_validator(mode="after")
    def _by_day(self) -> PatternsQuery:
        if self.interval != "day":
            raise ValueError("patterns read activity by day: interval must be day")
        if self.pattern == "conversion_opportunities":
            if self.goal is None or not self.lead_events:
                raise ValueError("conversion_opportunities needs a goal and its lead_events")
            if self.event is not None:
                raise ValueError("conversion_opportunities reads every event: leave event out")
        return self


class PatternPerson(BaseModel):
    person: str = Field(description="The person's id (the smallest of their ids, aliases included).")
    score: float = Field(description="power_users: active days; churn_risk: the risk score (0 to 1).")
    active_days: int
    actions: int | None = Field(None, description="power_users with key_event: how many key actions.")
    last_active: str | None = Field(None, description="churn_risk: their last active day.")
    absent_days: int | None = Field(None, description="churn_risk: whole days absent since.")


class ValuePeople(BaseModel):
    value: Any
    people: int


class FeatureUse(BaseModel):
    event: str
    people: int = Field(description="Active people who used it in the range.")
    share: float = Field(description="% of the active people.")
    gap: bool = Field(description="Used by less than max_share of the active people.")
    by: list[ValuePeople] = Field(
        default_factory=list, description="With `by`: its users' top 3 values (their first), most first."
    )


class PatternDays(BaseModel):
    active_days: int
    people: int


class PatternsResult(QueryResult):
    kind: Literal["patterns"] = "patterns"
    pattern: Pattern
    active: int = Field(description="People active in the range.")
    count: int = Field(description="People the pattern holds.")
    share: float | None = Field(description="count / active, in %.")
    min_active_days: int | None = Field(
        None, description="power_users: the fewest active days of a power user; churn_risk: as asked."
    )
    converted: int | None = Field(
        None, description="conversion_opportunities: the people as engaged who did reach the goal."
    )
    days: list[PatternDays] = Field(
        default_factory=list, description="power_users: active people by active days in the range (1 to N)."
    )
    people: list[PatternPerson] = Field(description="A sample: the most typical first.")
    features: list[FeatureUse] = Field(
        default_factory=list, description="feature_adoption: each feature, the least used first."
    )


@register
class PatternsRunner(ActivityRunner):
    spec_model = PatternsQuery
    result_model = PatternsResult

    def _per_person(self, params: Params) -> exp.Select:
        """Each person active in the range: their name, active days (``n``), first and last active day
        (indexes from the range's first), and key actions (``k``)."""
        spec = self.spec
        assert isinstance(spec, PatternsQuery)
        in_range = [
            *self.base(params),
            exp.GTE(this=col("timestamp"), expression=params.bind(self.range.start)),
            exp.LT(this=col("timestamp"), expression=params.bind(self.range.end)),
        ]
        key: exp.Expr = exp.Literal.number(0)
        reached: exp.Expr = exp.Literal.number(0)
        if spec.pattern == "conversion_opportunities":
            assert spec.goal is not None
            leads = exp.In(this=col("event"), expressions=[params.bind(e) for e in spec.lead_events])
            key = fn("count_if", leads)
            goal = spec.goal.condition(params)
            reached = exp.Max(this=exp.If(this=goal, true=exp.Literal.number(1), false=exp.Literal.number(0)))
        elif spec.key_event is not None:
            key = fn("count_if", exp.EQ(this=col("event"), expression=params.bind(spec.key_event)))
        active = regroup_by_person(
            exp.select(col(PERSON_KEY).as_("who"), self._index(col("timestamp"), params).as_("idx"))
            .select(exp.Min(this=col(EVENT_PERSON)).as_("name"), key.as_("k"), reached.as_("g"))
            .from_("events")
            .where(exp.and_(*in_range))
            .group_by("who", "idx"),
            ["idx"],
            {"name": "min", "k": "sum", "g": "max"},
            keyed=True,
        )
        return parse_select(
            "SELECT who, min(name) AS name, count(*) AS n, min(idx) AS first, max(idx) AS last, sum(k) AS k,"
            " max(g) AS g FROM active GROUP BY who"
        ).with_("active", as_=active)

    def calculate(self) -> PatternsResult:
        spec = self.spec
        assert isinstance(spec, PatternsQuery)
        params = Params()
        people = self._per_person(params)
        if spec.pattern == "power_users":
            return self._power_users(spec, people, params)
        if spec.pattern == "conversion_opportunities":
            return self._opportunities(spec, people, params)
        if spec.pattern == "feature_adoption":
            return self._adoption(spec, params)
        return self._churn_risk(spec, people, params)

    def _adoption(self, spec: PatternsQuery, params: Params) -> PatternsResult:
        """Each feature's users among the active people, and (``by``) their first values of a field."""
        in_range = exp.and_(
            *self.base(params),
            exp.GTE(this=col("timestamp"), expression=params.bind(self.range.start)),
            exp.LT(this=col("timestamp"), expression=params.bind(self.range.end)),
        )
        value = exp.Literal.string("") if spec.by is None else text_field(spec.by, params)
        people = first_values_by_person([value], in_range.copy())
        used = regroup_by_person(
            exp.select(col(PERSON_KEY).as_("who"), col("event").as_("e"))
            .from_("events")
            .where(in_range.copy())
            .group_by("who", "e"),
            ["e"],
            keyed=True,
        )
        tree = (
            exp.select(col("e", "u"), col("v0", "p"), exp.Count(this=exp.Star()).as_("c"))
            .from_(exp.to_table("used").as_("u"))
            .join(
                exp.to_table("people").as_("p"), on=exp.EQ(this=col("who", "u"), expression=col("who", "p"))
            )
            .group_by(col("e", "u"), col("v0", "p"))
            .with_("used", as_=used)
            .with_("people", as_=people)
        )
        by_feature: dict[str, dict[Any, int]] = {}
        for e, v, c in self.fetch(tree, params):
            by_feature.setdefault(str(e), {})[v] = int(c)
        active_query = exp.select(exp.Count(this=exp.Star())).from_(people.copy().subquery("p"))
        active = int(self.fetch(active_query, params)[0][0])
        totals = {e: sum(values.values()) for e, values in by_feature.items()}
        if spec.features:
            chosen = list(dict.fromkeys(spec.features))
        else:
            candidates = [e for e in totals if e not in _NOT_FEATURES]
            chosen = sorted(candidates, key=lambda e: (-totals[e], e))[:AUTO_FEATURES]
        uses = []
        for e in chosen:
            users = totals.get(e, 0)
            share = 100 * users / active if active else 0.0
            values = sorted(by_feature.get(e, {}).items(), key=lambda kv: (-kv[1], kv[0] is None, str(kv[0])))
            by = [ValuePeople(value=v, people=c) for v, c in values[:3]] if spec.by is not None else []
            uses.append(
                FeatureUse(
                    event=e, people=users, share=round(share, 2), gap=share < 100 * spec.max_share, by=by
                )
            )
        uses.sort(key=lambda f: (f.people, f.event))
        gaps = sum(f.gap for f in uses)
        return PatternsResult(
            pattern="feature_adoption",
            active=active,
            count=gaps,
            share=round(100 * gaps / len(uses), 2) if uses else None,
            people=[],
            features=uses,
        )

    def _opportunities(self, spec: PatternsQuery, people: exp.Select, params: Params) -> PatternsResult:
        """People who did the lead-up actions at least ``min_times`` times and never reached the goal."""
        # Every active person in one pass: whether they reached the goal, whether they were engaged.
        engaged = exp.GTE(this=col("k"), expression=exp.Literal.number(spec.min_times))
        flag = exp.If(this=engaged, true=exp.Literal.number(1), false=exp.Literal.number(0))
        grouped = (
            exp.select(col("g"), flag.as_("e"), exp.Count(this=exp.Star()).as_("c"))
            .from_("per_person")
            .group_by(col("g"), flag.copy())
            .with_("per_person", as_=people)
        )
        found: dict[int, int] = {}
        active = 0
        for g, was_engaged, c in self.fetch(grouped, params):
            active += int(c)
            if int(was_engaged):
                found[int(g)] = int(c)
        count = found.get(0, 0)
        sample: list[PatternPerson] = []
        if count and spec.sample:
            top = (
                parse_select("SELECT name, n, k FROM per_person WHERE g = 0 ORDER BY k DESC, n DESC, name")
                .where(exp.GTE(this=col("k"), expression=exp.Literal.number(spec.min_times)))
                .limit(spec.sample)
                .with_("per_person", as_=people.copy())
            )
            for name, n, k in self.fetch(top, params):
                sample.append(
                    PatternPerson(person=str(name), score=float(k), active_days=int(n), actions=int(k))
                )
        return PatternsResult(
            pattern="conversion_opportunities",
            active=active,
            count=count,
            share=round(100 * count / active, 2) if active else None,
            converted=found.get(1, 0),
            people=sample,
        )

    def _power_users(self, spec: PatternsQuery, people: exp.Select, params: Params) -> PatternsResult:
        by_days = parse_select("SELECT n, count(*) AS c FROM per_person GROUP BY n").with_(
            "per_person", as_=people
        )
        found = {int(n): int(c) for n, c in self.fetch(by_days, params)}
        active = sum(found.values())
        threshold = power_threshold(found, spec.top_share)
        count = sum(c for n, c in found.items() if threshold is not None and n >= threshold)
        sample: list[PatternPerson] = []
        if threshold is not None and spec.sample:
            top = (
                parse_select("SELECT name, n, k FROM per_person ORDER BY n DESC, k DESC, name")
                .where(exp.GTE(this=col("n"), expression=exp.Literal.number(threshold)))
                .limit(spec.sample)
                .with_("per_person", as_=people.copy())
            )
            for name, n, k in self.fetch(top, params):
                actions = int(k or 0) if spec.key_event is not None else None
                sample.append(
                    PatternPerson(person=str(name), score=float(n), active_days=int(n), actions=actions)
                )
        return PatternsResult(
            pattern="power_users",
            active=active,
            count=count,
            share=round(100 * count / active, 2) if active else None,
            min_active_days=threshold,
            days=[PatternDays(active_days=d, people=found.get(d, 0)) for d in range(1, len(self.labels) + 1)],
            people=sample,
        )

    def _churn_risk(self, spec: PatternsQuery, people: exp.Select, params: Params) -> PatternsResult:
        # The last whole day of the range: yesterday while the range is under way.
        current = self.under_way()
        last_day = len(self.labels) - 1 if current is None else current - 1
        regular = (
            parse_select("SELECT name, n, first, last FROM per_person")
            .where(exp.GTE(this=col("n"), expression=exp.Literal.number(spec.min_active_days)))
            .with_("per_person", as_=people)
        )
        active_query = parse_select("SELECT count(*) FROM per_person").with_("per_person", as_=people.copy())
        active = int(self.fetch(active_query, params)[0][0])
        scored = []
        for name, n, first, last in self.fetch(regular, params):
            gap = last_day - int(last)
            score = churn_score(int(n), int(last) - int(first) + 1, gap)
            if score >= spec.threshold:
                scored.append((score, int(n), str(name), int(last), gap))
        scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
        sample = [
            PatternPerson(
                person=name,
                score=round(score, 4),
                active_days=n,
                last_active=self.labels[last].date().isoformat(),
                absent_days=gap,
            )
            for score, n, name, last, gap in scored[: spec.sample]
        ]
        return PatternsResult(
            pattern="churn_risk",
            active=active,
            count=len(scored),
            share=round(100 * len(scored) / active, 2) if active else None,
            min_active_days=spec.min_active_days,
            people=sample,
        )
