"""paths: sequences of pages or events within a visit, after a start or before an end, as a Sankey."""

from __future__ import annotations

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

__all__ = ["analytics"]

DAY = {"kind": "paths", "date_from": "2025-03-10", "date_to": "2025-03-10"}


def _visits(analytics: Analytics) -> None:
    analytics.add(
        # v1: / → /pricing → /pricing (reload, folded) → /signup
        pageview("2025-03-10T10:00:00", "/", session="v1"),
        pageview("2025-03-10T10:00:10", "/pricing", session="v1"),
        pageview("2025-03-10T10:00:20", "/pricing", session="v1"),
        pageview("2025-03-10T10:00:30", "/signup", session="v1"),
        # v2: / → /pricing → /docs
        pageview("2025-03-10T11:00:00", "/", session="v2", person="u2"),
        pageview("2025-03-10T11:00:10", "/pricing", session="v2", person="u2"),
        event("clicked", "2025-03-10T11:00:15", session="v2", person="u2"),
        pageview("2025-03-10T11:00:20", "/docs", session="v2", person="u2"),
        # v3: /blog → / → /pricing
        pageview("2025-03-10T12:00:00", "/blog", session="v3", person="u3"),
        pageview("2025-03-10T12:00:10", "/", session="v3", person="u3"),
        pageview("2025-03-10T12:00:20", "/pricing", session="v3", person="u3"),
    )


def _edges(result: dict[str, object]) -> dict[tuple[str, str], int]:
    edges = result["edges"]
    assert isinstance(edges, list)
    return {(e["source"], e["target"]): e["visits"] for e in edges}


def test_paths_from_the_start_of_each_visit(analytics: Analytics) -> None:
    _visits(analytics)
    r = analytics.query(DAY)
    assert _edges(r) == {
        ("1_/", "2_/pricing"): 2,
        ("2_/pricing", "3_/signup"): 1,
        ("2_/pricing", "3_/docs"): 1,
        ("1_/blog", "2_/"): 1,
        ("2_/", "3_/pricing"): 1,
    }
    first = next(n for n in r["nodes"] if n["id"] == "1_/")
    assert first == {"id": "1_/", "step": 1, "name": "/", "visits": 2}


def test_paths_after_a_start_page(analytics: Analytics) -> None:
    _visits(analytics)
    r = analytics.query({**DAY, "start": "/pricing", "depth": 2})
    assert _edges(r) == {("1_/pricing", "2_/signup"): 1, ("1_/pricing", "2_/docs"): 1}
    assert r["nodes"][0]["id"] == "1_/pricing"


def test_paths_before_an_end_page(analytics: Analytics) -> None:
    _visits(analytics)
    r = analytics.query({**DAY, "end": "/pricing", "depth": 3})
    # Steps count backwards from /pricing: 1 = /pricing, 2 = the page before it, 3 = the one before that.
    assert _edges(r) == {("1_/pricing", "2_/"): 3, ("2_/", "3_/blog"): 1}
    assert r["direction"] == "before"


def test_event_paths(analytics: Analytics) -> None:
    _visits(analytics)
    r = analytics.query({**DAY, "path_type": "events", "start": "clicked"})
    assert _edges(r) == {("1_clicked", "2_$pageview"): 1}
