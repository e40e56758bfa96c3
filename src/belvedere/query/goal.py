"""A goal — what counts as a conversion: an event by name (``"signup"``, as queries always took it), or a
view of the pages a path pattern matches (``{"page": "/blog/*"}``).

In a pattern, ``*`` stands for any characters but ``/`` and ``**`` for any characters at all; the rest is
literal and the whole path must match (``/blog/*`` matches ``/blog/one``, not ``/blog/one/two``). The
pattern becomes a bound regular expression (RE2 in both engines): never SQL text.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator
from sqlglot import exp

from belvedere.query.sql import Params, col, fn

PAGEVIEW = "$pageview"


def page_regex(pattern: str) -> str:
    """The anchored regular expression of a path pattern."""
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return f"^{body}$"


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str | None = Field(None, min_length=1, max_length=200, description="An event's name.")
    page: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="A path pattern of page views: `*` any characters but `/`, `**` any characters.",
    )

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        return {"event": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_of(self) -> Goal:
        if (self.event is None) == (self.page is None):
            raise ValueError("a goal is an event name, or {'page': a path pattern}: one of them")
        if self.page is not None and not self.page.startswith("/"):
            raise ValueError("a page goal's pattern is a path: it starts with '/'")
        return self

    @model_serializer(mode="wrap")
    def _plain(self, handler: Any) -> Any:
        """An event goal is written as its name, as queries always wrote it."""
        return self.event if self.page is None else {"page": self.page}

    @property
    def label(self) -> str:
        return f"Visit {self.page}" if self.page is not None else str(self.event)

    def condition(self, params: Params, table: str | None = None) -> exp.Expr:
        """The events that reach the goal."""
        if self.page is None:
            return exp.EQ(this=col("event", table), expression=params.bind(self.event))
        return exp.and_(
            exp.EQ(this=col("event", table), expression=params.bind(PAGEVIEW)),
            fn("regex_match", col("path", table), params.bind(page_regex(self.page))),
        )

    def in_visit(self, params: Params) -> exp.Expr:
        """Whether a row of the ``visits`` table reached the goal (its event names, or its pages)."""
        if self.page is None:
            return fn("has", col("event_names"), params.bind(self.event))
        return fn("any_matches", col("pages"), params.bind(page_regex(self.page)))
