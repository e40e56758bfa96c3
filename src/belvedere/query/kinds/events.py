"""``events``: the latest raw events of the range, newest first, with their properties — what the events
explorer lists, each linked to its person."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field
from sqlglot import exp

from belvedere.query.kinds.users import _iso
from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, register
from belvedere.query.sql import Params, col

# What each listed event carries besides its time and properties (the typed columns people read).
SHOWN = (
    "event",
    "person_id",
    "distinct_id",
    "session_id",
    "url",
    "path",
    "referrer_domain",
    "channel",
    "country",
    "city",
    "browser",
    "os",
    "device_type",
    "revenue",
)


class EventsQuery(DatedQuery):
    kind: Literal["events"] = "events"
    date_from: str = "-7d"
    event: str | None = Field(None, max_length=200, description="Only events of this name; omit for all.")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000, description="Events to skip, newest first (paging).")


class RawEvent(BaseModel):
    timestamp: str | None = Field(description="UTC, ISO 8601.")
    event: str
    person_id: str | None
    distinct_id: str | None
    session_id: str | None
    url: str | None
    path: str | None
    referrer_domain: str | None
    channel: str | None
    country: str | None
    city: str | None
    browser: str | None
    os: str | None
    device_type: str | None
    revenue: float | None
    properties: dict[str, Any]


class EventsResult(QueryResult):
    kind: Literal["events"] = "events"
    results: list[RawEvent]
    more: bool = Field(description="True when older events match too (ask again with a larger offset).")


@register
class EventsRunner(DatedRunner[EventsQuery]):
    spec_model = EventsQuery
    result_model = EventsResult

    def calculate(self) -> EventsResult:
        params = Params()
        where = self.where(params)
        if self.spec.event is not None:
            where.append(exp.EQ(this=col("event"), expression=params.bind(self.spec.event)))
        tree = (
            exp.select(col("timestamp"), *(col(name) for name in SHOWN), col("properties"))
            .from_("events")
            .where(exp.and_(*where))
            # The id breaks ties between events of one millisecond, so pages neither repeat nor skip one.
            .order_by("timestamp DESC", "uuid DESC", dialect="duckdb")
            .limit(self.spec.limit + 1)
            .offset(self.spec.offset)
        )
        rows = self.fetch(tree, params)
        results = [_event(row) for row in rows[: self.spec.limit]]
        return EventsResult(results=results, more=len(rows) > self.spec.limit)


def _event(row: tuple[Any, ...]) -> RawEvent:
    stamp: datetime | None = row[0]
    fields = dict(zip(SHOWN, row[1:-1], strict=True))
    revenue = fields.pop("revenue")
    return RawEvent(
        timestamp=_iso(stamp),
        **{k: None if v is None else str(v) for k, v in fields.items()},
        revenue=None if revenue is None else float(revenue),
        properties=_properties(row[-1]),
    )


def _properties(raw: Any) -> dict[str, Any]:
    """The stored JSON object (DuckDB: text or NULL; ClickHouse: text, empty when there is none)."""
    if not raw:
        return {}
    parsed = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return parsed if isinstance(parsed, dict) else {}
