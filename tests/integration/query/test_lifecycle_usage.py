"""lifecycle and usage: new, returning, resurrecting, dormant; total, active, retained, churned."""

from __future__ import annotations

from datetime import datetime

from tests.integration.query.events_kit import Analytics, analytics, event

__all__ = ["analytics"]


def _history(analytics: Analytics) -> None:
    analytics.now = datetime(2025, 3, 14, 12, 0)
    analytics.add(
        # old: first seen long before, active the day before the range and on days 0 and 2
        event("use", "2025-01-01T10:00:00", person="old"),
        event("use", "2025-03-09T10:00:00", person="old"),
        event("use", "2025-03-10T10:00:00", person="old"),
        event("use", "2025-03-12T10:00:00", person="old"),
        # fresh: new on day 0, active on day 1
        event("use", "2025-03-10T11:00:00", person="fresh"),
        event("use", "2025-03-11T11:00:00", person="fresh"),
        # late: new on day 3
        event("use", "2025-03-13T09:00:00", person="late"),
        # other events do not count as activity when an event is chosen
        event("noise", "2025-03-11T09:00:00", person="late"),
    )


SPEC = {"date_from": "2025-03-10", "date_to": "2025-03-13", "interval": "day", "event": "use"}


def test_lifecycle_statuses(analytics: Analytics) -> None:
    _history(analytics)
    r = analytics.query({"kind": "lifecycle", **SPEC})
    assert r["labels"] == ["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-13"]
    assert r["series"] == {
        "new": [1, 0, 0, 1],
        "returning": [1, 1, 0, 0],  # old on the 10th (active the 9th); fresh on the 11th
        "resurrecting": [0, 0, 1, 0],  # old on the 12th
        "dormant": [0, -1, -1, -1],  # old on the 11th, fresh on the 12th, old on the 13th
    }


def test_usage_metrics(analytics: Analytics) -> None:
    _history(analytics)
    periods = analytics.query({"kind": "usage", **SPEC})["periods"]
    assert [(p["total"], p["active"], p["new"], p["returning"]) for p in periods] == [
        (2, 2, 1, 1),
        (2, 1, 0, 1),
        (2, 1, 0, 1),
        (3, 1, 1, 0),
    ]
    assert [p["retained"] for p in periods] == [1, 1, 0, 0]
    assert [p["churned"] for p in periods] == [0, 1, 1, 1]


def test_weekly_lifecycle_with_any_event(analytics: Analytics) -> None:
    _history(analytics)
    r = analytics.query(
        {"kind": "lifecycle", "date_from": "2025-03-10", "date_to": "2025-03-16", "interval": "week"}
    )
    # Week of 10 Mar: fresh and late are new; old was active the week before (9 Mar is a Sunday).
    assert r["series"] == {"new": [2], "returning": [1], "resurrecting": [0], "dormant": [0]}


def test_the_period_under_way_is_marked(analytics: Analytics) -> None:
    """Now is 2025-03-31 12:00: the last day of a range ending today is not over (its dormant and churned
    people are only those not back yet); a range in the past has no such period."""
    analytics.add(event("$pageview", "2025-03-30T10:00:00", person="a"))
    for kind in ("lifecycle", "usage"):
        ongoing = analytics.query({"kind": kind, "date_from": "-6d", "interval": "day"})
        assert ongoing["current"] == 6
        done = analytics.query(
            {"kind": kind, "date_from": "2025-03-01", "date_to": "2025-03-07", "interval": "day"}
        )
        assert done.get("current") is None
