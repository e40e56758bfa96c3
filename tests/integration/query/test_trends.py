"""trends: series per bucket in the project's time zone, maths, breakdown, formula, cumulative."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tests.integration.query.events_kit import Analytics, analytics, event, pageview

__all__ = ["analytics"]


def _add_purchases(analytics: Analytics) -> None:
    analytics.add(
        event("purchase", "2025-03-10T08:00:00", person="a", properties={"amount": 10}, revenue=10.0),
        event("purchase", "2025-03-10T09:00:00", person="a", properties={"amount": 30}, revenue=30.0),
        event("purchase", "2025-03-10T23:30:00", person="b", properties={"amount": 20}, revenue=20.0),
        event("purchase", "2025-03-12T12:00:00", person="c", properties={"amount": "5.5"}, revenue=5.5),
        event("refund", "2025-03-12T12:00:00", person="c"),
    )


def test_total_and_unique_users_per_day_zero_filled(analytics: Analytics) -> None:
    _add_purchases(analytics)
    r = analytics.query(
        {
            "kind": "trends",
            "date_from": "2025-03-10",
            "date_to": "2025-03-13",
            "series": [{"event": "purchase"}, {"event": "purchase", "math": "unique_users"}],
        }
    )
    assert r["labels"] == ["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-13"]
    assert r["series"][0]["data"] == [3, 0, 1, 0]
    assert r["series"][0]["total"] == 4
    assert r["series"][1]["data"] == [2, 0, 1, 0]


def test_days_follow_the_project_time_zone(analytics: Analytics) -> None:
    _add_purchases(analytics)
    # 23:30 UTC on the 10th is 00:30 on the 11th in Paris (UTC+1 in March before the DST change).
    r = analytics.query(
        {
            "kind": "trends",
            "date_from": "2025-03-10",
            "date_to": "2025-03-12",
            "series": [{"event": "purchase"}],
        },
        timezone="Europe/Paris",
    )
    assert r["series"][0]["data"] == [2, 1, 1]


def test_property_maths(analytics: Analytics) -> None:
    _add_purchases(analytics)
    base = {"kind": "trends", "date_from": "2025-03-10", "date_to": "2025-03-12", "interval": "week"}

    def value(math: str, prop: str = "properties.amount") -> object:
        spec = {**base, "series": [{"event": "purchase", "math": math, "math_property": prop}]}
        return analytics.query(spec)["series"][0]["data"][0]

    assert value("sum") == 65.5
    assert value("sum", "revenue") == 65.5
    assert value("avg") == 16.375
    assert value("min") == 5.5
    assert value("max") == 30
    assert value("median") == 15.0
    assert value("p90") == pytest.approx(27.0)


def test_breakdown_top_values_and_other(analytics: Analytics) -> None:
    analytics.add(
        *[pageview("2025-03-10T10:00:00", person=f"c{i}", browser="Chrome") for i in range(3)],
        *[pageview("2025-03-10T10:00:00", person=f"f{i}", browser="Firefox") for i in range(2)],
        pageview("2025-03-10T10:00:00", person="s", browser="Safari"),
        pageview("2025-03-10T10:00:00", person="n"),
    )
    r = analytics.query(
        {
            "kind": "trends",
            "date_from": "2025-03-10",
            "date_to": "2025-03-10",
            "series": [{"event": "$pageview"}],
            "breakdown": "browser",
            "breakdown_limit": 2,
        }
    )
    got = {s["breakdown_value"]: s["data"] for s in r["series"]}
    assert got == {"Chrome": [3], "Firefox": [2], "$other": [2]}
    assert r["series"][-1]["breakdown_value"] == "$other"


def test_unique_people_by_value_in_one_statement(analytics: Analytics) -> None:
    """Unique people per (bucket, value): the top values by events (ties by value), the rest folded into
    ``$other`` where each person counts once, ids read through the alias links; and the range's total."""
    analytics.add(
        # Chrome: 4 events of 2 people; Edge: 3 events of 3 people; Firefox and Opera: 2 events each (a tie
        # that the value breaks: Firefox is kept with a limit of 3, Opera folded).
        pageview("2025-03-10T10:00:00", person="a", session="a", browser="Chrome"),
        pageview("2025-03-10T10:01:00", person="a", session="a", browser="Chrome"),
        pageview("2025-03-11T10:00:00", person="a", session="a2", browser="Chrome"),
        pageview("2025-03-11T10:00:00", person="anon-b", session="b", browser="Chrome"),
        *[pageview("2025-03-10T11:00:00", person=p, session=p, browser="Edge") for p in ("c", "d", "e")],
        pageview("2025-03-10T12:00:00", person="user-b", session="b2", browser="Firefox"),
        pageview("2025-03-11T12:00:00", person="f", session="f", browser="Firefox"),
        pageview("2025-03-10T13:00:00", person="f", session="f2", browser="Opera"),
        pageview("2025-03-10T13:30:00", person="c", session="c2", browser="Opera"),
        # One person in both folded values on one day: once in "$other". anon-b is user-b.
        pageview("2025-03-10T14:00:00", person="f", session="f3", browser="Safari"),
        event("$alias", "2025-03-10T12:05:00", person="user-b", session="b2", properties={"alias": "anon-b"}),
    )
    spec = {
        "kind": "trends",
        "date_from": "2025-03-10",
        "date_to": "2025-03-11",
        "series": [{"event": "$pageview", "math": "unique_users"}],
        "breakdown": "browser",
        "breakdown_limit": 3,
        "totals": True,
    }
    got = {s["breakdown_value"]: (s["data"], s["total"]) for s in analytics.query(spec)["series"]}
    assert got == {
        "Chrome": ([1, 2], 2),
        "Edge": ([3, 0], 3),
        "Firefox": ([1, 1], 2),
        "$other": ([2, 0], 2),  # f (Opera and Safari) and c (Opera)
    }
    # Every value a top value: nothing folded.
    every = analytics.query({**spec, "breakdown_limit": 10})["series"]
    assert {s["breakdown_value"]: s["data"] for s in every} == {
        "Chrome": [1, 2],
        "Edge": [3, 0],
        "Firefox": [1, 1],
        "Opera": [2, 0],
        "Safari": [1, 0],
    }
    # Cumulative: each person from the day first seen, folded the same way.
    cumulative = analytics.query({**spec, "cumulative": True, "totals": False})["series"]
    assert {s["breakdown_value"]: s["data"] for s in cumulative}["Chrome"] == [1, 2]


def test_formula_and_cumulative(analytics: Analytics) -> None:
    _add_purchases(analytics)
    spec = {
        "kind": "trends",
        "date_from": "2025-03-10",
        "date_to": "2025-03-12",
        "series": [{"event": "purchase"}, {"event": "purchase", "math": "unique_users"}],
        "formula": "A / B",
    }
    r = analytics.query(spec)
    assert r["formula"][0]["data"] == [1.5, None, 1.0]
    cumulative = analytics.query({**spec, "formula": None, "cumulative": True})
    assert cumulative["series"][0]["data"] == [3, 3, 4]
    # Cumulative distinct users count each user once: a (twice on the 10th), b, c.
    assert cumulative["series"][1]["data"] == [2, 2, 3]


def test_totals_over_the_whole_range_whatever_the_math(analytics: Analytics) -> None:
    _add_purchases(analytics)
    analytics.add(event("purchase", "2025-03-12T15:00:00", person="a", properties={"amount": 4}))
    spec = {
        "kind": "trends",
        "date_from": "2025-03-10",
        "date_to": "2025-03-12",
        "series": [
            {"event": "purchase"},
            {"event": "purchase", "math": "unique_users"},
            {"event": "purchase", "math": "avg", "math_property": "properties.amount"},
        ],
        "formula": "A / B",
        "totals": True,
    }
    r = analytics.query(spec)
    people = r["series"][1]
    assert people["data"] == [2, 0, 2]  # a and b, then c and a again
    assert people["total"] == 3  # a, b and c: not the 4 the days add up to
    assert r["series"][0]["total"] == 5
    assert r["series"][2]["total"] == pytest.approx((10 + 30 + 20 + 5.5 + 4) / 5)
    assert r["formula"][0]["total"] == pytest.approx(5 / 3)
    # By browser: each value's own people over the range.
    split = analytics.query({**spec, "series": spec["series"][1:2], "formula": None, "breakdown": "event"})
    assert [(s["breakdown_value"], s["total"]) for s in split["series"]] == [("purchase", 3)]
    # Without ``totals``, only counts and sums carry one (as before).
    plain = analytics.query({**spec, "totals": False, "formula": None})
    assert [s.get("total") for s in plain["series"]] == [5, None, None]


def test_invalid_specs_name_the_field() -> None:
    from belvedere.query import parse_query

    with pytest.raises(ValidationError) as bad_math:
        parse_query({"kind": "trends", "series": [{"event": "x", "math": "sum"}]})
    assert "math_property" in str(bad_math.value)
    with pytest.raises(ValidationError, match="not a series"):
        parse_query({"kind": "trends", "series": [{"event": "x"}], "formula": "A + C"})
    with pytest.raises(ValidationError, match="import"):
        parse_query({"kind": "trends", "series": [{"event": "x"}], "formula": "__import__('os')"})
    with pytest.raises(ValidationError, match="unknown field"):
        parse_query({"kind": "trends", "series": [{"event": "x"}], "breakdown": "password; DROP TABLE"})
