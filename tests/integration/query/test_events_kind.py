"""events: the latest raw events of the range, newest first, filtered, paged, with their properties."""

from __future__ import annotations

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

__all__ = ["analytics"]


def _add(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-30T09:00:00", "/", person="ann", browser="Firefox", country="FR"),
        event("signup", "2025-03-30T09:05:00", person="ann", properties={"plan": "pro", "seats": 3}),
        pageview("2025-03-30T10:00:00", "/pricing", person="bob", browser="Chrome"),
        # Two events of one millisecond: paging neither repeats nor skips one.
        event("click", "2025-03-30T11:00:00", person="cat", properties={"id": "a"}),
        event("click", "2025-03-30T11:00:00", person="cat", properties={"id": "b"}),
        pageview("2025-03-20T10:00:00", "/old", person="dan"),  # before the range
        pageview("2025-03-30T12:00:00", "/", person="eve", project_id=2),  # another project's
    )


def test_newest_first_with_properties_and_filters(analytics: Analytics) -> None:
    _add(analytics)
    spec = {"kind": "events", "date_from": "2025-03-25", "date_to": "2025-03-31"}
    r = analytics.query(spec)
    assert [(e["event"], e["person_id"]) for e in r["results"]] == [
        ("click", "cat"),
        ("click", "cat"),
        ("$pageview", "bob"),
        ("signup", "ann"),
        ("$pageview", "ann"),
    ]
    assert r["more"] is False
    signup = r["results"][3]
    assert signup["timestamp"] == "2025-03-30T09:05:00.000Z"
    assert signup["properties"] == {"plan": "pro", "seats": 3}
    first = r["results"][4]
    assert (first["path"], first["browser"], first["country"]) == ("/", "Firefox", "FR")

    only = analytics.query({**spec, "event": "$pageview"})
    assert [e["path"] for e in only["results"]] == ["/pricing", "/"]
    chrome = analytics.query(
        {**spec, "filters": [{"property": "browser", "operator": "eq", "value": "Chrome"}]}
    )
    assert [e["person_id"] for e in chrome["results"]] == ["bob"]
    pro = analytics.query(
        {**spec, "filters": [{"property": "properties.plan", "operator": "eq", "value": "pro"}]}
    )
    assert [e["event"] for e in pro["results"]] == ["signup"]


def test_pages_neither_repeat_nor_skip(analytics: Analytics) -> None:
    _add(analytics)
    spec = {"kind": "events", "date_from": "2025-03-25", "date_to": "2025-03-31", "limit": 1}
    seen = []
    for offset in range(6):
        page = analytics.query({**spec, "offset": offset})
        seen += [(e["event"], e["properties"].get("id"), e["person_id"]) for e in page["results"]]
        assert page["more"] is (offset < 4)
    assert len(seen) == 5 and sorted(p for _, p, _ in seen if p) == ["a", "b"]
