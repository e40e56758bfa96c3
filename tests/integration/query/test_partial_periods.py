"""Issue #27: a period under way is compared with the same elapsed part of the previous one (literal numbers,
both engines). At 14:00 "today" had 1 visitor, and yesterday had 1 by 14:00 and 3 in all: the change is
0 %, not the -67 % a whole day would show."""

from __future__ import annotations

from datetime import datetime

from tests.integration.query.events_kit import Analytics, analytics, pageview

from belvedere.web.pages.periods import INTERVAL, dates

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


def test_the_same_period_last_year_is_cut_the_same_way(analytics: Analytics) -> None:
    """compare_to previous_year: this month so far against the same dates of last year's month so far."""
    analytics.now = datetime(2025, 3, 31, 14, 0)
    analytics.add(
        pageview("2024-03-02 09:00", person="a", session="s1"),
        pageview("2024-03-31 13:00", person="b", session="s2"),
        pageview("2024-03-31 15:00", person="c", session="s3"),  # after 14:00 on the 31st: not yet
        pageview("2024-02-29 12:00", person="d", session="s4"),  # before the month
        pageview("2025-03-10 12:00", person="e", session="s5"),
        pageview("2025-03-31 11:00", person="e", session="s6"),
        pageview("2025-03-31 12:00", person="f", session="s7"),
        pageview("2025-02-28 13:00", person="g", session="s8"),  # the 31 days before, until 14:00
        pageview("2025-02-28 15:00", person="h", session="s9"),  # after 14:00: not yet
    )
    month = {"kind": "stats", "date_from": "mtd", "compare_to": "previous_year"}
    assert analytics.query(month)["results"]["visitors"] == {"value": 2, "previous": 2, "change": 0.0}
    pageviews = analytics.query(month)["results"]["pageviews"]
    assert pageviews == {"value": 3, "previous": 2, "change": 50.0}
    # The previous period: as many days just before (29 January to 28 February), until 14:00 on its last.
    before = analytics.query({**month, "compare_to": "previous_period"})["results"]["visitors"]
    assert before == {"value": 2, "previous": 1, "change": 100.0}


def test_a_trend_under_way_says_which_bucket_holds_now(analytics: Analytics) -> None:
    """``current``: the bucket holding now (unfinished; later ones have not begun), none once the range is
    over; compare_to previous_year puts last year's same dates beside it, whole."""
    analytics.add(
        pageview("2025-03-30 10:00", person="a", session="s1"),
        pageview("2024-03-30 10:00", person="b", session="s2"),
        pageview("2024-03-31 16:00", person="c", session="s3"),
    )
    spec = {"kind": "trends", "series": [{"event": "$pageview"}], "date_from": "-2d", "interval": "day"}
    analytics.now = datetime(2025, 3, 31, 14, 0)
    trend = analytics.query({**spec, "compare": True, "compare_to": "previous_year"})
    assert trend["labels"] == ["2025-03-29", "2025-03-30", "2025-03-31"] and trend["current"] == 2
    assert trend["series"][0]["data"] == [0, 1, 0]
    assert trend["previous"]["labels"] == ["2024-03-29", "2024-03-30", "2024-03-31"]
    assert trend["previous"]["series"][0]["data"] == [0, 1, 1]  # last year's whole day
    hours = analytics.query({**spec, "date_from": "today", "interval": "hour"}, timezone="Europe/Paris")
    assert len(hours["labels"]) == 24 and hours["current"] == 16  # 14:00 UTC is 16:00 in Paris
    analytics.now = datetime(2025, 4, 2, 9, 0)
    over = analytics.query({**spec, "date_from": "2025-03-29", "date_to": "2025-03-31"})
    assert "current" not in over


def test_each_overview_period_draws_as_many_buckets_as_it_says_the_last_one_under_way(
    analytics: Analytics,
) -> None:
    """The overview's periods through the trends kind: "7 days" is 7 daily buckets ending with today's,
    which holds now; "12 months" 12 monthly ones; "today" 24 hours, the 15th under way at 14:30."""
    analytics.now = datetime(2026, 12, 6, 14, 30)
    analytics.add(pageview("2026-12-06 09:00", person="a", session="s1"))
    expected = {"today": (24, 14), "7d": (7, 6), "30d": (30, 29), "12m": (12, 11), "mtd": (6, 5)}
    for period, (buckets, current) in expected.items():
        window = dates(period)
        spec = {"kind": "trends", "series": [{"event": "$pageview"}], "interval": INTERVAL[period], **window}
        answer = analytics.query(spec)
        assert (len(answer["labels"]), answer["current"]) == (buckets, current), period
        assert sum(answer["series"][0]["data"]) == 1
