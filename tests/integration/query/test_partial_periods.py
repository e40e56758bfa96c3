"""Issue #27: a period under way is compared with the same elapsed part of the previous one (literal numbers,
both engines). At 14:00 "today" had 1 visitor, and yesterday had 1 by 14:00 and 3 in all: the change is
0 %, not the -67 % a whole day would show."""

from __future__ import annotations

from datetime import datetime

from tests.integration.query.events_kit import Analytics, analytics, pageview

__all__ = ["analytics"]  # the fixture, imported for the tests below


def test_today_is_compared_with_yesterday_until_the_same_time(analytics: Analytics) -> None:
    analytics.now = datetime(2025, 3, 31, 14, 0, 30)
    analytics.add(
        pageview("2025-03-30 09:00", person="a", session="s1"),
        pageview("2025-03-30 15:00", person="b", session="s2"),  # after 14:00: not yet comparable
        pageview("2025-03-30 20:00", person="c", session="s3"),
        pageview("2025-03-31 10:00", person="d", session="s4"),
    )
    today = analytics.query({"kind": "stats", "date_from": "today"})["results"]["visitors"]
    assert today == {"value": 1, "previous": 1, "change": 0.0}
    # A whole day (yesterday) is still compared with the whole day before it.
    yesterday = analytics.query({"kind": "stats", "date_from": "yesterday", "date_to": "yesterday"})
    assert yesterday["results"]["visitors"] == {"value": 3, "previous": 0, "change": None}


def test_the_cut_follows_the_clock_and_the_time_zone(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-30 13:30", person="a", session="s1"),  # 15:30 in Paris (UTC+2 since the 30th)
        pageview("2025-03-31 08:00", person="b", session="s2"),
    )
    spec = {"kind": "stats", "date_from": "today"}
    analytics.now = datetime(2025, 3, 31, 13, 0)  # 15:00 in Paris: yesterday's 15:30 visit is not yet due
    assert analytics.query(spec, timezone="Europe/Paris")["results"]["visitors"]["previous"] == 0
    analytics.now = datetime(2025, 3, 31, 13, 31)  # 15:31: it is (and the cached answer is not reused)
    assert analytics.query(spec, timezone="Europe/Paris")["results"]["visitors"]["previous"] == 1
