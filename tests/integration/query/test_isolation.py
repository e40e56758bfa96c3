"""Tenant isolation and injection: hostile names and values never change a query's meaning or reach another
project, and every table in every compiled query is scoped to the project."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
import sqlglot
from pydantic import ValidationError
from sqlglot import exp
from tests.integration.query.events_kit import Analytics, analytics, pageview

from belvedere.query import REGISTRY, QueryService, parse_query
from belvedere.query import compiled as compiled_statements
from belvedere.query import sql as query_sql
from belvedere.query.cache import QueryCache
from belvedere.query.fields import FILTERABLE, NUMERIC_COLUMNS
from belvedere.query.sql import EVENT_PERSON, SCOPED_TABLES, Params, QueryBuildError, compile_query, parse
from belvedere.store.base import CompiledQuery

__all__ = ["analytics"]

HOSTILE = [
    "' OR 1=1 --",
    '" OR ""="',
    "x'); DROP TABLE events; --",
    "$project",
    "{project:Int64}",
    "%(project)s",
    "\\' OR 1=1",
    "a\x00b",
    "ünïcødé ✓",
    "/~0~1.[0]",
]


def _two_projects(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-10T10:00:00", "/", person="mine", properties={"plan": "pro"}, browser="Firefox"),
        *[
            pageview(
                "2025-03-10T10:00:00",
                "/theirs",
                person=f"theirs-{i}",
                session=f"t{i}",
                project_id=2,
                properties={"plan": value, value: value},
                browser=value,
            )
            for i, value in enumerate(HOSTILE)
        ],
    )
    # Another project's cohorts name my person: a filter on cohorts 1 and 2 here must not see them.
    analytics.store.replace_cohort(project_id=2, cohort_id=1, people=["mine", "theirs-0"])


DAY = {"date_from": "2025-03-10", "date_to": "2025-03-10"}


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_are_only_values(analytics: Analytics, value: str) -> None:
    _two_projects(analytics)
    for operator in ("eq", "contains", "neq", "in"):
        filt = {"property": "browser", "operator": operator, "value": [value] if operator == "in" else value}
        r = analytics.query({"kind": "stats", **DAY, "filters": [filt]})
        expected = 1 if operator == "neq" else 0  # only "mine" (Firefox) is in this project
        assert r["results"]["visitors"]["value"] == expected, (operator, value)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_property_names_are_only_names(analytics: Analytics, name: str) -> None:
    _two_projects(analytics)
    prop = f"properties.{name}"
    r = analytics.query({"kind": "stats", **DAY, "filters": [{"property": prop, "operator": "is_set"}]})
    assert r["results"]["visitors"]["value"] == 0
    rows = analytics.query({"kind": "breakdown", **DAY, "dimension": prop})["results"]
    assert [(x["value"], x["visitors"]) for x in rows] == [(None, 1)]
    series = analytics.query({"kind": "trends", **DAY, "series": [{}], "breakdown": prop})["series"]
    assert [(s["breakdown_value"], s["data"]) for s in series] == [(None, [1])]


def test_other_project_never_answers_as_this_one(analytics: Analytics) -> None:
    _two_projects(analytics)
    users = analytics.query({"kind": "users", **DAY})["results"]
    assert [u["person_id"] for u in users] == ["mine"]
    assert analytics.query({"kind": "user", "person_id": "theirs-0"})["found"] is False
    pages = analytics.query({"kind": "breakdown", **DAY, "dimension": "page"})["results"]
    assert [p["value"] for p in pages] == ["/"]


@pytest.mark.parametrize(
    "bad", ["browser; DROP TABLE events", "properties.", "uuid", "project_id", "x" * 300]
)
def test_unknown_or_internal_fields_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_query({"kind": "stats", "filters": [{"property": bad, "operator": "is_set"}]})
    with pytest.raises(ValidationError):
        parse_query({"kind": "breakdown", "dimension": bad})


def _is_scoped(table: exp.Table) -> bool:
    """A scoped table is the only source of ``SELECT * FROM t WHERE project_id = <project placeholder>``
    (``events`` may add its stored person id: ``SELECT *, person_id AS event_person_id``)."""
    select = table.find_ancestor(exp.Select)
    if select is None or not select.expressions or not isinstance(select.expressions[0], exp.Star):
        return False
    if [e.sql() for e in select.expressions[1:]] not in ([], [f"person_id AS {EVENT_PERSON}"]):
        return False
    where = select.args.get("where")
    if where is None or not isinstance(where.this, exp.EQ):
        return False
    left, right = where.this.this, where.this.expression
    return (
        isinstance(left, exp.Column)
        and left.name == "project_id"
        and "project" in right.sql()
        and select.args.get("joins") is None
    )


EXAMPLES: dict[str, dict[str, Any]] = {
    "stats": {
        "kind": "stats",
        **DAY,
        "filters": [{"property": "person.plan", "operator": "neq", "value": "x"}],
    },
    "stickiness": {"kind": "stickiness", **DAY, "interval": "hour"},
    "forecast": {
        "kind": "forecast",
        **DAY,
        "series": [{"event": "a", "math": "unique_sessions"}],
        "horizon": 3,
        "filters": [{"property": "browser", "operator": "is_set"}],
    },
    "anomalies": {
        "kind": "anomalies",
        **DAY,
        "interval": "hour",
        "series": [{"event": "a", "math": "unique_users"}],
        "filters": [{"property": "browser", "operator": "is_set"}],
    },
    "conversion_drivers": {
        "kind": "conversion_drivers",
        **DAY,
        "goal": {"page": "/x"},
        "population": "a",
        "properties": ["channel", "properties.plan"],
        "filters": [{"property": "browser", "operator": "is_set"}],
    },
    "patterns": {
        "kind": "patterns",
        **DAY,
        "pattern": "power_users",
        "key_event": "a",
        "filters": [{"property": "browser", "operator": "is_set"}],
    },
    "correlations": {
        "kind": "correlations",
        "date_from": "2025-03-04",
        "date_to": "2025-03-10",
        "target": {"event": "a", "math": "unique_users"},
        "max_lag": 2,
        "filters": [{"property": "browser", "operator": "is_set"}],
    },
    "root_cause": {
        "kind": "root_cause",
        **DAY,
        "series": {"event": "a", "math": "unique_users"},
        "dimensions": ["channel", "properties.plan"],
        "filters": [{"property": "browser", "operator": "is_set"}],
    },
    "events": {"kind": "events", **DAY, "filters": [{"property": "browser", "operator": "is_set"}]},
    "trends": {
        "kind": "trends",
        **DAY,
        "series": [{"math": "unique_users"}],
        "breakdown": "browser",
        "filters": [{"property": "cohort", "operator": "not_in", "value": [1, 2]}],
    },
    "breakdown": {"kind": "breakdown", **DAY, "dimension": "page", "goal": "x"},
    "funnel": {
        "kind": "funnel",
        **DAY,
        "steps": [{"event": "a"}, {"event": "b"}],
        "exclusions": [{"event": "x", "from_step": 1, "to_step": 2}],
        "over_time": True,
        "time_to_convert": {},
    },
    "funnel_people": {"kind": "funnel_people", **DAY, "steps": [{"event": "a"}, {"event": "b"}], "step": 2},
    "retention": {"kind": "retention", **DAY, "revenue_property": "revenue"},
    "paths": {"kind": "paths", **DAY, "start": "/"},
    "lifecycle": {"kind": "lifecycle", **DAY},
    "usage": {"kind": "usage", **DAY},
    "users": {"kind": "users", **DAY},
    "user": {"kind": "user", "person_id": "mine"},
    "realtime": {"kind": "realtime"},
    "event_properties": {"kind": "event_properties", **DAY},
    "goals": {"kind": "goals", **DAY, "events": ["a", "$pageview"]},
    "sql": {
        "kind": "sql",
        "query": "SELECT count(*) FROM events e JOIN persons p ON p.distinct_id = e.person_id",
    },
}


def test_every_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(REGISTRY)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_table_of_every_compiled_query_is_scoped(analytics: Analytics, kind: str) -> None:
    _two_projects(analytics)
    seen: list[CompiledQuery] = []
    store = analytics.store
    real_fetch, real_table = store.fetch, store.fetch_table

    def fetch(query: CompiledQuery) -> list[tuple[Any, ...]]:
        seen.append(query)
        return real_fetch(query)

    def fetch_table(query: CompiledQuery) -> tuple[list[str], list[tuple[Any, ...]]]:
        seen.append(query)
        return real_table(query)

    store.fetch, store.fetch_table = fetch, fetch_table  # type: ignore[method-assign]
    try:
        analytics.query(EXAMPLES[kind])
    finally:
        store.fetch, store.fetch_table = real_fetch, real_table  # type: ignore[method-assign]
    assert seen
    for query in seen:
        assert query.params["project"] == 1
        tree = sqlglot.parse_one(query.sql, read=query.dialect)
        tables = [t for t in tree.find_all(exp.Table) if t.name in SCOPED_TABLES]
        assert tables, query.sql
        unscoped = [t.sql() for t in tables if not _is_scoped(t)]
        assert not unscoped, (kind, unscoped, query.sql)


# The kinds whose statements are compiled once per (spec, range, zone) and reused (``fetch_built``).
REUSED = {
    **{
        kind: EXAMPLES[kind]
        for kind in ("breakdown", "goals", "lifecycle", "paths", "retention", "stats", "usage")
    },
    "funnel": {"kind": "funnel", **DAY, "steps": [{"event": "$pageview"}, {"event": "$pageview"}]},
    "funnel_people": {
        "kind": "funnel_people",
        **DAY,
        "steps": [{"event": "$pageview"}, {"event": "$pageview"}],
        "step": 1,
    },
}


@pytest.mark.parametrize("kind", sorted(REUSED))
def test_a_statement_compiled_for_one_project_answers_for_the_next(analytics: Analytics, kind: str) -> None:
    _two_projects(analytics)
    service = QueryService(analytics.store, QueryCache(0))  # no result cache: every run reaches the SQL
    spec = parse_query(REUSED[kind])

    def ask(project_id: int) -> dict[str, Any]:
        result = service.run(spec, project_id=project_id, timezone="UTC", now=analytics.now).as_dict()
        del result["meta"]
        return result

    compiled_statements._COMPILED.clear()
    mine_alone = ask(1)
    compiled_statements._COMPILED.clear()
    theirs_alone = ask(2)
    compiled_statements._COMPILED.clear()
    with patch.object(compiled_statements, "compile_query", wraps=query_sql.compile_query) as compiled:
        theirs, mine, theirs_again = ask(2), ask(1), ask(2)
    assert (mine, theirs, theirs_again) == (mine_alone, theirs_alone, theirs_alone)
    assert mine != theirs
    # Built once for all three runs: one statement per part of the kind's answer.
    assert compiled.call_count == len(compiled_statements._COMPILED) >= 1


def test_the_compiler_refuses_what_it_cannot_scope() -> None:
    for sql in (
        "SELECT * FROM other",
        "SELECT * FROM main.events",
        "SELECT * FROM read_csv('x')",
        "WITH events AS (SELECT 1) SELECT * FROM events",
    ):
        with pytest.raises(QueryBuildError):
            compile_query(parse(sql), params=Params(), project_id=1, dialect="duckdb")


def _every_field_filtered() -> list[dict[str, Any]]:
    """A condition on every field a filter may name (numbers compared with a number)."""
    return [
        {"property": name, "operator": "neq", "value": 1 if name in NUMERIC_COLUMNS else "x"}
        for name in sorted(FILTERABLE)
    ] + [{"property": "properties.plan", "operator": "neq", "value": "x"}]


@pytest.mark.parametrize(
    "kind", sorted(k for k in EXAMPLES if "filters" in REGISTRY[k].spec_model.model_fields)
)
def test_every_kind_runs_with_a_filter_on_every_field(analytics: Analytics, kind: str) -> None:
    """Each engine answers a question filtered on each column: ClickHouse reads a SELECT alias in WHERE, so
    an alias named like a column (``sum(revenue) AS revenue``) broke filters on that column, there only."""
    _two_projects(analytics)
    spec = {**EXAMPLES[kind], "filters": [*EXAMPLES[kind].get("filters", []), *_every_field_filtered()]}
    assert analytics.query(spec)["kind"] == kind
