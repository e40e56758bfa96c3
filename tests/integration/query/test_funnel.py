"""funnel: ordered (strictly increasing times within the window), strict and unordered."""

from __future__ import annotations

from typing import Any

from tests.integration.query.events_kit import Analytics, analytics, event

__all__ = ["analytics"]


def _funnel(analytics: Analytics, **extra: Any) -> list[tuple[int, float | None]]:
    spec = {
        "kind": "funnel",
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}],
        **extra,
    }
    return [(s["users"], s["conversion_rate"]) for s in analytics.query(spec)["steps"]]


def _people(analytics: Analytics) -> None:
    analytics.add(
        # a: all three in order, within 10 minutes
        event("view", "2025-03-10T10:00:00", person="a"),
        event("cart", "2025-03-10T10:05:00", person="a"),
        event("buy", "2025-03-10T10:10:00", person="a"),
        # b: view, cart, then buys 3 days later (outside a 1-day window)
        event("view", "2025-03-10T10:00:00", person="b"),
        event("cart", "2025-03-10T11:00:00", person="b"),
        event("buy", "2025-03-13T11:00:00", person="b"),
        # c: buys before viewing: only step 1 counts
        event("buy", "2025-03-10T09:00:00", person="c"),
        event("cart", "2025-03-10T09:30:00", person="c"),
        event("view", "2025-03-10T10:00:00", person="c"),
        # d: an old view, then a fresh view, cart and buy: the latest start makes it within 1 day
        event("view", "2025-03-01T10:00:00", person="d"),
        event("view", "2025-03-05T10:00:00", person="d"),
        event("cart", "2025-03-05T12:00:00", person="d"),
        event("noise", "2025-03-05T12:30:00", person="d"),
        event("buy", "2025-03-05T13:00:00", person="d"),
        # e: cart and view at the same instant: t1 < t2 is required, so only step 1
        event("view", "2025-03-10T10:00:00", person="e"),
        event("cart", "2025-03-10T10:00:00", person="e"),
    )


def test_ordered_funnel_with_window(analytics: Analytics) -> None:
    _people(analytics)
    assert _funnel(analytics, window=86400) == [(5, 100.0), (3, 60.0), (2, 40.0)]
    assert _funnel(analytics) == [(5, 100.0), (3, 60.0), (3, 60.0)]


def test_strict_funnel_needs_consecutive_steps(analytics: Analytics) -> None:
    _people(analytics)
    # d has a "noise" event between cart and buy.
    assert _funnel(analytics, window=86400, order="strict") == [(5, 100.0), (3, 60.0), (1, 20.0)]


def test_unordered_funnel(analytics: Analytics) -> None:
    _people(analytics)
    # c did all three in the wrong order within an hour; e did two.
    assert _funnel(analytics, window=86400, order="unordered") == [(5, 100.0), (5, 100.0), (3, 60.0)]


def test_time_to_convert_and_drop_off(analytics: Analytics) -> None:
    _people(analytics)
    spec = {
        "kind": "funnel",
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "window": 86400,
        "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}],
    }
    steps = analytics.query(spec)["steps"]
    # cart: a after 300 s, b after 3,600 s, d after 7,200 s
    assert steps[1]["avg_time_to_convert"] == 3700.0
    assert steps[1]["median_time_to_convert"] == 3600.0
    assert steps[1]["drop_off"] == 2
    # buy: a after 600 s, d after 10,800 s
    assert steps[2]["avg_time_to_convert"] == 5700.0
    assert steps[2]["step_conversion_rate"] == round(2 * 100 / 3, 2)


def test_step_filters(analytics: Analytics) -> None:
    analytics.add(
        event("view", "2025-03-10T10:00:00", person="a", properties={"plan": "pro"}),
        event("buy", "2025-03-10T10:01:00", person="a"),
        event("view", "2025-03-10T10:00:00", person="b", properties={"plan": "free"}),
        event("buy", "2025-03-10T10:01:00", person="b"),
    )
    spec = {
        "kind": "funnel",
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "steps": [
            {"event": "view", "filters": [{"property": "properties.plan", "value": "pro"}]},
            {"event": "buy"},
        ],
    }
    assert [s["users"] for s in analytics.query(spec)["steps"]] == [1, 1]


def test_breakdown_by_the_first_step_event(analytics: Analytics) -> None:
    analytics.add(
        event("view", "2025-03-10T10:00:00", person="a", browser="Firefox"),
        event("view", "2025-03-10T10:30:00", person="a", browser="Chrome"),  # a's later view: not its value
        event("buy", "2025-03-10T11:00:00", person="a"),
        event("view", "2025-03-10T10:00:00", person="b", browser="Chrome"),
        event("view", "2025-03-10T10:00:00", person="c", browser="Chrome"),
        event("buy", "2025-03-10T10:05:00", person="c"),
        event("view", "2025-03-10T10:00:00", person="d"),
    )
    spec = {
        "kind": "funnel",
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "steps": [{"event": "view"}, {"event": "buy"}],
        "breakdown": "browser",
    }
    r = analytics.query(spec)
    assert [s["users"] for s in r["steps"]] == [4, 2]
    got = {b["value"]: [s["users"] for s in b["steps"]] for b in r["breakdown"]}
    assert got == {"Chrome": [2, 1], "Firefox": [1, 1], None: [1, 0]}
    assert r["breakdown"][0]["value"] == "Chrome"


def test_a_sign_up_funnel_follows_the_person_across_the_alias(analytics: Analytics) -> None:
    # Events keep the id known when they arrived: anon-1's steps, then alice's after the alias.
    analytics.add(
        event("view", "2025-03-10T10:00:00", person="anon-1"),
        event("cart", "2025-03-10T10:01:00", person="anon-1"),
        event("$alias", "2025-03-10T10:02:00", person="alice", properties={"alias": "anon-1"}),
        event("buy", "2025-03-10T10:03:00", person="alice"),
        event("view", "2025-03-10T11:00:00", person="anon-2"),  # never signs up
    )
    assert _funnel(analytics) == [(2, 100.0), (1, 50.0), (1, 50.0)]
    trend = analytics.query(
        {
            "kind": "trends",
            "date_from": "2025-03-10",
            "date_to": "2025-03-10",
            "series": [{"event": "view", "math": "unique_users"}, {"math": "unique_users"}],
        }
    )
    assert [s["data"] for s in trend["series"]] == [[2], [2]]  # anon-1 and alice are one person
