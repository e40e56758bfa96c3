"""Statements compiled once for every date range (``compile_ranged``): the kinds that use it build the same
text whatever the range — across a clock change too — and bind the range only as its two ends, so that a
statement compiled for one period (or ahead, when the server starts) answers for any other exactly as one
compiled for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from tests.integration.query.events_kit import Analytics, analytics, event, pageview

from belvedere.query import REGISTRY, QueryService, parse_query
from belvedere.query import compiled as compiled_statements
from belvedere.query.cache import QueryCache
from belvedere.query.runner import DatedRunner, QueryContext
from belvedere.query.sql import compile_query
from belvedere.store.base import Dialect

__all__ = ["analytics"]

ZONE = "Europe/Paris"  # summer time from 2025-03-30 02:00, winter time from 2025-10-26 03:00
RANGES = [
    ("2025-03-01", "2025-03-07"),  # winter
    ("2025-03-24", "2025-04-06"),  # across the change to summer time
    ("2025-03-30", "2025-03-30"),  # the 23-hour day
    ("2025-06-01", "2025-06-30"),  # summer
    ("2025-10-20", "2025-11-02"),  # across the change back
]
GOAL_PAGE = {"page": "/blog/*"}
SPECS: list[dict[str, Any]] = [
    {"kind": "stats"},
    {"kind": "stats", "compare_to": "previous_year", "goal": "signup"},
    {"kind": "stats", "filters": [{"property": "browser", "operator": "eq", "value": "Firefox"}]},
    *(
        {"kind": "breakdown", "dimension": d, "limit": 10}
        for d in ("page", "entry_page", "exit_page", "channel", "country", "event", "properties.plan")
    ),
    {"kind": "breakdown", "dimension": "page", "goal": "signup", "limit": 10},
    {"kind": "breakdown", "dimension": "channel", "goal": GOAL_PAGE, "limit": 10, "offset": 20},
    {
        "kind": "breakdown",
        "dimension": "page",
        "limit": 10,
        "filters": [{"property": "path", "operator": "contains", "value": "blog"}],
    },
    {"kind": "goals", "limit": 10},
    {"kind": "goals", "limit": 20, "events": ["signup"], "pages": ["/blog/*", "/"]},
]


@dataclass
class _Compiler:
    """What a runner needs of a store to build its statements (it runs none)."""

    dialect: Dialect


def _runner(spec: dict[str, Any], first: str, last: str, dialect: Dialect) -> DatedRunner[Any]:
    parsed = parse_query({**spec, "date_from": first, "date_to": last})
    ctx = QueryContext(project_id=1, timezone=ZONE, store=_Compiler(dialect), now=datetime(2025, 12, 1))
    runner = REGISTRY[parsed.kind](parsed, ctx)
    assert isinstance(runner, DatedRunner)
    return runner


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(str(v) for v in s.values())[:60])
def test_the_text_is_the_same_for_every_range_and_binds_only_its_ends(
    spec: dict[str, Any], dialect: Dialect
) -> None:
    texts = set()
    for first, last in RANGES:
        runner = _runner(spec, first, last, dialect)
        statements = runner.statements()
        assert statements, f"{spec['kind']} names the statements it compiles once for every range"
        for part, build in statements:
            tree, params = build()
            compiled = compile_query(tree, params=params, project_id=1, dialect=dialect)
            texts.add((part, compiled.sql))
            instants = {v for v in compiled.params.values() if isinstance(v, datetime)}
            assert instants == {runner.range.start, runner.range.end}
    assert len(texts) == len(runner.statements())


def _data(analytics: Analytics) -> None:
    rows = []
    days = ["2025-03-05", "2025-03-29", "2025-03-30", "2025-03-31", "2025-06-10", "2025-10-26"]
    for i, day in enumerate(days):
        for hour in ("00:30", "01:30", "02:30", "22:30", "23:30"):
            who, visit = f"p{i % 3}", f"s{day}{hour}"
            when = f"{day}T{hour}:00"
            rows.append(pageview(when, "/", person=who, session=visit, channel="Direct", country="FR"))
            rows.append(pageview(when, f"/blog/{i}", person=who, session=visit, properties={"plan": "pro"}))
            if hour == "01:30":
                rows.append(event("signup", when, person=who, session=visit, browser="Firefox"))
    analytics.add(*rows)


def test_a_statement_compiled_for_one_range_answers_for_another_as_its_own(analytics: Analytics) -> None:
    _data(analytics)
    service = QueryService(analytics.store, QueryCache(0))

    def ask(spec: dict[str, Any], first: str, last: str) -> dict[str, Any]:
        body = {**spec, "date_from": first, "date_to": last}
        result = service.run(parse_query(body), project_id=1, timezone=ZONE, now=analytics.now).as_dict()
        del result["meta"]
        return result

    for spec in SPECS:
        alone = {}
        for first, last in RANGES:
            compiled_statements._COMPILED.clear()
            alone[first, last] = ask(spec, first, last)
        compiled_statements._COMPILED.clear()
        reused = {(first, last): ask(spec, first, last) for first, last in RANGES}
        assert reused == alone, spec
        assert any(r["kind"] != "stats" or r["results"]["visitors"]["value"] for r in alone.values())
