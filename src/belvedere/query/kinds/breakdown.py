"""``breakdown``: one dimension's values with visitors, visits, pageviews, bounce rate, visit duration and
the conversion rate of an optional goal, sorted and paginated.

Two kinds of dimension:
- visit-level (source, UTM, location, device): a visit counts under the first value its events carry (an
  event without one, such as a server-side event, does not blank it); entry and exit page: the path of its
  first or last page view;
- event-level (page, any other field or property): a visit counts under every value its events carry, and
  the page views are those of the value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from sqlglot import exp

from belvedere.query.fields import check_dimension, text_field
from belvedere.query.runner import DatedQuery, DatedRunner, register
from belvedere.query.sql import EVENT_PERSON, Params, col, fn, parse, parse_select, through_aliases
from belvedere.store.schema import SOURCE_COLUMNS

# The visit's attribution (shared by its events) and what stays the same within a visit.
_VISIT_LEVEL = {
    *SOURCE_COLUMNS,
    "country",
    "region",
    "city",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "screen",
    "locale",
}
SortBy = Literal["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "conversion_rate"]


def _check_dimension(value: str) -> str:
    if value in ("page", "entry_page", "exit_page"):
        return value
    return check_dimension(value)


class BreakdownQuery(DatedQuery):
    kind: Literal["breakdown"] = "breakdown"
    dimension: str = Field(
        description="page, entry_page, exit_page, a field (channel, country…) or properties.<name>."
    )
    goal: str | None = Field(None, max_length=200, description="Event whose conversion rate to report.")
    sort_by: SortBy = "visitors"
    limit: int = Field(20, ge=1, le=1000)
    offset: int = Field(0, ge=0)

    _check_dimension = field_validator("dimension")(classmethod(lambda cls, v: _check_dimension(v)))


_PAGEVIEW = "event = '$pageview'"


@register
class BreakdownRunner(DatedRunner[BreakdownQuery]):
    kind = "breakdown"
    spec_model = BreakdownQuery

    def _visits(self, params: Params, where: exp.Expr) -> exp.Select:
        """One row per visit: its person, events, page views, duration and whether it reached the goal."""
        select = parse_select(
            f"SELECT session_id, bv_arg_min({EVENT_PERSON}, timestamp) AS who, count(*) AS n,"
            f" bv_count_if({_PAGEVIEW}) AS pv,"
            " bv_epoch_ms(max(timestamp)) - bv_epoch_ms(min(timestamp)) AS duration_ms"
            " FROM events WHERE session_id IS NOT NULL GROUP BY session_id"
        )
        converted: exp.Expr = exp.Literal.number(0)
        if self.spec.goal is not None:
            reached = exp.EQ(this=col("event"), expression=params.bind(self.spec.goal))
            converted = exp.Max(
                this=exp.If(this=reached, true=exp.Literal.number(1), false=exp.Literal.number(0))
            )
        select = select.select(converted.as_("converted"))
        dimension = self.spec.dimension
        if dimension in _VISIT_LEVEL:
            select = select.select(fn("arg_min", col(dimension), col("timestamp")).as_("value"))
        elif dimension in ("entry_page", "exit_page"):
            first = "arg_min" if dimension == "entry_page" else "arg_max"
            when = exp.If(this=parse(_PAGEVIEW), true=col("timestamp"))
            select = select.select(fn(first, col("path"), when).as_("value"))
        # The visit's person, read through the alias links once per visit rather than once per event.
        base, person = through_aliases(select.where(where))
        return base.select("r.*", person.as_("person"))

    def _per_value(self, params: Params, where: exp.Expr) -> exp.Select:
        """For event-level dimensions: one row per (visit, value) with the value's own page views."""
        dimension = self.spec.dimension
        value = col("path") if dimension == "page" else text_field(dimension, params)
        extra = (
            [exp.EQ(this=col("event"), expression=exp.Literal.string("$pageview"))]
            if dimension == "page"
            else []
        )
        return (
            exp.select(
                col("session_id"), value.as_("value"), parse(f"bv_count_if({_PAGEVIEW})").as_("pv_value")
            )
            .from_("events")
            .where(exp.and_(where, *extra, parse("session_id IS NOT NULL")))
            .group_by("session_id", "value")
        )

    def _count_values(self) -> int:
        """How many values there are, when the page asked for lies past the last one."""
        if self.spec.offset == 0:
            return 0
        first_page = self.spec.model_copy(update={"offset": 0, "limit": 1})
        rows = self.fetch(*BreakdownRunner(first_page, self.ctx)._tree())
        return int(rows[0][-1]) if rows else 0

    def _tree(self) -> tuple[exp.Select, Params]:
        params = Params()
        where = exp.and_(*self.where(params))
        visits = self._visits(params, where)
        visit_level = self.spec.dimension in _VISIT_LEVEL or self.spec.dimension in (
            "entry_page",
            "exit_page",
        )
        pageviews = "sum(v.pv)" if visit_level else "sum(x.pv_value)"
        value = "v.value" if visit_level else "x.value"
        # Without a goal there is no conversion rate to count: a second exact distinct count per value
        # would cost as much as the visitors' own.
        conversion = (
            f"{self.uniq}(CASE WHEN v.converted = 1 THEN v.person END) * 100.0 / {self.uniq}(v.person)"
            if self.spec.goal is not None
            else "NULL"
        )
        tree = parse_select(
            f"SELECT {value} AS value, {self.uniq}(v.person) AS visitors, count(*) AS visits,"
            f" {pageviews} AS pageviews,"
            " bv_count_if(v.n = 1 AND v.pv = 1) * 100.0 / count(*) AS bounce_rate,"
            " avg(v.duration_ms) / 1000.0 AS visit_duration,"
            f" {conversion} AS conversion_rate,"
            " count(*) OVER () AS total_values"
            " FROM visit_rows AS v"
        )
        if not visit_level:
            tree = tree.join(
                exp.to_table("per_value").as_("x"), on=parse("x.session_id = v.session_id"), join_type="inner"
            ).with_("per_value", as_=self._per_value(params, where.copy()))
        tree = (
            tree.with_("visit_rows", as_=visits)
            .group_by(value)
            .order_by(f"{self.spec.sort_by} DESC", "value", dialect="duckdb")
            .limit(self.spec.limit)
            .offset(self.spec.offset)
        )
        return tree, params

    def calculate(self) -> dict[str, Any]:
        rows = self.fetch(*self._tree())
        columns = (
            "value",
            "visitors",
            "visits",
            "pageviews",
            "bounce_rate",
            "visit_duration",
            "conversion_rate",
        )
        results = []
        for row in rows:
            item = dict(zip(columns, row[:-1], strict=True))
            for key in ("visitors", "visits", "pageviews"):
                item[key] = int(item[key] or 0)
            # Rounded here, not in SQL: the engines round halves differently, and stats rounds in Python.
            for key, digits in (("bounce_rate", 2), ("visit_duration", 1), ("conversion_rate", 2)):
                item[key] = round(float(item[key]), digits) if item[key] is not None else None
            if self.spec.goal is None:
                del item["conversion_rate"]
            results.append(item)
        return {
            "kind": "breakdown",
            "dimension": self.spec.dimension,
            "results": results,
            "total_values": int(rows[0][-1]) if rows else self._count_values(),
            "limit": self.spec.limit,
            "offset": self.spec.offset,
        }
