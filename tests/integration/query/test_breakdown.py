"""breakdown: visit-level and event-level dimensions, goal conversion, sorting and pages."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.query.events_kit import Analytics, analytics, event, pageview

from belvedere.store.base import CompiledQuery
from belvedere.store.duckdb import DuckDBEventStore

__all__ = ["analytics"]

DAY = {"kind": "breakdown", "date_from": "2025-03-10", "date_to": "2025-03-10"}


def _visits(analytics: Analytics) -> None:
    analytics.add(
        # Visit a (google, u1): / → /pricing → signed_up, 60 s
        pageview("2025-03-10T10:00:00", "/", person="u1", session="a", channel="Organic Search"),
        pageview("2025-03-10T10:00:40", "/pricing", person="u1", session="a", channel="Organic Search"),
        event("signed_up", "2025-03-10T10:01:00", person="u1", session="a", channel="Organic Search"),
        # Visit b (direct, u2): bounce on /pricing
        pageview("2025-03-10T11:00:00", "/pricing", person="u2", session="b", channel="Direct"),
        # Visit c (google, u3): /blog → /, 30 s
        pageview("2025-03-10T12:00:00", "/blog", person="u3", session="c", channel="Organic Search"),
        pageview("2025-03-10T12:00:30", "/", person="u3", session="c", channel="Organic Search"),
    )


def test_visit_level_dimension_with_goal(analytics: Analytics) -> None:
    _visits(analytics)
    r = analytics.query({**DAY, "dimension": "channel", "goal": "signed_up"})
    assert r["results"] == [
        {
            "value": "Organic Search",
            "visitors": 2,
            "visits": 2,
            "pageviews": 4,
            "bounce_rate": 0.0,
            "visit_duration": 45.0,
            "conversion_rate": 50.0,
        },
        {
            "value": "Direct",
            "visitors": 1,
            "visits": 1,
            "pageviews": 1,
            "bounce_rate": 100.0,
            "visit_duration": 0.0,
            "conversion_rate": 0.0,
        },
    ]
    assert r["total_values"] == 2


def test_entry_and_exit_pages(analytics: Analytics) -> None:
    _visits(analytics)
    entry = analytics.query({**DAY, "dimension": "entry_page"})["results"]
    assert [(x["value"], x["visits"]) for x in entry] == [("/", 1), ("/blog", 1), ("/pricing", 1)]
    exits = analytics.query({**DAY, "dimension": "exit_page"})["results"]
    assert [(x["value"], x["visits"]) for x in exits] == [("/pricing", 2), ("/", 1)]


def test_page_is_event_level(analytics: Analytics) -> None:
    _visits(analytics)
    r = analytics.query({**DAY, "dimension": "page", "sort_by": "pageviews"})["results"]
    by_page = {x["value"]: (x["visitors"], x["visits"], x["pageviews"], x["bounce_rate"]) for x in r}
    assert by_page == {"/": (2, 2, 2, 0.0), "/pricing": (2, 2, 2, 50.0), "/blog": (1, 1, 1, 0.0)}


def test_pagination_and_property_dimension(analytics: Analytics) -> None:
    analytics.add(
        *[
            event("opened", "2025-03-10T10:00:00", person=f"p{i}", session=f"s{i}", properties={"plan": plan})
            for i, plan in enumerate(["pro", "pro", "pro", "free", "free", "team"])
        ]
    )
    first = analytics.query({**DAY, "dimension": "properties.plan", "limit": 2})
    assert [(x["value"], x["visitors"]) for x in first["results"]] == [("pro", 3), ("free", 2)]
    assert first["total_values"] == 3
    rest = analytics.query({**DAY, "dimension": "properties.plan", "limit": 2, "offset": 2})
    assert [(x["value"], x["visitors"]) for x in rest["results"]] == [("team", 1)]


def test_a_page_past_the_end_still_counts_the_values(analytics: Analytics) -> None:
    _visits(analytics)
    r = analytics.query({**DAY, "dimension": "channel", "offset": 10})
    assert r["results"] == [] and r["total_values"] == 2


def test_numbers_are_compared_as_numbers_and_not_grouped(analytics: Analytics) -> None:
    import pytest
    from pydantic import ValidationError

    from belvedere.query import parse_query

    analytics.add(
        event("paid", "2025-03-10T10:00:00", person="a", session="a", revenue=29.0),
        event("paid", "2025-03-10T10:00:00", person="b", session="b", revenue=9.5),
    )

    def visitors(filt: dict[str, object]) -> int:
        r = analytics.query(
            {"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-10", "filters": [filt]}
        )
        value: int = r["results"]["visitors"]["value"]
        return value

    assert visitors({"property": "revenue", "operator": "eq", "value": 29}) == 1
    assert visitors({"property": "revenue", "operator": "in", "value": [29, 9.5]}) == 2
    assert visitors({"property": "revenue", "operator": "neq", "value": 29}) == 1
    for bad in (
        {"kind": "stats", "filters": [{"property": "revenue", "operator": "contains", "value": "2"}]},
        {"kind": "stats", "filters": [{"property": "revenue", "operator": "eq", "value": "29"}]},
        {"kind": "breakdown", "dimension": "revenue"},
    ):
        with pytest.raises(ValidationError):
            parse_query(bad)


def test_approximate_paths_count_exactly_and_other_dimensions_sketch(
    analytics: Analytics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sketch per path costs more than the exact count over a long tail of paths: ``approximate`` keeps
    the exact count for page, entry and exit page, and estimates for the other dimensions."""
    _visits(analytics)
    statements: list[str] = []
    fetch = analytics.store.fetch

    def spy(query: CompiledQuery) -> list[tuple[Any, ...]]:
        statements.append(query.sql)
        return fetch(query)

    monkeypatch.setattr(analytics.store, "fetch", spy)
    sketch = "approx_count_distinct" if isinstance(analytics.store, DuckDBEventStore) else "uniqhll12"
    cases = (("page", False), ("entry_page", False), ("exit_page", False), ("channel", True))
    for dimension, sketched in cases:
        statements.clear()
        spec = {**DAY, "dimension": dimension, "goal": "signed_up"}
        approximate = analytics.query({**spec, "approximate": True})
        assert any(sketch in sql.lower() for sql in statements) is sketched, dimension
        if not sketched:
            assert approximate["results"] == analytics.query(spec)["results"]
