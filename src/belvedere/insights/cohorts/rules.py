"""What decides who is in a cohort: a behaviour rule, a behaviour pattern, or a list of ids.

- ``behaviour``: people who did ``event`` (any event when absent) at least ``min_count`` times in the last
  ``days`` days, counting only the events that pass ``filters`` (event fields, properties, ``person.<trait>``
  for what people are);
- ``pattern``: the people a ``patterns`` query holds (power users, churn risk, conversion opportunities),
  with its dates relative so that the cohort follows them;
- ``static``: the ids given (distinct ids or aliases; each is counted as the person it resolves to)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from belvedere.query.fields import COHORT, MAX_FILTERS, Filter
from belvedere.query.kinds.patterns import PatternsQuery

MAX_STATIC_IDS = 10_000
MAX_ID_CHARS = 200
# The people a cohort may hold; a rule that finds more is refused with advice rather than cut.
MAX_MEMBERS = 1_000_000
PEOPLE_PATTERNS = ("power_users", "churn_risk", "conversion_opportunities")


class BehaviourRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["behaviour"] = "behaviour"
    event: str | None = Field(None, min_length=1, max_length=200, description="Absent: any event.")
    min_count: int = Field(1, ge=1, le=1_000_000, description="How many times at least.")
    days: int = Field(30, ge=1, le=730, description="Within the last this many days.")
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)

    @field_validator("filters")
    @classmethod
    def _no_cohort_in_cohort(cls, filters: list[Filter]) -> list[Filter]:
        if any(f.property == COHORT for f in filters):
            raise ValueError("a cohort's rule cannot filter on cohorts: combine them in the query instead")
        return filters


class PatternRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["pattern"] = "pattern"
    query: PatternsQuery

    @field_validator("query")
    @classmethod
    def _holds_people(cls, query: PatternsQuery) -> PatternsQuery:
        if query.pattern not in PEOPLE_PATTERNS:
            raise ValueError(
                f"a cohort holds people: the pattern must be one of {', '.join(PEOPLE_PATTERNS)}"
            )
        if any(f.property == COHORT for f in query.filters):
            raise ValueError("a cohort's pattern cannot filter on cohorts")
        return query


class StaticList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["static"] = "static"
    ids: list[Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]] = Field(
        min_length=1, max_length=MAX_STATIC_IDS
    )


Definition = Annotated[BehaviourRule | PatternRule | StaticList, Field(discriminator="type")]


class CohortDefinition(BaseModel):
    """The wrapper that parses any definition."""

    definition: Definition


# How the pages and the feed name the patterns and periods a pattern cohort may have.
PERIODS = {"-7d": "Last 7 days", "-28d": "Last 28 days"}
PATTERNS = {
    "power_users": "Power users",
    "churn_risk": "At risk of churning",
    "conversion_opportunities": "Engaged, not converted",
}


def describe(definition: dict[str, Any]) -> str:
    """A cohort's definition as a sentence."""
    kind = definition.get("type")
    if kind == "static":
        n = len(definition.get("ids", []))
        return f"A list of {n:,} id{'s' if n != 1 else ''}"
    if kind == "pattern":
        query = definition.get("query", {})
        period = PERIODS.get(query.get("date_from", "-28d"), query.get("date_from", ""))
        return f"{PATTERNS.get(query.get('pattern'), query.get('pattern'))}, {str(period).lower()}"
    times = int(definition.get("min_count", 1))
    event = definition.get("event") or "any event"
    filters = definition.get("filters") or []
    where = f", where {len(filters)} condition{'s' if len(filters) > 1 else ''} hold" if filters else ""
    return (
        f"Did {event} {'at least ' + str(times) + ' times' if times > 1 else 'at least once'}"
        f" in the last {definition.get('days', 30)} days{where}"
    )
