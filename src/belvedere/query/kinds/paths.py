"""``paths``: the most frequent sequences of pages (or events) within a visit, after a start point or before
an end point, as nodes and weighted edges for a Sankey diagram.

A visit's items are its page paths (or event names) in time order, with immediate repeats folded (a reload
is not a step). Step 1 is the first item of the visit, or the first occurrence of ``start`` in it; with
``end``, the steps count backwards from the last occurrence of ``end`` (step 1 is ``end`` itself). Edges
join step k to step k + 1 of the same visit; each weight is a number of visits.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from sqlglot import exp

from belvedere.query.runner import DatedQuery, DatedRunner, register
from belvedere.query.sql import Params, col, parse, parse_select


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


@register
class PathsRunner(DatedRunner[PathsQuery]):
    kind = "paths"
    spec_model = PathsQuery

    def _items(self, params: Params) -> exp.Select:
        """(session_id, n, item): each visit's items numbered in time order, repeats folded."""
        item = col("path") if self.spec.path_type == "pages" else col("event")
        where = [*self.where(params), parse("session_id IS NOT NULL")]
        if self.spec.path_type == "pages":
            where += [parse("event = '$pageview'"), parse("path IS NOT NULL")]
        order = "ORDER BY timestamp, item"
        raw = parse_select(
            f"SELECT session_id, timestamp, item, max(item) OVER (PARTITION BY session_id {order}"
            " ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS prev FROM raw_items"
        ).with_(
            "raw_items",
            as_=exp.select("session_id", "timestamp", item.as_("item"))
            .from_("events")
            .where(exp.and_(*where)),
        )
        return parse_select(
            f"SELECT session_id, item, row_number() OVER (PARTITION BY session_id {order}) AS n FROM folded"
        ).with_("folded", as_=exp.select("*").from_(raw.subquery("r")).where("prev IS NULL OR prev <> item"))

    def _steps(self, params: Params) -> exp.Select:
        """(session_id, step, item) for steps 1 … depth of each visit that has the anchor."""
        depth = self.spec.depth
        if self.spec.end is not None:
            anchor = parse_select("SELECT session_id, max(n) AS a FROM items GROUP BY session_id").where(
                exp.EQ(this=col("item"), expression=params.bind(self.spec.end))
            )
            step, window = "a.a - i.n + 1", f"i.n <= a.a AND i.n > a.a - {depth}"
        else:
            anchor = parse_select("SELECT session_id, min(n) AS a FROM items GROUP BY session_id")
            if self.spec.start is not None:
                anchor = anchor.where(exp.EQ(this=col("item"), expression=params.bind(self.spec.start)))
            step, window = "i.n - a.a + 1", f"i.n >= a.a AND i.n < a.a + {depth}"
        return (
            parse_select(f"SELECT i.session_id, {step} AS step, i.item FROM items AS i")
            .join(anchor.subquery("a"), on=parse("a.session_id = i.session_id"), join_type="inner")
            .where(window)
            .with_("items", as_=self._items(params))
        )

    def calculate(self) -> dict[str, Any]:
        params = Params()
        steps = self._steps(params)
        edges_tree = (
            parse_select(
                "SELECT s.step, s.item AS source, t.item AS target, count(*) AS visits FROM steps AS s"
                " JOIN steps AS t ON t.session_id = s.session_id AND t.step = s.step + 1"
                " GROUP BY s.step, s.item, t.item"
            )
            .with_("steps", as_=steps)
            .order_by("visits DESC", "s.step", "source", "target", dialect="duckdb")
            .limit(self.spec.limit)
        )
        edges = self.fetch(edges_tree, params)
        node_params = Params()
        nodes_tree = parse_select(
            "SELECT step, item, count(*) AS visits FROM steps GROUP BY step, item"
        ).with_("steps", as_=self._steps(node_params))
        node_visits = {(int(s), item): int(n) for s, item, n in self.fetch(nodes_tree, node_params)}
        used: set[tuple[int, str]] = {(1, item) for (s, item) in node_visits if s == 1 and self._anchored()}
        result_edges = []
        for step, source, target, visits in edges:
            a, b = (int(step), source), (int(step) + 1, target)
            used.update((a, b))
            result_edges.append({"source": _node_id(*a), "target": _node_id(*b), "visits": int(visits)})
        nodes = [
            {
                "id": _node_id(step, item),
                "step": step,
                "name": item,
                "visits": node_visits.get((step, item), 0),
            }
            for step, item in sorted(used, key=lambda n: (n[0], -node_visits.get(n, 0), n[1]))
        ]
        direction = "before" if self.spec.end is not None else "after"
        return {"kind": "paths", "direction": direction, "nodes": nodes, "edges": result_edges}

    def _anchored(self) -> bool:
        return self.spec.start is not None or self.spec.end is not None


def _node_id(step: int, item: str) -> str:
    return f"{step}_{item}"
