"""realtime: the last 5 and 30 minutes, events per minute, visits today against yesterday."""

from __future__ import annotations

from datetime import datetime

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

__all__ = ["analytics"]


def test_realtime_now(analytics: Analytics) -> None:
    analytics.now = datetime(2025, 3, 10, 12, 0, 30)
    analytics.add(
        pageview(
            "2025-03-10T11:58:00", "/live", person="a", session="a", referrer_domain="news.ycombinator.com"
        ),
        pageview("2025-03-10T11:40:00", "/live", person="b", session="b"),
        pageview("2025-03-10T11:40:10", "/docs", person="c", session="c", referrer_domain="google.com"),
        event("click", "2025-03-10T11:40:20", person="c", session="c"),
        pageview("2025-03-10T11:00:00", "/old", person="d", session="d"),  # today, not now
        # yesterday before 12:00:30 (two visits), and one after
        pageview("2025-03-09T08:00:00", person="y1", session="y1"),
        pageview("2025-03-09T12:00:00", person="y2", session="y2"),
        pageview("2025-03-09T15:00:00", person="y3", session="y3"),
    )
    r = analytics.query({"kind": "realtime"})
    assert (r["visitors_5m"], r["visitors_30m"]) == (1, 3)
    assert r["top_pages"] == [{"value": "/live", "visitors": 2}, {"value": "/docs", "visitors": 1}]
    assert r["top_sources"] == [
        {"value": "google.com", "visitors": 1},
        {"value": "news.ycombinator.com", "visitors": 1},
    ]
    per_minute = r["events_per_minute"]
    assert len(per_minute) == 30 and per_minute[-1]["minute"] == "2025-03-10T12:00Z"
    assert sum(m["events"] for m in per_minute) == 4
    assert per_minute[-3] == {"minute": "2025-03-10T11:58Z", "events": 1}
    assert (r["visits_today"], r["visits_yesterday_same_time"]) == (4, 2)
    assert analytics.query({"kind": "realtime"})["meta"]["cached"] is False


def test_a_statement_kept_for_its_shape_answers_for_each_project_and_time(analytics: Analytics) -> None:
    """Realtime prints its statement once per spec and then only changes the values: the project and the
    times of each call must still be the ones asked for."""
    analytics.now = datetime(2025, 3, 10, 12, 0, 30)
    analytics.add(
        pageview("2025-03-10T11:58:00", "/one", person="a", session="a"),
        pageview("2025-03-10T11:50:00", "/two", person="b", session="b", project_id=2),
        pageview("2025-03-10T11:51:00", "/two", person="c", session="c", project_id=2),
    )
    spec = {"kind": "realtime", "top": 3}
    first = analytics.query(spec)
    second = analytics.query(spec, project_id=2)
    again = analytics.query(spec)
    assert (first["visitors_30m"], first["top_pages"]) == (1, [{"value": "/one", "visitors": 1}])
    assert (second["visitors_30m"], second["top_pages"]) == (2, [{"value": "/two", "visitors": 2}])
    assert again["visitors_30m"] == 1 and again["visits_today"] == 1
    analytics.now = datetime(2025, 3, 10, 12, 25, 0)  # 11:58 is now 27 minutes ago; 11:50 is 35
    later = analytics.query(spec, project_id=2)
    assert (later["visitors_5m"], later["visitors_30m"], later["visits_today"]) == (0, 0, 2)
    assert analytics.query(spec)["visitors_30m"] == 1
