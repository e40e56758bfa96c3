"""breakdown: visit-level and event-level dimensions, goal conversion, sorting and pages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.integration.query.events_kit import Analytics, analytics, event, pageview

from belvedere.query import QueryService, parse_query
from belvedere.query.cache import QueryCache
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


def _places(analytics: Analytics) -> None:
    _visits(analytics)
    analytics.add(
        # Another visit of u1 (FR, desktop, then a late event from a phone: the first value counts), one
        # of anon-4 who becomes u2, one crossing the range's end, and one visit with no country at all.
        pageview("2025-03-10T13:00:00", "/", person="u1", session="d", country="FR", device_type="Desktop"),
        pageview("2025-03-10T13:00:05", "/a", person="u1", session="d", country="DE", device_type="Mobile"),
        pageview("2025-03-10T14:00:00", "/", person="anon-4", session="e", channel="Direct", country="DE"),
        event("$alias", "2025-03-10T14:01:00", person="u2", session="e", properties={"alias": "anon-4"}),
        pageview("2025-03-10T23:59:00", "/", person="u5", session="f", channel="Direct", country="FR"),
        pageview("2025-03-11T00:01:00", "/b", person="u5", session="f", channel="Direct", country="FR"),
        pageview(
            "2025-03-10T15:00:00", "/", person="u6", session="g", channel="Referral", device_type="Tablet"
        ),
    )


@pytest.mark.parametrize("goal", [None, "signed_up"])
def test_fields_broken_down_together_answer_as_each_alone(analytics: Analytics, goal: str | None) -> None:
    """``together``: one pass over the visits for several visit-level fields; each field's answer is the
    one it gets alone, and asking it next runs no SQL."""
    _places(analytics)
    fields = ["channel", "country", "device_type"]
    base = {**DAY, "limit": 2, "sort_by": "visits", "goal": goal}
    alone = {}
    for field in fields:
        fresh = QueryService(analytics.store, QueryCache(0))  # no answers or figures kept
        answer = fresh.run(parse_query({**base, "dimension": field}), project_id=1, timezone="UTC")
        alone[field] = {k: v for k, v in answer.as_dict().items() if k != "meta"}
    # By visits: no country 4 (a, b, c, g), FR 2 (d, f: its first value, and the crossing visit), DE 1.
    assert [(r["value"], r["visits"]) for r in alone["country"]["results"]] == [(None, 4), ("FR", 2)]
    assert alone["country"]["total_values"] == 3
    # Direct: b, e (anon-4, who is u2: one visitor with b) and f; Organic Search: a, c.
    assert [(r["value"], r["visits"], r["visitors"]) for r in alone["channel"]["results"]] == [
        ("Direct", 3, 2),
        ("Organic Search", 2, 2),
    ]

    ran: list[str] = []
    fetch = analytics.store.fetch

    def spy(query: CompiledQuery) -> Any:
        ran.append(query.sql)
        return fetch(query)

    analytics.store.fetch = spy  # type: ignore[method-assign]
    try:
        for first in fields:
            service = QueryService(analytics.store)
            ran.clear()
            others = [f for f in fields if f != first]
            got = {
                first: service.run(
                    parse_query({**base, "dimension": first, "together": others}),
                    project_id=1,
                    timezone="UTC",
                )
            }
            assert len(ran) == 1
            for field in others:
                got[field] = service.run(
                    parse_query({**base, "dimension": field}), project_id=1, timezone="UTC"
                )
            assert len(ran) == 1  # kept, not asked again
            answers = {f: {k: v for k, v in a.as_dict().items() if k != "meta"} for f, a in got.items()}
            assert answers == alone
    finally:
        del analytics.store.fetch


def test_together_takes_visit_level_fields_on_the_first_page() -> None:
    for body in (
        {**DAY, "dimension": "page", "together": ["channel"]},
        {**DAY, "dimension": "channel", "together": ["page"]},
        {**DAY, "dimension": "channel", "together": ["channel"]},
        {**DAY, "dimension": "channel", "together": ["country"], "offset": 10},
    ):
        with pytest.raises(ValidationError):
            parse_query(body)
