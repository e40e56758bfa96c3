"""root_cause on both engines, in literal numbers: the change split over a dimension's values adds up to the
total change; people and visits lie under their first value (a person's ids through the alias links); the
baseline's choices; the values beyond the limit folded into $other."""

from __future__ import annotations

from datetime import datetime
from math import comb
from typing import Any

import pytest
from tests.integration.query.events_kit import Analytics, analytics, event

from belvedere.query.runner import QueryError

__all__ = ["analytics"]


def _views(day: str, channel: str | None, n: int, tag: str, **columns: Any) -> list[dict[str, Any]]:
    return [
        event(
            "$pageview",
            f"{day}T{8 + i % 10:02d}:{i % 60:02d}:00",
            person=f"{tag}{i}",
            session=f"{tag}{i}.s",
            channel=channel,
            path="/",
            **columns,
        )
        for i in range(n)
    ]


def _week(analytics: Analytics) -> None:
    analytics.add(
        *_views("2025-03-10", "Direct", 20, "a", country="FR"),
        *_views("2025-03-10", "Organic Search", 40, "b", country="FR"),
        *_views("2025-03-11", "Direct", 20, "c", country="FR"),
        *_views("2025-03-11", "Organic Search", 12, "d", country="FR"),
        *_views("2025-03-11", "Referral", 3, "e", country="US"),
    )
    analytics.now = datetime(2025, 3, 20, 12, 0)


SPEC = {
    "kind": "root_cause",
    "series": {"event": "$pageview"},
    "date_from": "2025-03-11",
    "date_to": "2025-03-11",
    "dimensions": ["channel", "country"],
}


def _rows(dimension: dict[str, Any]) -> list[tuple[Any, int, int, int, float | None]]:
    return [(v["value"], v["before"], v["after"], v["change"], v["share"]) for v in dimension["values"]]


def test_a_drop_split_over_channels_and_countries(analytics: Analytics) -> None:
    _week(analytics)
    r = analytics.query(SPEC)
    assert (r["date_from"], r["date_to"], r["baseline_from"], r["baseline_to"]) == (
        "2025-03-11",
        "2025-03-12",
        "2025-03-10",
        "2025-03-11",
    )
    assert (r["before"], r["after"], r["change"], r["change_pct"]) == (60, 35, -25, -41.67)
    channel, country = r["dimensions"]
    assert channel["dimension"] == "channel" and channel["total_values"] == 3
    assert _rows(channel) == [
        ("Organic Search", 40, 12, -28, 112.0),
        ("Referral", 0, 3, 3, -12.0),
        ("Direct", 20, 20, 0, 0.0),
    ]
    assert _rows(country) == [("FR", 60, 32, -28, 112.0), ("US", 0, 3, 3, -12.0)]
    search = channel["values"][0]
    # 40 then 12 over two days of the same length: P(|X - 26| >= 14), X ~ Binomial(52, 1/2).
    assert search["p_value"] == pytest.approx(2 * sum(comb(52, k) for k in range(13)) / 2**52)
    assert search["significant"] and not channel["values"][1]["significant"]
    assert channel["values"][2]["p_value"] == 1.0
    # The values that went the total's way, significant: Search and France, both -28 (by dimension name).
    assert [(t["dimension"], t["value"]) for t in r["top"]] == [
        ("channel", "Organic Search"),
        ("country", "FR"),
    ]
    for math in ("unique_users", "unique_sessions"):
        same = analytics.query({**SPEC, "series": {"event": "$pageview", "math": math}})
        assert (same["before"], same["after"]) == (60, 35)
        assert _rows(same["dimensions"][0]) == _rows(channel)


def test_people_and_visits_lie_under_their_first_value(analytics: Analytics) -> None:
    """p1 comes in at 08:00 without a channel (a server event), at 09:00 by Referral, at 10:00 Direct; p2,
    linked to p1 by an alias, came at 07:00 by Email. Visits: s1 (p1's first two events) and s2."""
    analytics.add(
        event("$pageview", "2025-03-11T08:00:00", person="p1", session="s1", path="/"),
        event("$pageview", "2025-03-11T09:00:00", person="p1", session="s1", channel="Referral", path="/a"),
        event("$pageview", "2025-03-11T10:00:00", person="p1", session="s2", channel="Direct", path="/b"),
        event("$pageview", "2025-03-11T07:00:00", person="p2", session="s3", channel="Email", path="/c"),
        event("$alias", "2025-03-11T11:00:00", person="p1", session=None, properties={"alias": "p2"}),
    )
    analytics.now = datetime(2025, 3, 20, 12, 0)
    spec = {**SPEC, "dimensions": ["channel", "path"]}
    people = analytics.query({**spec, "series": {"event": "$pageview", "math": "unique_users"}})
    assert (people["before"], people["after"]) == (0, 1)
    assert [_rows(d) for d in people["dimensions"]] == [[("Email", 0, 1, 1, 100.0)], [("/c", 0, 1, 1, 100.0)]]
    visits = analytics.query({**spec, "series": {"event": "$pageview", "math": "unique_sessions"}})
    assert (visits["before"], visits["after"]) == (0, 3)
    assert sorted(_rows(visits["dimensions"][0])) == [
        ("Direct", 0, 1, 1, 33.33),
        ("Email", 0, 1, 1, 33.33),
        ("Referral", 0, 1, 1, 33.33),
    ]
    assert sorted(v["value"] for v in visits["dimensions"][1]["values"]) == ["/", "/b", "/c"]
    events = analytics.query(spec)
    assert (events["before"], events["after"]) == (0, 4)
    assert sorted(_rows(events["dimensions"][0]), key=str) == sorted(
        [
            (None, 0, 1, 1, 25.0),
            ("Direct", 0, 1, 1, 25.0),
            ("Email", 0, 1, 1, 25.0),
            ("Referral", 0, 1, 1, 25.0),
        ],
        key=str,
    )


def test_a_visit_lies_under_its_own_source_as_breakdowns_count_it(analytics: Analytics) -> None:
    """A visit's source, location and device are the visit's (its first event carrying one, whichever the
    event), as the breakdown kind and the overview's panels have them; its page is the first of the
    series'. s1 begins with a server event from Email before a page view Direct; s2 crosses midnight into
    the range, its range part with no channel; s3 has no page view. The same with a filter (the visits then
    grouped from their events rather than read from the visits table)."""
    analytics.add(
        event("signed_up", "2025-03-11T08:00:00", session="s1", channel="Email", browser="Firefox"),
        event("$pageview", "2025-03-11T08:01:00", session="s1", channel="Direct", path="/x", browser="Edge"),
        event("$pageview", "2025-03-11T08:02:00", session="s1", channel="Direct", path="/y", browser="Edge"),
        event("$pageview", "2025-03-10T23:59:00", person="u2", session="s2", channel="Referral", path="/r"),
        event("$pageview", "2025-03-11T00:01:00", person="u2", session="s2", path="/s", browser="Safari"),
        event("signed_up", "2025-03-11T09:00:00", person="u3", session="s3", channel="Email"),
    )
    analytics.now = datetime(2025, 3, 20, 12, 0)
    spec = {**SPEC, "series": {"event": "$pageview", "math": "unique_sessions"}}
    spec["dimensions"] = ["channel", "browser", "path"]
    for filters in ([], [{"property": "country", "operator": "is_not_set"}]):
        r = analytics.query({**spec, "filters": filters})
        assert (r["before"], r["after"]) == (1, 2)
        channel, browser, path = (sorted(_rows(d), key=str) for d in r["dimensions"])
        assert channel == sorted(
            [(None, 0, 1, 1, 100.0), ("Email", 0, 1, 1, 100.0), ("Referral", 1, 0, -1, -100.0)], key=str
        )
        assert browser == sorted(
            [(None, 1, 0, -1, -100.0), ("Firefox", 0, 1, 1, 100.0), ("Safari", 0, 1, 1, 100.0)], key=str
        )
        assert path == sorted(
            [("/r", 1, 0, -1, -100.0), ("/s", 0, 1, 1, 100.0), ("/x", 0, 1, 1, 100.0)], key=str
        )
    # The breakdown of the range's visits by channel agrees (s3 too: it has no page view but is a visit).
    breakdown = {
        "kind": "breakdown",
        "dimension": "channel",
        "date_from": "2025-03-11",
        "date_to": "2025-03-11",
    }
    visits = {row["value"]: row["visits"] for row in analytics.query(breakdown)["results"]}
    assert visits == {"Email": 2, None: 1}


def test_a_day_against_the_same_weekday_and_the_rest_folded(analytics: Analytics) -> None:
    rows = []
    for day, spread in (("2025-03-04", [5, 4, 3, 2, 1]), ("2025-03-11", [1, 2, 3, 4, 9])):
        for k, n in enumerate(spread):
            rows += _views(
                day, f"c{k}", n, f"{day}{k}.", **({"properties": {"plan": "pro"}} if k == 0 else {})
            )
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 20, 12, 0)
    r = analytics.query(
        {**SPEC, "baseline": "previous_week", "dimensions": ["channel", "properties.plan"], "limit": 2}
    )
    assert (r["baseline_from"], r["baseline_to"], r["before"], r["after"]) == (
        "2025-03-04",
        "2025-03-05",
        15,
        19,
    )
    channel, plan = r["dimensions"]
    # c4 +8, c0 -4; then c1 -2, c3 +2, c2 0 folded into one part: the parts still add up to +4.
    assert _rows(channel) == [("c4", 1, 9, 8, 200.0), ("c0", 5, 1, -4, -100.0), ("$other", 9, 9, 0, 0.0)]
    assert channel["total_values"] == 5
    assert _rows(plan) == [(None, 10, 18, 8, 200.0), ("pro", 5, 1, -4, -100.0)]
    with pytest.raises(QueryError, match="at most 7 days"):
        analytics.query({**SPEC, "baseline": "previous_week", "date_from": "2025-03-01"})


def test_only_counts_are_split(analytics: Analytics) -> None:
    with pytest.raises(ValueError, match="root_cause splits counts"):
        analytics.query({**SPEC, "series": {"math": "sum", "math_property": "revenue"}})
    with pytest.raises(ValueError, match="each dimension once"):
        analytics.query({**SPEC, "dimensions": ["channel", "channel"]})
