"""Cohorts on both engines: the ``cohort`` filter keeps the events of the members (every id of theirs,
through the alias links) and nothing of another project's cohort of the same id; members are computed from
each kind of definition, in literal numbers."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError
from tests.integration.query.events_kit import Analytics, analytics, event

from belvedere.insights.cohorts import members as members_module
from belvedere.insights.cohorts.members import TooManyMembers, members
from belvedere.insights.cohorts.service import parse_definition
from belvedere.query import parse_query

__all__ = ["analytics"]

NOW = datetime(2025, 3, 31, 12, 0)
DAY = {"date_from": "2025-03-01", "date_to": "2025-03-31"}


def _world(analytics: Analytics) -> None:
    analytics.add(
        event("a", "2025-03-10T10:00:00", person="alice"),
        event("a", "2025-03-29T10:00:00", person="alice", browser="Firefox"),
        event("a", "2025-03-09T09:00:00", person="anon-1"),
        event("$alias", "2025-03-10T10:01:00", person="alice", properties={"alias": "anon-1"}),
        event("a", "2025-03-30T10:00:00", person="bob"),
        event("b", "2025-03-30T11:00:00", person="bob"),
        event("a", "2025-03-30T10:00:00", person="bob", project_id=2),
        event("a", "2025-03-30T10:00:00", person="carol", project_id=2),
    )
    analytics.now = NOW


def _events(analytics: Analytics, filters: list[dict[str, object]], project_id: int = 1) -> int:
    r = analytics.query({"kind": "stats", **DAY, "filters": filters}, project_id=project_id)
    return int(r["results"]["events"]["value"])


def test_the_cohort_filter_keeps_the_members_events_and_no_other_project_s(analytics: Analytics) -> None:
    _world(analytics)
    store = analytics.store
    store.replace_cohort(project_id=1, cohort_id=7, people=["alice"])
    store.replace_cohort(project_id=1, cohort_id=8, people=["bob"])
    store.replace_cohort(project_id=2, cohort_id=9, people=["carol", "bob"])
    # alice: two events, anon-1's event (aliased to her) and the $alias event itself.
    assert _events(analytics, [{"property": "cohort", "value": 7}]) == 4
    assert _events(analytics, [{"property": "cohort", "operator": "neq", "value": 7}]) == 2
    assert _events(analytics, [{"property": "cohort", "operator": "in", "value": [7, 8]}]) == 6
    assert _events(analytics, [{"property": "cohort", "operator": "not_in", "value": [7, 8]}]) == 0
    # Project 2's cohort 9 is nobody here; project 1's cohorts are nobody there.
    assert _events(analytics, [{"property": "cohort", "value": 9}]) == 0
    assert _events(analytics, [{"property": "cohort", "value": 9}], project_id=2) == 2
    assert _events(analytics, [{"property": "cohort", "value": 8}], project_id=2) == 0
    # With another filter, and in a series of a trend, and counting people.
    both = [{"property": "cohort", "value": 7}, {"property": "browser", "value": "Firefox"}]
    assert _events(analytics, both) == 1
    trend = analytics.query(
        {
            "kind": "trends",
            **DAY,
            "interval": "month",
            "series": [
                {"event": "a", "math": "unique_users", "filters": [{"property": "cohort", "value": 7}]}
            ],
        }
    )
    assert trend["series"][0]["data"] == [1]
    # Replaced whole, and the cached answer follows.
    store.replace_cohort(project_id=1, cohort_id=7, people=["bob"])
    assert _events(analytics, [{"property": "cohort", "value": 7}]) == 2
    store.replace_cohort(project_id=1, cohort_id=7, people=[])
    assert _events(analytics, [{"property": "cohort", "value": 7}]) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"property": "cohort", "operator": "contains", "value": 1},
        {"property": "cohort", "value": "1"},
        {"property": "cohort", "value": 0},
        {"property": "cohort", "value": True},
        {"property": "cohort", "value": 1.5},
        {"property": "cohort", "value": [1]},
        {"property": "cohort", "operator": "in", "value": []},
        {"property": "cohort", "operator": "in", "value": 3},
        {"property": "cohort", "operator": "is_set"},
        {"property": "cohort", "value": 2**63},
    ],
)
def test_a_cohort_filter_takes_cohort_ids_only(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="cohort"):
        parse_query({"kind": "stats", "filters": [bad]})


def test_cohort_is_no_field_to_group_by() -> None:
    with pytest.raises(ValidationError):
        parse_query({"kind": "breakdown", "breakdown": "cohort"})


def _members(analytics: Analytics, raw: dict[str, object], project_id: int = 1) -> list[str]:
    return members(
        parse_definition(raw), store=analytics.store, project_id=project_id, timezone="UTC", now=analytics.now
    )


def test_members_of_each_definition(analytics: Analytics) -> None:
    _world(analytics)
    # Any event in the last 30 days: alice (anon-1 is hers), bob; project 2's people are not read.
    assert _members(analytics, {"type": "behaviour"}) == ["alice", "bob"]
    assert _members(analytics, {"type": "behaviour"}, project_id=2) == ["bob", "carol"]
    # "a" at least twice in 30 days: alice has three (anon-1's counts), bob one.
    assert _members(analytics, {"type": "behaviour", "event": "a", "min_count": 2}) == ["alice"]
    assert _members(analytics, {"type": "behaviour", "event": "a", "min_count": 4}) == []
    # In the last 2 days (from 29 March 12:00): bob's two; alice's of 29 March 10:00 is out.
    assert _members(analytics, {"type": "behaviour", "days": 2}) == ["bob"]
    assert _members(analytics, {"type": "behaviour", "days": 3}) == ["alice", "bob"]
    firefox = {"type": "behaviour", "filters": [{"property": "browser", "value": "Firefox"}]}
    assert _members(analytics, firefox) == ["alice"]
    # A list: an alias counts as its person, repeats once, unknown ids kept (they may come later).
    listed = {"type": "static", "ids": ["anon-1", "bob", "alice", "zed", "bob"]}
    assert _members(analytics, listed) == ["alice", "bob", "zed"]
    pattern = {
        "type": "pattern",
        "query": {"kind": "patterns", "pattern": "power_users", "top_share": 0.5, **DAY},
    }
    # Active days in March: alice 3 (9th through anon-1, 10th, 29th), bob 1: the top half is alice.
    assert _members(analytics, pattern) == ["alice"]


def test_a_rule_holding_too_many_people_is_refused_not_cut(
    analytics: Analytics, monkeypatch: pytest.MonkeyPatch
) -> None:
    _world(analytics)
    monkeypatch.setattr(members_module, "MAX_MEMBERS", 1)
    with pytest.raises(TooManyMembers, match="more than 1 people"):
        _members(analytics, {"type": "behaviour"})
    assert _members(analytics, {"type": "behaviour", "days": 2}) == ["bob"]


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "behaviour", "min_count": 0},
        {"type": "behaviour", "days": 0},
        {"type": "behaviour", "filters": [{"property": "cohort", "value": 1}]},
        {"type": "behaviour", "color": "red"},
        {"type": "static", "ids": []},
        {"type": "static", "ids": ["x" * 201]},
        {"type": "pattern", "query": {"kind": "patterns", "pattern": "feature_adoption"}},
        {"type": "pattern", "query": {"kind": "trends"}},
        {"type": "magic"},
    ],
)
def test_a_bad_definition_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_definition(bad)


def test_a_filter_on_the_person_reads_chained_links_once(analytics: Analytics) -> None:
    """Found by the cohorts' property test: a filter on the person (a cohort, a trait) made the events'
    person_id read through the alias links, and the people counted were read through them again — so with
    d aliased to b and b to a, d's events counted as a's: one person where the documented one level of
    links makes two (a; and b, who d's events belong to)."""
    analytics.add(
        event("x", "2025-03-10T10:00:00", person="a"),
        event("x", "2025-03-10T10:00:00", person="b"),
        event("x", "2025-03-10T10:00:00", person="d"),
        event("$alias", "2025-03-10T11:00:00", person="b", properties={"alias": "d"}),
        event("$alias", "2025-03-10T12:00:00", person="a", properties={"alias": "b"}),
    )
    analytics.now = NOW
    analytics.store.replace_cohort(project_id=1, cohort_id=1, people=["a", "b"])
    series = {"event": "x", "math": "unique_users"}
    for filters in (
        [],
        [{"property": "cohort", "value": 1}],
        [{"property": "person.plan", "operator": "neq", "value": "z"}],
    ):
        r = analytics.query(
            {"kind": "trends", **DAY, "interval": "month", "series": [series], "filters": filters}
        )
        assert r["series"][0]["data"] == [2], filters
        stats = analytics.query({"kind": "stats", **DAY, "filters": filters})
        assert stats["results"]["visitors"]["value"] == 2, filters


def test_a_trend_broken_down_by_cohort_counts_each_cohort_s_members(analytics: Analytics) -> None:
    _world(analytics)
    store = analytics.store
    store.replace_cohort(project_id=1, cohort_id=7, people=["alice"])
    store.replace_cohort(project_id=1, cohort_id=8, people=["alice", "bob"])  # alice in both
    spec = {
        "kind": "trends",
        **DAY,
        "interval": "month",
        "series": [{"event": "a"}, {"event": "a", "math": "unique_users"}],
        "breakdown": "cohort",
        "breakdown_cohorts": [7, 8, 9],
        "totals": True,
    }
    r = analytics.query(spec)
    got = [(s["label"], s["breakdown_value"], s["data"], s["total"]) for s in r["series"]]
    # "a" events: alice 3 (anon-1's included), bob 1; cohort 9 is nobody here.
    assert got == [
        ("A", 7, [3], 3),
        ("A", 8, [4], 4),
        ("A", 9, [0], 0),
        ("B", 7, [1], 1),
        ("B", 8, [2], 2),
        ("B", 9, [0], 0),
    ]
    with_formula = analytics.query({**spec, "formula": "A / B"})
    assert [(f["breakdown_value"], f["data"]) for f in with_formula["formula"]] == [
        (7, [3.0]),
        (8, [2.0]),
        (9, [None]),
    ]


def test_a_funnel_broken_down_by_cohort_is_each_cohort_s_funnel(analytics: Analytics) -> None:
    """a then b: alice did a (twice, once as anon-1) and no b; bob did a then b; carol (project 2) too."""
    _world(analytics)
    store = analytics.store
    store.replace_cohort(project_id=1, cohort_id=7, people=["alice"])
    store.replace_cohort(project_id=1, cohort_id=8, people=["alice", "bob"])
    store.replace_cohort(project_id=2, cohort_id=9, people=["carol", "bob"])
    spec = {
        "kind": "funnel",
        **DAY,
        "steps": [{"event": "a"}, {"event": "b"}],
        "breakdown": "cohort",
        "breakdown_cohorts": [8, 7, 9],
    }
    r = analytics.query(spec)
    assert [s["users"] for s in r["steps"]] == [2, 1]
    got = [(b["value"], [(s["users"], s["conversion_rate"]) for s in b["steps"]]) for b in r["breakdown"]]
    # In the asked order; cohort 9 is another project's, nobody here.
    assert got == [(8, [(2, 100.0), (1, 50.0)]), (7, [(1, 100.0), (0, 0.0)]), (9, [(0, None), (0, None)])]
    with pytest.raises(ValidationError):
        parse_query({**spec, "breakdown_cohorts": []})


@pytest.mark.parametrize(
    "bad",
    [
        {"breakdown": "cohort"},
        {"breakdown_cohorts": [1]},
        {"breakdown": "browser", "breakdown_cohorts": [1]},
        {"breakdown": "cohort", "breakdown_cohorts": [0]},
        {"breakdown": "cohort", "breakdown_cohorts": [1, 1]},
        {"breakdown": "cohort", "breakdown_cohorts": list(range(1, 12))},
    ],
)
def test_a_cohort_breakdown_names_its_cohorts(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_query({"kind": "trends", "series": [{}], **bad})
