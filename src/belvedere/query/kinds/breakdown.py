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

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlglot import exp

from belvedere.query.fields import check_dimension, text_field
from belvedere.query.goal import Goal
from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, Statement, register
from belvedere.query.sql import EVENT_PERSON, Params, col, fn, parse, parse_select, through_aliases
from belvedere.query.visits import split_by_range
from belvedere.store.schema import VISIT_DIMENSIONS

_PAGE_ENDS = ("entry_page", "exit_page")
SortBy = Literal["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "conversion_rate"]


def _check_dimension(value: str) -> str:
    if value == "page" or value in _PAGE_ENDS:
        return value
    return check_dimension(value)


class BreakdownQuery(DatedQuery):
    kind: Literal["breakdown"] = "breakdown"
    dimension: str = Field(
        description="page, entry_page, exit_page, a field (channel, country…) or properties.<name>."
    )
    goal: Goal | None = Field(
        None,
        description='An event name, or {"page": a path pattern}: the goal whose conversion rate to report.',
    )
    sort_by: SortBy = "visitors"
    limit: int = Field(20, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
    together: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="Other visit-level fields (source, UTM, location, device) broken down in the same pass"
        " over the visits, with a visit-level field as `dimension` and on the first page (offset 0): their"
        " answers (same range, filters, goal, sort_by and limit) are kept, so asking one of them next runs no"
        " SQL. The answer is `dimension`'s alone.",
    )

    _check_dimension = field_validator("dimension")(classmethod(lambda cls, v: _check_dimension(v)))

    @model_validator(mode="after")
    def _together(self) -> BreakdownQuery:
        if not self.together:
            return self
        fields = [self.dimension, *self.together]
        if any(f not in VISIT_DIMENSIONS for f in fields) or len(set(fields)) < len(fields):
            raise ValueError("together: other visit-level fields, with a visit-level dimension")
        if self.offset:
            raise ValueError("together: on the first page only (offset 0)")
        return self


_PAGEVIEW = "event = '$pageview'"
# Event-level dimensions whose values the `visits` table lists per visit: dimension → its list column.
_LISTED = {"page": "pages", "event": "event_names"}


class BreakdownRow(BaseModel):
    value: Any = Field(description="The dimension's value (None: no value).")
    visitors: int
    visits: int
    pageviews: int
    bounce_rate: float | None = Field(description="%")
    visit_duration: float | None = Field(description="Seconds per visit.")
    conversion_rate: float | None = Field(None, description="% of visitors; only with a goal.")


class BreakdownResult(QueryResult):
    kind: Literal["breakdown"] = "breakdown"
    dimension: str
    results: list[BreakdownRow]
    total_values: int = Field(description="Distinct values over every page.")
    limit: int
    offset: int


_ZERO, _ONE = exp.Literal.number(0), exp.Literal.number(1)


@register
class BreakdownRunner(DatedRunner[BreakdownQuery]):
    """Visits are read from the ``visits`` table where it can answer (no filters; the visits wholly inside
    the range); the others are grouped from their events. Both give one row per visit, or per (visit,
    value) for an event-level dimension, and the same aggregate follows."""

    spec_model = BreakdownQuery
    result_model = BreakdownResult

    @property
    def _visit_level(self) -> bool:
        return self.spec.dimension in VISIT_DIMENSIONS or self.spec.dimension in _PAGE_ENDS

    @property
    def _sketched(self) -> bool:
        """Whether distinct people are estimated (``approximate``). Not for paths: a long tail of pages with
        a visitor or two each makes one HyperLogLog sketch per path cost more than the exact count (page
        breakdown, 30 days of 10 M events, 198,971 paths: 926 ms sketched against 471 exact; exit page 170
        against 154)."""
        return self.spec.approximate and self.spec.dimension not in ("page", *_PAGE_ENDS)

    @property
    def _listed(self) -> bool:
        return not self.spec.filters and self.spec.dimension in _LISTED

    @property
    def _marked(self) -> bool:
        """Whether visitors per page are counted from the visits' page marks (see ``store.page_marks``)."""
        return self._listed and self.spec.dimension == "page"

    def _values(self) -> list[tuple[str, str]]:
        """(column, field) of each visit-level value a visit row carries: ``value``, then ``together``'s."""
        return [
            ("value", self.spec.dimension),
            *((f"value_{i}", f) for i, f in enumerate(self.spec.together)),
        ]

    def _event_value(self, params: Params, where: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        """An event-level dimension's value, and the events that carry one (page: the page views)."""
        dimension = self.spec.dimension
        if dimension == "page":
            return col("path"), exp.and_(where, parse(_PAGEVIEW), parse("session_id IS NOT NULL"))
        return text_field(dimension, params), exp.and_(where, parse("session_id IS NOT NULL"))

    def _grouped(self, params: Params, where: exp.Expr) -> exp.Select:
        """One row per visit grouped from its events matching ``where``: its stored person, events, page
        views, duration, whether it reached the goal and (visit-level dimensions) its value."""
        select = parse_select(
            f"SELECT session_id, bv_key64(bv_arg_min({EVENT_PERSON}, timestamp)) AS who, count(*) AS n,"
            f" bv_count_if({_PAGEVIEW}) AS pv,"
            " bv_epoch_ms(max(timestamp)) - bv_epoch_ms(min(timestamp)) AS duration_ms"
            " FROM events WHERE session_id IS NOT NULL GROUP BY session_id"
        )
        converted: exp.Expr = _ZERO.copy()
        if self.spec.goal is not None:
            reached = self.spec.goal.condition(params)
            converted = exp.Max(this=exp.If(this=reached, true=_ONE.copy(), false=_ZERO.copy()))
        select = select.select(converted.as_("converted"))
        dimension = self.spec.dimension
        if dimension in VISIT_DIMENSIONS:
            for name, field in self._values():
                select = select.select(fn("arg_min", col(field), col("timestamp")).as_(name))
        elif dimension in _PAGE_ENDS:
            first = "arg_min" if dimension == "entry_page" else "arg_max"
            when = exp.If(this=parse(_PAGEVIEW), true=col("timestamp"))
            select = select.select(fn(first, col("path"), when).as_("value"))
        return select.where(where)

    def _stored(self, params: Params, inside: exp.Expr) -> exp.Select:
        """The same rows read from the ``visits`` table (``inside``: the visits wholly inside the range);
        for a listed dimension, one row per (visit, value)."""
        select = parse_select(
            "SELECT session_id, bv_key64(person) AS who, events AS n, pageviews AS pv,"
            " bv_epoch_ms(ended_at) - bv_epoch_ms(started_at) AS duration_ms FROM visits"
        ).where(inside)
        converted: exp.Expr = _ZERO.copy()
        if self.spec.goal is not None:
            # The visit lies inside the range, so its event names are those of its events in the range (pages
            # at 30 days of 10 M events: 526 → 485 ms, against a semi-join to the goal's events).
            converted = exp.If(
                this=self.spec.goal.in_visit(params),
                true=_ONE.copy(),
                false=_ZERO.copy(),
            )
        select = select.select(converted.as_("converted"))
        if self._visit_level:
            return select.select(*(col(field).as_(name) for name, field in self._values()))
        if not self._listed:
            return select
        # Unnested outside: the goal's visits are then marked once per visit, not once per (visit, value)
        # row (pages at 30 days of 10 M events: 558 → 516 ms).
        listed = select.select(col(_LISTED[self.spec.dimension]).as_("listed"))
        visit = [col(c) for c in ("session_id", "who", "n", "pv", "duration_ms", "converted")]
        unnested = exp.select(*visit, fn("unnest", col("listed")).as_("value"))
        if not self._marked:
            return unnested.from_(listed.subquery("stored"))
        # Each page with its mark and its page views (lists unnested in step: 44 → 15 ms of CPU against
        # indexing them by position, pages at 30 days of 10 M events), each visit's person found once, before
        # the unnest.
        marked = listed.select(col("pages_before").as_("befores"), col("page_views").as_("views"))
        marks = self._through_people(marked, "listed", "befores", "views")
        return unnested.select(
            fn("marks_beside", col("befores")).as_("before"),
            fn("views_beside", col("views"), col("listed"), col("value")).as_("pv_value"),
            col("exact"),
        ).from_(marks.subquery("stored"))

    @staticmethod
    def _through_people(rows: exp.Select, *more: str) -> exp.Select:
        """Visit rows (with ``more`` columns) whose ``who`` becomes their person through ``people``, with
        whether that person is counted exactly."""
        kept = [col(c, "s") for c in ("session_id", "n", "pv", "duration_ms", "converted", *more)]
        return (
            exp.select(*kept)
            .select(parse("coalesce(m.person, s.who)").as_("who"), parse("coalesce(m.exact, 0)").as_("exact"))
            .from_(rows.subquery("s"))
            .join(exp.to_table("people").as_("m"), on=parse("m.who = s.who"), join_type="left")
        )

    def _with_values(self, params: Params, visits: exp.Select, where: exp.Expr) -> exp.Select:
        """Visit rows joined to the values their events (matching ``where``) carry: one row per pair (for
        page marks, with the page's page views in the visit)."""
        if self._marked:
            pairs = self._per_value(params, where)
        else:
            value, carrying = self._event_value(params, where)
            pairs = exp.select("session_id", value.as_("value")).distinct().from_("events").where(carrying)
        rows = (
            exp.select(*(col(c, "v") for c in ("session_id", "who", "n", "pv", "duration_ms", "converted")))
            .select(col("value", "x"))
            .from_((self._through_people(visits) if self._marked else visits).subquery("v"))
            .join(pairs.subquery("x"), on=parse("x.session_id = v.session_id"), join_type="inner")
        )
        if not self._marked:
            return rows
        # No marks for these: their people are counted exactly (`_exact_people`).
        return rows.select(exp.Null().as_("before"), col("pv_value", "x"), col("exact", "v"))

    def _visits(self, params: Params, where: exp.Expr) -> exp.Select:
        """The visit rows, each with its person read through the alias links (once per visit, not per
        event) as a person key: a breakdown only counts people, and grouping a month of (page, person) pairs
        by an integer rather than by the id's text takes a third less time."""
        rows: exp.Query
        if self.spec.filters:
            rows = self._grouped(params, where)
        else:
            inside, in_events = self._split(params, where)
            regrouped = self._grouped(params, in_events)
            if self._listed:
                regrouped = self._with_values(params, regrouped, in_events.copy())
            rows = exp.union(self._stored(params, inside), regrouped, distinct=False)
        if self._marked:  # read through the alias links with the exact people (`_people`)
            return exp.select("*").from_(rows.subquery("r"))
        base, person = through_aliases(rows, keyed=True)
        return base.select("r.*", person.as_("person"))

    def _split(self, params: Params, where: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        """The visits read as stored (a condition on `visits`), and the events of those grouped again (on
        `events`): the visits that cross the range's ends, and those the stored row cannot answer for."""
        split = split_by_range(params, self.range)
        inside = split.inside.copy()
        again = split.regroup()
        if self._listed and self.spec.dimension == "page":
            # A page view without a path is in no list: such visits are grouped from their events too.
            again = split.regroup(also=parse("pathless_pageviews > 0"))
            inside = exp.and_(inside, parse("pathless_pageviews = 0"))
        return inside, exp.and_(where.copy(), again)

    @staticmethod
    def _people() -> exp.Query:
        """Stored person keys (``who``) → their person and whether that person is counted exactly, for the
        ids that are aliases or people of ``exact_people``; any other id is its own person, counted from
        the marks. One join of the (visit, page) rows instead of two."""
        return exp.union(
            parse_select(
                "SELECT pa.alias AS who, pa.person_id AS person,"
                " CASE WHEN x.person IS NULL THEN 0 ELSE 1 END AS exact"
                " FROM (SELECT bv_key64(alias) AS alias, bv_key64(person_id) AS person_id"
                " FROM person_aliases) AS pa"
                " LEFT JOIN exact_people AS x ON x.person = pa.person_id"
            ),
            parse_select(
                "SELECT x.person AS who, x.person AS person, 1 AS exact FROM exact_people AS x"
                " LEFT JOIN (SELECT bv_key64(alias) AS alias FROM person_aliases) AS pa"
                " ON pa.alias = x.person WHERE pa.alias IS NULL"
            ),
            distinct=False,
        )

    def _exact_people(self, params: Params, where: exp.Expr) -> exp.Select:
        """The people (keys) whose page marks cannot be trusted for this range, counted exactly instead:
        those of the visits grouped again from their events and of the unmarked visits (as the alias links
        now say, and whom the marks were for before), and the ids of alias links changed since marking (as
        themselves and as their person now). See ``store.page_marks``."""
        overlaps = split_by_range(params, self.range)
        unmarked = exp.and_(
            exp.or_(overlaps.inside.copy(), overlaps.crossing.copy()), parse("NOT bv_marked(pages_before)")
        )
        _, in_events = self._split(params, where)
        whose = [
            self._grouped(params, in_events),
            parse_select("SELECT bv_key64(person) AS who FROM visits").where(unmarked),
            parse_select("SELECT bv_key64(person) AS who FROM remark_people"),
        ]
        people: list[exp.Query] = [
            parse_select("SELECT bv_key64(marked_for) AS person FROM visits").where(unmarked.copy()),
            parse_select("SELECT bv_key64(person) AS person FROM remark_people"),
        ]
        for rows in whose:
            base, person = through_aliases(rows, keyed=True)
            people.append(base.select(person.as_("person")))
        union: exp.Query = people[0]
        for more in people[1:]:
            union = exp.union(union, more, distinct=False, copy=False)
        return (
            exp.select(col("person")).distinct().from_(union.subquery("e")).where(parse("person IS NOT NULL"))
        )

    def _per_value(self, params: Params, where: exp.Expr) -> exp.Select:
        """For event-level dimensions: one row per (visit, value) with the value's own page views."""
        value, carrying = self._event_value(params, where)
        return (
            exp.select(
                col("session_id"), value.as_("value"), parse(f"bv_count_if({_PAGEVIEW})").as_("pv_value")
            )
            .from_("events")
            .where(carrying)
            .group_by("session_id", "value")
        )

    def _pageviews(self, params: Params, where: exp.Expr) -> exp.Select:
        """For listed dimensions without page marks (event names): each value's key, text and page views,
        straight from the events (pages read theirs from the visits, see ``_stored``)."""
        value, carrying = self._event_value(params, where)
        key = fn("key64", value)
        return (
            exp.select(
                key.as_("pv_key"),
                exp.AnyValue(this=value.copy()).as_("pv_value"),
                parse(f"bv_count_if({_PAGEVIEW})").as_("pv_count"),
            )
            .from_("events")
            .where(carrying)
            .group_by(key.copy())
        )

    def _count_values(self) -> int:
        """How many values there are, when the page asked for lies past the last one."""
        if self.spec.offset == 0:
            return 0
        first_page = self.spec.model_copy(update={"offset": 0, "limit": 1})
        first = BreakdownRunner(first_page, self.ctx)
        rows = first.fetch_ranged("", first._tree, first.range)
        return int(rows[0][-1]) if rows else 0

    def _grouped_by_value(self, rows: exp.Select) -> exp.Select:
        """The metrics per value of ``rows`` (value, person, n, pv, duration_ms, converted, pv_value).

        For an event-level dimension, exact counts group by (value, person) first and count people in a
        second step: one hash table rather than a distinct set per value for each of visitors and converted
        visitors (at 30 days of 10 M events, pages: 690 ms → 520 ms). A visit-level dimension has one value
        per visit and few values: the distinct counts are cheaper there."""
        goal = self.spec.goal is not None
        bounce = "bv_count_if(r.n = 1 AND r.pv = 1)"
        if self._sketched or self._visit_level:
            uniq = "bv_uniq_approx" if self._sketched else "bv_uniq_exact"
            conversion = f"{uniq}(CASE WHEN r.converted = 1 THEN r.person END) * 100.0 / {uniq}(r.person)"
            return parse_select(
                f"SELECT r.value AS value, {uniq}(r.person) AS visitors, count(*) AS visits,"
                f" sum(r.pv_value) AS pageviews, {bounce} * 100.0 / count(*) AS bounce_rate,"
                " avg(r.duration_ms) / 1000.0 AS visit_duration,"
                f" {conversion if goal else 'NULL'} AS conversion_rate FROM rows AS r GROUP BY r.value"
            ).with_("rows", as_=rows)
        per_person = parse_select(
            "SELECT r.value AS value, r.person AS person, count(*) AS visits, sum(r.pv_value) AS pageviews,"
            f" {bounce} AS bounces, sum(r.duration_ms) AS duration_ms, max(r.converted) AS converted"
            " FROM rows AS r GROUP BY r.value, r.person"
        )
        conversion = "bv_count_if(p.converted = 1 AND p.person IS NOT NULL) * 100.0 / count(p.person)"
        return (
            parse_select(
                "SELECT p.value AS value, count(p.person) AS visitors, sum(p.visits) AS visits,"
                " sum(p.pageviews) AS pageviews, sum(p.bounces) * 100.0 / sum(p.visits) AS bounce_rate,"
                " sum(p.duration_ms) / sum(p.visits) / 1000.0 AS visit_duration,"
                f" {conversion if goal else 'NULL'} AS conversion_rate FROM per_person AS p GROUP BY p.value"
            )
            .with_("rows", as_=rows)
            .with_("per_person", as_=per_person)
        )

    def _counted_by_marks(self, rows: exp.Select, params: Params) -> exp.Select:
        """The metrics per page of ``rows`` (value, page, pv_value, person, n, pv, duration_ms, converted,
        before, exact), visitors counted from the page marks: a person whose marks hold counts at the visit
        whose mark for the page is empty or before the range's start; the others (``exact``) once per (page,
        person) group.

        Two groupings of the rows, kept once (`MATERIALIZED`): by page alone for what needs no person, and by
        (page, person) only for the few rows that need a distinct count (people counted exactly, and
        converted visits for the goal's rate). Breakdown by page, 30 days of 10 M events: 2,334,334 rows,
        of which 177,435 go to the second grouping; 357 → 279 ms of SQL with the page views read from the
        visits, against one grouping by (page, person where needed) and the page views of the range's
        events. Not kept: that one grouping with the page views from the visits (349 ms); the distinct
        people gathered as lists in one grouping by page (350 against 317 ms); page keys stored per visit
        with the text from a table of page names (this form: 272 against 288 ms, too little for a new table;
        in one grouping: 326); per-day page totals for the whole days of the range (17 % less, prototyped:
        grouping the range's ~200,000 distinct pages is most of the cost, see docs/benchmarks.md)."""
        start = params.bind(self.range.start)
        first = exp.and_(
            parse("r.exact = 0 AND r.person IS NOT NULL"),
            exp.or_(parse("r.before IS NULL"), exp.LT(this=col("before", "r"), expression=start)),
        )
        per_value = parse_select(
            "SELECT r.value AS value, ANY_VALUE(r.page) AS page, sum(r.pv_value) AS pageviews,"
            " count(*) AS visits, bv_count_if(r.n = 1 AND r.pv = 1) AS bounces,"
            " sum(r.duration_ms) AS duration_ms FROM rows AS r GROUP BY r.value"
        ).select(fn("count_if", first).as_("firsts"))
        per_person = parse_select(
            "SELECT p.value AS value, bv_count_if(p.exact = 1) AS exacts,"
            " bv_count_if(p.converted = 1) AS converts FROM (SELECT r.value AS value, r.person AS person,"
            " max(r.exact) AS exact, max(r.converted) AS converted FROM rows AS r"
            " WHERE (r.exact = 1 OR r.converted = 1) AND r.person IS NOT NULL"
            " GROUP BY r.value, r.person) AS p GROUP BY p.value"
        )
        visitors = "(g.firsts + coalesce(p.exacts, 0))"
        conversion = f"coalesce(p.converts, 0) * 100.0 / {visitors}"
        return (
            parse_select(
                f"SELECT g.page AS value, {visitors} AS visitors, g.visits AS visits,"
                " g.pageviews AS pageviews, g.bounces * 100.0 / g.visits AS bounce_rate,"
                " g.duration_ms / g.visits / 1000.0 AS visit_duration,"
                f" {conversion if self.spec.goal is not None else 'NULL'} AS conversion_rate"
                " FROM per_value AS g"
            )
            .join(
                "per_person AS p",
                on=exp.NullSafeEQ(this=col("value", "p"), expression=col("value", "g")),
                join_type="left",
            )
            .with_("rows", as_=rows, materialized=True)
            .with_("per_value", as_=per_value)
            .with_("per_person", as_=per_person)
        )

    def _tree(self) -> tuple[exp.Select, Params]:
        params = Params()
        where = exp.and_(*self.where(params))
        visits = self._visits(params, where)
        if self.spec.together:
            return self._together_tree(visits), params
        visit_columns = "v.person AS person, v.n AS n, v.pv AS pv, v.duration_ms AS duration_ms, v.converted"
        if self._visit_level:
            rows = parse_select(
                f"SELECT v.value AS value, {visit_columns} AS converted, v.pv AS pv_value"
                " FROM visit_rows AS v"
            )
        elif self._marked:
            rows = parse_select(
                "SELECT bv_key64(v.value) AS value, v.value AS page, v.pv_value AS pv_value, v.who AS person,"
                " v.n AS n, v.pv AS pv, v.duration_ms AS duration_ms, v.converted AS converted,"
                " v.before AS before, v.exact AS exact FROM visit_rows AS v"
            )
        elif self._listed:
            # Grouped by the value's 64-bit key, not its text (pages: 580 → 543 ms at 30 days of 10 M
            # events); the text and the page views per value come from the events further down.
            rows = parse_select(
                f"SELECT bv_key64(v.value) AS value, {visit_columns} AS converted, 0 AS pv_value"
                " FROM visit_rows AS v"
            )
        else:
            rows = parse_select(
                f"SELECT x.value AS value, {visit_columns} AS converted, x.pv_value AS pv_value"
                " FROM visit_rows AS v"
            ).join(
                self._per_value(params, where.copy()).subquery("x"),
                on=parse("x.session_id = v.session_id"),
                join_type="inner",
            )
        from_events = self._listed and not self._marked  # the text and page views of each value
        value, pageviews = ("p.pv_value", "p.pv_count") if from_events else ("g.value", "g.pageviews")
        tree = parse_select(
            f"SELECT {value} AS value, g.visitors AS visitors, g.visits AS visits, {pageviews} AS pageviews,"
            " g.bounce_rate AS bounce_rate, g.visit_duration AS visit_duration,"
            " g.conversion_rate AS conversion_rate, count(*) OVER () AS total_values"
        )
        if self._marked:
            tree.from_(self._counted_by_marks(rows, params).subquery("g", copy=False), copy=False)
            tree.with_("exact_people", as_=self._exact_people(params, where.copy()), copy=False)
            tree.with_("people", as_=self._people(), copy=False)
        else:
            tree.from_(self._grouped_by_value(rows).subquery("g", copy=False), copy=False)
        if from_events:
            tree.join(
                self._pageviews(params, where.copy()).subquery("p", copy=False),
                on=exp.NullSafeEQ(this=col("value", "g"), expression=col("pv_key", "p")),
                join_type="inner",
                copy=False,
            )
        # The tree is this method's own: built on in place (each builder's copy of the whole tree cost a cold
        # page breakdown ~100 ms of Python).
        tree.with_("visit_rows", as_=visits, copy=False)
        tree.order_by(f"{self.spec.sort_by} DESC", "value", dialect="duckdb", copy=False)
        tree.limit(self.spec.limit, copy=False).offset(self.spec.offset, copy=False)
        return tree, params

    def _together_tree(self, visits: exp.Select) -> exp.Select:
        """``together``: each field's values grouped from the same visit rows, kept once (``MATERIALIZED``),
        each field's first page ranked as ``_tree`` orders it: (field's index, the row, its place)."""
        parts = []
        for i, (name, _) in enumerate(self._values()):
            rows = parse_select(
                f"SELECT v.{name} AS value, v.person AS person, v.n AS n, v.pv AS pv,"
                " v.duration_ms AS duration_ms, v.converted AS converted, v.pv AS pv_value"
                " FROM visit_rows AS v"
            )
            ranked = parse_select(
                f"SELECT {i} AS field_index, g.value AS value, g.visitors AS visitors, g.visits AS visits,"
                " g.pageviews AS pageviews, g.bounce_rate AS bounce_rate, g.visit_duration AS visit_duration,"
                " g.conversion_rate AS conversion_rate, count(*) OVER () AS total_values,"
                f" row_number() OVER (ORDER BY g.{self.spec.sort_by} DESC, g.value) AS place"
            ).from_(self._grouped_by_value(rows).subquery("g"))
            first_page = exp.LTE(this=col("place"), expression=exp.Literal.number(self.spec.limit))
            parts.append(exp.select("*").from_(ranked.subquery(f"f{i}")).where(first_page))
        union: exp.Query = parts[0]
        for part in parts[1:]:
            union = exp.union(union, part, distinct=False, copy=False)
        return exp.select("*").from_(union.subquery("u")).with_("visit_rows", as_=visits, materialized=True)

    def statements(self) -> list[Statement]:
        return [("", self._tree)]

    def _kept(self, field: str) -> str:
        """The name a ``together`` answer for ``field`` is kept under (``remember``: with the range and the
        filters): everything else that decides it."""
        same = self.spec.model_dump_json(
            exclude={"dimension", "together", "date_from", "date_to", "filters", "approximate"}
        )
        return f"breakdown {field} {same}"

    def calculate(self) -> BreakdownResult:
        kept = self.recall(self._kept(self.spec.dimension), self.range)
        if isinstance(kept, BreakdownResult):  # broken down beside another field (``together``)
            return kept.model_copy()
        rows = self.fetch_ranged("", self._tree, self.range)
        if self.spec.together:
            return self._together(rows)
        return self._result(self.spec.dimension, rows, rows[0][-1] if rows else self._count_values())

    def _together(self, rows: list[tuple[Any, ...]]) -> BreakdownResult:
        answers = []
        for i, (_, field) in enumerate(self._values()):
            mine = sorted((r for r in rows if int(r[0]) == i), key=lambda r: int(r[-1]))
            answers.append(self._result(field, [r[1:-1] for r in mine], mine[0][-2] if mine else 0))
        for answer in answers[1:]:
            self.remember(self._kept(answer.dimension), self.range, answer)
        return answers[0]

    def _result(self, dimension: str, rows: list[tuple[Any, ...]], total: Any) -> BreakdownResult:
        results = []
        for value, visitors, visits, pageviews, bounce_rate, duration, conversion, _ in rows:
            # Rounded here, not in SQL: the engines round halves differently, and stats rounds in Python.
            item = BreakdownRow(
                value=value,
                visitors=int(visitors or 0),
                visits=int(visits or 0),
                pageviews=int(pageviews or 0),
                bounce_rate=_rounded(bounce_rate, 2),
                visit_duration=_rounded(duration, 1),
            )
            if self.spec.goal is not None:
                item.conversion_rate = _rounded(conversion, 2)
            results.append(item)
        return BreakdownResult(
            dimension=dimension,
            results=results,
            total_values=int(total),
            limit=self.spec.limit,
            offset=self.spec.offset,
        )


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
