"""stats: visitors, visits, pageviews, bounce rate, visit duration and events, with the previous period."""

from __future__ import annotations

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

__all__ = ["analytics"]


def test_stats_counts_visits_bounces_and_durations(analytics: Analytics) -> None:
    analytics.add(
        # u1: one visit of three pageviews over 90 s, and a signup event
        pageview("2025-03-10T10:00:00", "/", person="u1", session="a"),
        pageview("2025-03-10T10:00:30", "/pricing", person="u1", session="a"),
        event("signed_up", "2025-03-10T10:01:00", person="u1", session="a"),
        pageview("2025-03-10T10:01:30", "/app", person="u1", session="a"),
        # u2: a bounce, then a second visit of one pageview and one click (not a bounce)
        pageview("2025-03-11T09:00:00", "/", person="u2", session="b"),
        pageview("2025-03-12T09:00:00", "/blog", person="u2", session="c"),
        event("clicked", "2025-03-12T09:00:20", person="u2", session="c"),
        # u3: outside the range
        pageview("2025-03-20T09:00:00", "/", person="u3", session="d"),
        # previous period: one visitor, one bounce
        pageview("2025-03-05T09:00:00", "/", person="u4", session="e"),
    )
    result = analytics.query({"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-16"})
    r = result["results"]
    assert r["visitors"] == {"value": 2, "previous": 1, "change": 100.0}
    assert r["visits"]["value"] == 3
    assert r["pageviews"]["value"] == 5
    assert r["events"]["value"] == 7
    assert r["views_per_visit"]["value"] == round(5 / 3, 2)
    assert r["bounce_rate"] == {"value": round(100 / 3, 2), "previous": 100.0, "change": -66.67}
    assert r["visit_duration"]["value"] == round((90 + 0 + 20) / 3, 1)
    assert result["meta"]["cached"] is False


def test_stats_of_an_empty_range(analytics: Analytics) -> None:
    r = analytics.query({"kind": "stats", "date_from": "2025-01-01", "date_to": "2025-01-31"})["results"]
    assert r["visitors"] == {"value": 0, "previous": 0, "change": None}
    assert r["bounce_rate"]["value"] is None
    assert r["visit_duration"]["value"] is None


def test_stats_are_scoped_to_the_project(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-10T10:00:00", person="mine", project_id=1),
        pageview("2025-03-10T10:00:00", person="theirs", project_id=2, session="x"),
        pageview("2025-03-10T10:05:00", person="theirs2", project_id=2, session="y"),
    )
    one = analytics.query({"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-10"})
    two = analytics.query({"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-10"}, project_id=2)
    assert one["results"]["visitors"]["value"] == 1
    assert two["results"]["visitors"]["value"] == 2


def test_a_repeated_query_is_cached_until_new_events_arrive(analytics: Analytics) -> None:
    analytics.add(pageview("2025-03-10T10:00:00", person="a"))
    spec = {"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-10"}
    assert analytics.query(spec)["meta"]["cached"] is False
    again = analytics.query(spec)
    assert again["meta"]["cached"] is True and again["results"]["visitors"]["value"] == 1
    analytics.add(pageview("2025-03-10T11:00:00", person="b", session="z"))
    fresh = analytics.query(spec)
    assert fresh["meta"]["cached"] is False and fresh["results"]["visitors"]["value"] == 2


def test_filters_narrow_the_events(analytics: Analytics) -> None:
    analytics.add(
        pageview(
            "2025-03-10T10:00:00", person="a", session="a", browser="Firefox", properties={"plan": "pro"}
        ),
        pageview(
            "2025-03-10T10:00:00", person="b", session="b", browser="Chrome", properties={"plan": "free"}
        ),
        pageview("2025-03-10T10:00:00", person="c", session="c", browser="Chrome"),
    )
    base = {"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-10"}

    def visitors(*filters: dict[str, object]) -> int:
        value: int = analytics.query({**base, "filters": list(filters)})["results"]["visitors"]["value"]
        return value

    assert visitors({"property": "browser", "operator": "eq", "value": "Chrome"}) == 2
    assert visitors({"property": "properties.plan", "operator": "neq", "value": "pro"}) == 2
    assert visitors({"property": "properties.plan", "operator": "is_set"}) == 2
    assert visitors({"property": "properties.plan", "operator": "in", "value": ["pro", "free"]}) == 2
    assert visitors({"property": "browser", "operator": "regex", "value": "^Fire"}) == 1
    assert visitors({"property": "browser", "operator": "contains", "value": "hro"}) == 2


def test_page_goals_match_path_patterns_and_revenue_sums(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-10T10:00:00", "/blog/a", person="ann", session="s1"),
        pageview("2025-03-10T10:00:00", "/blog/a/b", person="bob", session="s2"),
        pageview("2025-03-10T10:00:00", "/pricing", person="cat", session="s3"),
        pageview("2025-03-10T10:05:00", "/blog", person="cat", session="s3"),
        event("purchase", "2025-03-10T11:00:00", person="cat", session="s3", revenue=19.99),
        event("purchase", "2025-03-10T12:00:00", person="ann", session=None, revenue=5.01),
    )
    base = {"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-10", "compare": False}

    def converted(goal: object) -> tuple[int, float]:
        r = analytics.query({**base, "goal": goal})["results"]
        return r["conversions"]["value"], r["conversion_rate"]["value"]

    assert converted({"page": "/blog/*"}) == (1, 33.33)  # ann: /blog/a; not bob's /blog/a/b, nor /blog
    assert converted({"page": "/blog/**"}) == (2, 66.67)  # ann and bob
    assert converted({"page": "/blog**"}) == (3, 100.0)  # and cat's /blog
    assert converted({"page": "/pricing"}) == (1, 33.33)
    assert converted({"page": "/price.*"}) == (0, 0.0)  # the dot and star of a pattern: no regex
    assert converted("purchase") == (2, 66.67)
    assert analytics.query(base)["results"]["revenue"]["value"] == 25.0
    # By page, the share of each page's visitors who reached the goal.
    rows = analytics.query(
        {
            "kind": "breakdown",
            "date_from": "2025-03-10",
            "date_to": "2025-03-10",
            "dimension": "page",
            "goal": {"page": "/blog/**"},
        }
    )["results"]
    assert {r["value"]: r["conversion_rate"] for r in rows} == {
        "/blog/a": 100.0,
        "/blog/a/b": 100.0,
        "/pricing": 0.0,
        "/blog": 0.0,
    }


def test_filters_on_a_persons_traits(analytics: Analytics) -> None:
    """``person.<trait>``: events of the people whose traits (from identify) meet the condition; the
    negative conditions hold for people without the trait, or without traits at all."""
    analytics.add(
        event("$identify", "2025-03-09T10:00:00", person="ann", properties={"plan": "pro", "seats": 12}),
        event("$identify", "2025-03-09T10:00:00", person="bob", properties={"plan": "free", "seats": 1}),
        pageview("2025-03-10T10:00:00", "/", person="ann", session="s1"),
        pageview("2025-03-10T10:00:00", "/", person="bob", session="s2"),
        pageview("2025-03-10T10:00:00", "/", person="cat", session="s3"),  # no traits at all
        pageview("2025-03-10T11:00:00", "/", person=None, session="s4"),  # nobody
        # Another project's ann, a free user there: project 1's traits are not hers.
        event("$identify", "2025-03-09T10:00:00", person="ann", properties={"plan": "free"}, project_id=2),
        pageview("2025-03-10T10:00:00", "/", person="ann", session="t1", project_id=2),
    )
    base = {"kind": "stats", "date_from": "2025-03-10", "date_to": "2025-03-10", "compare": False}

    def pageviews(operator: str, value: object = None) -> int:
        condition = {"property": "person.plan", "operator": operator}
        if value is not None:
            condition["value"] = value
        return analytics.query({**base, "filters": [condition]})["results"]["pageviews"]["value"]

    assert pageviews("eq", "pro") == 1
    assert pageviews("neq", "pro") == 3  # bob, cat (no traits), and the event without a person
    assert pageviews("in", ["pro", "free"]) == 2
    assert pageviews("contains", "r") == 2
    assert pageviews("not_contains", "r") == 2  # cat, and nobody
    assert pageviews("is_set") == 2
    assert pageviews("is_not_set") == 2
    seats = {"property": "person.seats", "operator": "gt", "value": 5}
    assert analytics.query({**base, "filters": [seats]})["results"]["pageviews"]["value"] == 1
    other = analytics.query({**base, "filters": [{"property": "person.plan", "value": "pro"}]}, project_id=2)
    assert other["results"]["pageviews"]["value"] == 0  # project 1's ann is a pro, not project 2's
