"""Person keys (``PERSON_KEY``, 64-bit hashes of the stored ids) tell people apart wherever a kind only
counts them: a visit without a person has no key, and ids aliased to one person share that person's key."""

from __future__ import annotations

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

from belvedere.query.sql import Params, compile_query, parse_select

__all__ = ["analytics"]

DAY = {"date_from": "2025-03-10", "date_to": "2025-03-10"}


def test_a_visit_without_a_person_counts_no_visitor(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-10T10:00:00", "/", person=None, session="a"),
        pageview("2025-03-10T11:00:00", "/", person=None, session="b"),
        pageview("2025-03-10T12:00:00", "/", person="u1", session="c"),
    )
    for dimension in ("page", "channel"):
        rows = analytics.query({"kind": "breakdown", **DAY, "dimension": dimension})["results"]
        assert [(r["visitors"], r["visits"]) for r in rows] == [(1, 3)], dimension


def test_aliased_ids_are_one_person_by_key(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-10T10:00:00", "/", person="anon-1", session="a"),
        event("$alias", "2025-03-10T10:05:00", person="user-1", session="a", properties={"alias": "anon-1"}),
        pageview("2025-03-17T10:00:00", "/", person="user-1", session="b"),
        pageview("2025-03-10T12:00:00", "/", person="other", session="c"),
    )
    rows = analytics.query({"kind": "breakdown", **DAY, "dimension": "page"})["results"]
    assert [(r["value"], r["visitors"], r["visits"]) for r in rows] == [("/", 2, 2)]
    stats = analytics.query({"kind": "stats", **DAY, "compare": False, "goal": "$alias"})
    results = stats["results"]
    assert (results["visitors"]["value"], results["conversions"]["value"]) == (2, 1)
    series = {"event": "$pageview", "math": "unique_users"}
    trend = analytics.query({"kind": "trends", **DAY, "series": [series]})
    assert trend["series"][0]["data"] == [2]
    cohorts = analytics.query(
        {
            "kind": "retention",
            "date_from": "2025-03-10",
            "date_to": "2025-03-16",
            "period": "week",
            "periods": 1,
        }
    )["cohorts"]
    assert [(c["size"], c["values"]) for c in cohorts] == [(2, [2, 1])]


def test_the_key_of_no_person_is_null_on_both_engines(analytics: Analytics) -> None:
    analytics.add(event("x", "2025-03-10T10:00:00", person=None), event("x", "2025-03-10T10:00:00"))
    tree = parse_select(
        "SELECT count(*) AS n, count(event_person_key) AS keyed, count(DISTINCT event_person_key) AS keys"
        " FROM events"
    )
    dialect = "clickhouse" if type(analytics.store).__name__.startswith("ClickHouse") else "duckdb"
    query = compile_query(tree, params=Params(), project_id=1, dialect=dialect)
    assert analytics.store.fetch(query) == [(2, 1, 1)]
