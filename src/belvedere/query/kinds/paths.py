"""``paths``: the most frequent sequences of pages (or events) within a visit, after a start point or before
an end point, as nodes and weighted edges for a Sankey diagram.

A visit's items are its page paths (or event names) in time order, with immediate repeats folded (a reload
is not a step). Step 1 is the first item of the visit, or the first occurrence of ``start`` in it; with
``end``, the steps count backwards from the last occurrence of ``end`` (step 1 is ``end`` itself). Edges
join step k to step k + 1 of the same visit; each weight is a number of visits.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlglot import exp

from belvedere.query.runner import DatedQuery, DatedRunner, QueryResult, register
from belvedere.query.sql import Params, col, fn, parse, parse_select
from belvedere.query.visits import split_by_range


class PathsQuery(DatedQuery):
    kind: Literal["paths"] = "paths"
    path_type: Literal["pages", "events"] = "pages"
    start: str | None = Field(None, max_length=2000, description="Page path or event the paths start at.")
    end: str | None = Field(None, max_length=2000, description="Page path or event the paths lead to.")
    depth: int = Field(5, ge=2, le=5, description="Steps per path, the start or end included.")
    limit: int = Field(50, ge=1, le=500, description="Most edges returned, heaviest first.")

    @model_validator(mode="after")
    def _one_anchor(self) -> PathsQuery:
        if self.start is not None and self.end is not None:
            raise ValueError("give start or end, not both")
        return self


class PathNode(BaseModel):
    id: str = Field(description="``<step>_<name>``: a name can appear at several steps.")
    step: int
    name: str
    visits: int


class PathEdge(BaseModel):
    source: str
    target: str
    visits: int


class PathsResult(QueryResult):
    kind: Literal["paths"] = "paths"
    direction: Literal["before", "after"]
    nodes: list[PathNode]
    edges: list[PathEdge]


@register
class PathsRunner(DatedRunner[PathsQuery]):
    spec_model = PathsQuery
    result_model = PathsResult

    def _items(self, params: Params) -> exp.Query:
        """(visit, item, n, next_item, prev_item): each visit's items numbered in time order, repeats
        folded, each with its neighbours — so edges come from single rows, with no self-join.

        Page paths without filters come from the ``visits`` table, whose ``page_seq`` keeps each visit's page
        views in order: folded and numbered by list functions, with no sort of a month's page views (30 days
        of 10 M events: 1,076 → 539 ms, see docs/benchmarks.md). Visits that cross the range's ends are
        ordered from their events in the range.

        ``visit`` is a 64-bit hash of the session id: the windows partition by an integer, not a 36-character
        text (a quarter faster; two visits of one query share a key with a probability of about n²/2⁶⁵)."""
        where = [*self.where(params), parse("session_id IS NOT NULL")]
        if self.spec.path_type != "pages" or self.spec.filters:
            return self._numbered(self._from_events(where))
        split = split_by_range(params, self.range)
        folded = (
            exp.select("session_id", fn("folded_paths", col("page_seq")).as_("folded"))
            .from_("visits")
            .where(split.inside.copy())
        )
        positions = exp.select("session_id", "folded", fn("each_position", col("folded")).as_("i")).from_(
            folded.subquery("f")
        )
        stored = exp.select(
            fn("key64", col("session_id")).as_("visit"),
            fn("at", col("folded"), col("i")).as_("item"),
            col("i").as_("n"),
            exp.If(
                this=exp.LT(this=col("i"), expression=fn("list_len", col("folded"))), true=self._at(1)
            ).as_("next_item"),
            exp.If(this=parse("i > 1"), true=self._at(-1)).as_("prev_item"),
        ).from_(positions.subquery("s"))
        crossing = self._numbered(self._from_events([*where, split.regroup()]))
        return exp.union(stored, crossing, distinct=False)

    @staticmethod
    def _at(offset: int) -> exp.Expr:
        """The folded list's item ``offset`` places from the current one."""
        return fn("at", col("folded"), parse(f"i + {offset}"))

    @staticmethod
    def _numbered(ordered: exp.Select) -> exp.Select:
        """(visit, item, n, next_item, prev_item) from ``ordered`` (visit, ord, item, prev) rows: repeats
        folded, then numbered."""
        window = "PARTITION BY visit ORDER BY ord"
        return parse_select(
            f"SELECT visit, item, row_number() OVER ({window}) AS n,"
            f" bv_next_row(item) OVER ({window} ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING) AS next_item,"
            f" bv_prev_row(item) OVER ({window} ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS prev_item"
        ).from_(
            exp.select("*").from_(ordered.subquery("r")).where("prev IS NULL OR prev <> item").subquery("f")
        )

    def _from_events(self, where: list[exp.Expr]) -> exp.Select:
        """(visit, ord, item, prev) from the events matching ``where``, ordered by time, then item."""
        item = col("path") if self.spec.path_type == "pages" else col("event")
        if self.spec.path_type == "pages":
            where = [*where, parse("event = '$pageview'"), parse("path IS NOT NULL")]
        raw = (
            exp.select(fn("key64", col("session_id")).as_("visit"), "timestamp", item.as_("item"))
            .from_("events")
            .where(exp.and_(*where))
        )
        window = "PARTITION BY visit ORDER BY timestamp, item"
        return parse_select(
            f"SELECT visit, row_number() OVER ({window}) AS ord, item, bv_prev_row(item) OVER ({window}"
            " ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS prev"
        ).from_(raw.subquery("raw_items"))

    def _tree(self, params: Params) -> exp.Select:
        """(step, item, following, visits): how many visits have ``item`` at ``step`` followed by
        ``following`` at step + 1 (NULL: the path ends there, or the next step is past the depth)."""
        depth = self.spec.depth
        if self.spec.end is not None:
            anchor = parse_select("SELECT visit, max(n) AS a FROM items GROUP BY visit").where(
                exp.EQ(this=col("item"), expression=params.bind(self.spec.end))
            )
            step, neighbour = "a.a - i.n + 1", "i.prev_item"
            window = f"i.n <= a.a AND i.n > a.a - {depth}"
        elif self.spec.start is not None:
            anchor = parse_select("SELECT visit, min(n) AS a FROM items GROUP BY visit").where(
                exp.EQ(this=col("item"), expression=params.bind(self.spec.start))
            )
            step, neighbour = "i.n - a.a + 1", "i.next_item"
            window = f"i.n >= a.a AND i.n < a.a + {depth}"
        else:  # every visit, from its first item: no anchor to look up
            return (
                parse_select(
                    f"SELECT n AS step, item, CASE WHEN n < {depth} THEN next_item END AS following,"
                    " count(*) AS visits FROM items GROUP BY step, item, following"
                )
                .where(f"n <= {depth}")
                .with_("items", as_=self._items(params))
            )
        return (
            parse_select(
                f"SELECT {step} AS step, i.item AS item,"
                f" CASE WHEN {step} < {depth} THEN {neighbour} END AS following, count(*) AS visits"
                " FROM items AS i"
            )
            .join(anchor.subquery("a"), on=parse("a.visit = i.visit"), join_type="inner")
            .where(window)
            .group_by("step", "item", "following")
            .with_("items", as_=self._items(params))
        )

    def _ranked(self, params: Params) -> exp.Query:
        """The heaviest ``limit`` edges (kind 'edge') and the visits of every node they touch — or of every
        first step, when anchored (kind 'node'). Ranked in SQL: a month of a busy site has hundreds of
        thousands of distinct (step, page, next page) rows, and only the top few are shown."""
        first_steps = "UNION SELECT step, item FROM nodes WHERE step = 1" if self._anchored() else ""
        ranked = parse(
            "SELECT 'edge' AS kind, step, item, following, visits FROM top"
            " UNION ALL SELECT 'node' AS kind, n.step, n.item, NULL AS following, n.visits FROM nodes AS n"
            " INNER JOIN used AS u ON u.step = n.step AND u.item = n.item"
        )
        top = parse_select(
            "SELECT step, item, following, visits FROM tree WHERE NOT following IS NULL"
            " ORDER BY visits DESC, step, item, following"
        ).limit(self.spec.limit)
        assert isinstance(ranked, exp.Query)
        return (
            ranked.with_("tree", as_=self._tree(params))
            .with_(
                "nodes",
                as_=parse_select("SELECT step, item, sum(visits) AS visits FROM tree GROUP BY step, item"),
            )
            .with_("top", as_=top)
            .with_(
                "used",
                as_=parse(
                    "SELECT step, item FROM top UNION SELECT step + 1 AS step, following AS item FROM top "
                    + first_steps
                ),
            )
        )

    def _statement(self) -> tuple[exp.Expr, Params]:
        params = Params()
        return self._ranked(params), params

    def calculate(self) -> PathsResult:
        node_visits: dict[tuple[int, str], int] = {}
        edges: list[tuple[int, tuple[int, str], tuple[int, str]]] = []
        for kind, step, item, following, visits in self.fetch_built("", self._statement):
            if kind == "node":
                node_visits[(int(step), item)] = int(visits)
            else:
                edges.append((int(visits), (int(step), item), (int(step) + 1, following)))
        edges.sort(key=lambda e: (-e[0], e[1][0], e[1][1], e[2][1]))
        nodes = [
            PathNode(id=_node_id(step, item), step=step, name=item, visits=visits)
            for (step, item), visits in sorted(node_visits.items(), key=lambda n: (n[0][0], -n[1], n[0][1]))
        ]
        result_edges = [PathEdge(source=_node_id(*a), target=_node_id(*b), visits=v) for v, a, b in edges]
        return PathsResult(
            direction="before" if self.spec.end is not None else "after", nodes=nodes, edges=result_edges
        )

    def _anchored(self) -> bool:
        return self.spec.start is not None or self.spec.end is not None


def _node_id(step: int, item: str) -> str:
    return f"{step}_{item}"
