"""conversion_drivers on both engines, in literal numbers: the people's 2 by 2 tables for events done before
converting and for the values people came with, through alias links, with the population and the goal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from tests.integration.query.events_kit import Analytics, analytics, event

__all__ = ["analytics"]

DAY = "2025-03-10"


def _world(analytics: Analytics) -> None:
    rows: list[dict[str, Any]] = []
    for i in range(10):  # converters: pricing, then signup; p0 and p1 read the blog after signing up
        channel = "Search" if i < 8 else "Direct"
        rows.append(event("pricing", f"{DAY}T10:0{i}:00", person=f"p{i}", channel=channel))
        signer = "p9b" if i == 9 else f"p{i}"  # p9 signs up under another id, linked by an alias
        rows.append(event("signup", f"{DAY}T11:0{i}:00", person=signer, channel=channel))
        if i < 2:
            rows.append(event("blog", f"{DAY}T12:0{i}:00", person=f"p{i}"))
    rows.append(event("$alias", f"{DAY}T13:00:00", person="p9", session=None, properties={"alias": "p9b"}))
    for i in range(10):  # the others: two looked at pricing, eight read the blog
        rows.append(
            event("pricing" if i < 2 else "blog", f"{DAY}T10:3{i}:00", person=f"q{i}", channel="Direct")
        )
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 20)


SPEC = {
    "kind": "conversion_drivers",
    "goal": "signup",
    "date_from": DAY,
    "date_to": DAY,
    "properties": ["channel"],
    "min_people": 1,
}


def _table(driver: dict[str, Any]) -> tuple[int, int, int, int]:
    keys = ("converted_with", "converted_without", "others_with", "others_without")
    return tuple(driver[k] for k in keys)  # type: ignore[return-value]


def test_events_before_converting_and_values_people_came_with(analytics: Analytics) -> None:
    _world(analytics)
    r = analytics.query(SPEC)
    assert (r["goal"], r["people"], r["converted"], r["conversion_rate"], r["tested"]) == (
        "signup",
        20,
        10,
        50.0,
        4,
    )
    found = {(d["feature"], d["property"], d["value"]): d for d in r["drivers"]}
    pricing = found[("event", None, "pricing")]
    assert _table(pricing) == (10, 0, 2, 8)
    assert (pricing["rate_with"], pricing["rate_without"]) == (83.33, 0.0)
    assert pricing["odds_ratio"] == round(10.5 * 8.5 / (0.5 * 2.5), 4)  # a cell is empty: half a person each
    blog = found[("event", None, "blog")]
    assert _table(blog) == (0, 10, 8, 2)  # p0 and p1 read it only after converting
    assert _table(found[("property", "channel", "Search")]) == (8, 2, 0, 10)
    assert _table(found[("property", "channel", "Direct")]) == (2, 8, 10, 0)
    assert all(d["significant"] for d in r["drivers"])
    assert pricing["lower"] > 1 and blog["upper"] < 1


def test_a_population_and_a_page_goal(analytics: Analytics) -> None:
    _world(analytics)
    r = analytics.query({**SPEC, "population": "pricing"})
    # The 12 who saw pricing: 10 converted. pricing itself is no feature, and none of them read the blog
    # before converting (p0 and p1 after), nor did the two others: no one had it.
    assert (r["people"], r["converted"]) == (12, 10)
    assert {(d["feature"], d["value"]) for d in r["drivers"]} == {
        ("property", "Search"),
        ("property", "Direct"),
    }
    page = analytics.query({**SPEC, "goal": {"page": "/thanks"}})
    assert (page["people"], page["converted"], page["conversion_rate"]) == (20, 0, 0.0)


def test_rare_features_are_not_tested(analytics: Analytics) -> None:
    _world(analytics)
    r = analytics.query({**SPEC, "min_people": 11})
    assert r["tested"] == 2  # pricing and Direct (12 people each); blog and Search: 8 each
    assert {d["value"] for d in r["drivers"]} == {"Direct", "pricing"}


def test_each_property_once(analytics: Analytics) -> None:
    with pytest.raises(ValueError, match="each property once"):
        analytics.query({**SPEC, "properties": ["channel", "channel"]})
