"""``event_properties``: which property keys an event carries, and how often — what a user needs to see
before breaking an event down by one of its properties (``properties.<key>`` in ``breakdown``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, register
from belvedere.query.sql import Params, col, fn


class EventPropertiesQuery(DatedQuery):
    kind: Literal["event_properties"] = "event_properties"
    event: str | None = Field(None, max_length=200, description="Only this event's properties; omit for all.")
    limit: int = Field(50, ge=1, le=500)


class PropertyKey(BaseModel):
    key: str
    events: int


class EventPropertiesResult(QueryResult):
    kind: Literal["event_properties"] = "event_properties"
    event: str | None
    results: list[PropertyKey]


@register
class EventPropertiesRunner(DatedRunner[EventPropertiesQuery]):
    spec_model = EventPropertiesQuery
    result_model = EventPropertiesResult

    def calculate(self) -> EventPropertiesResult:
        params = Params()
        where = self.where(params)
        if self.spec.event is not None:
            where.append(exp.EQ(this=col("event"), expression=params.bind(self.spec.event)))
        keys = (
            exp.select(fn("json_keys_each", col("properties")).as_("k"))
            .from_("events")
            .where(exp.and_(*where))
        )
        tree = (
            exp.select("k", exp.Count(this=exp.Star()).as_("n"))
            .from_(keys.subquery("x"))
            .group_by("k")
            .order_by("n DESC", "k")
            .limit(self.spec.limit)
        )
        rows = self.fetch(tree, params)
        return EventPropertiesResult(
            event=self.spec.event, results=[PropertyKey(key=k, events=int(n)) for k, n in rows]
        )
