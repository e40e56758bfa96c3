"""Property: ``goals`` equals the plain-Python reference — per event name, the distinct people (read through
the alias links) who did it and how many times, sessions or not, as a share of the period's visitors as
``stats`` counts them — with filters, a list of names, ordering and pages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(50)
NAMES = ("$pageview", "clicked", "signed_up", "never_sent", "$alias")
BOOKKEEPING = {"$identify", "$alias", "$set", "$create_alias", "$groupidentify"}  # not conversions


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    first, last = draw(ref.date_ranges(max_days=7, zone=zone))
    spec: dict[str, Any] = {
        "kind": "goals",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "filters": draw(st.lists(ref.filters(), max_size=1)),
        "limit": draw(st.integers(1, 4)),
        "offset": draw(st.sampled_from([0, 0, 0, 1, 3])),
    }
    if draw(st.booleans()):
        spec["events"] = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        patterns = [g["page"] for g in ref.PAGE_GOALS]
        spec["pages"] = draw(st.lists(st.sampled_from(patterns), min_size=1, max_size=3, unique=True))
    tz = ZoneInfo(zone)
    return Scenario(zone, spec, draw(ref.events(tz, first - timedelta(days=1), last + timedelta(days=1))))


def reference(scenario: Scenario) -> dict[str, Any]:
    spec = scenario.spec
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    chosen = [e for e in ref.resolved(scenario.events) if ref.passes(e, spec["filters"])]
    in_range = ref.in_dates(chosen, ZoneInfo(scenario.zone), first, last)
    visitors = len({e.person for e in in_range if e.person is not None})

    def row(goal: str, reached: list[ref.Ev], page: bool) -> dict[str, Any]:
        people = {e.person for e in reached if e.person is not None}
        money = [ref.number_of(e, "revenue") for e in reached]
        found = {
            "goal": goal,
            "page": page,
            "people": len(people),
            "events": len(reached),
            "conversion_rate": ref.rnd(Fraction(100 * len(people), visitors), 2) if visitors else None,
        }
        carried = [m for m in money if m is not None]
        found["revenue"] = ref.rnd(sum(carried, Fraction(0)), 2) if carried else None
        return found

    by_name: dict[str, list[ref.Ev]] = defaultdict(list)
    for e in in_range:
        wanted = e.name in spec["events"] if "events" in spec else e.name not in BOOKKEEPING
        if wanted:
            by_name[e.name].append(e)
    rows = [row(name, reached, False) for name, reached in by_name.items()]
    rows.sort(key=lambda r: (-r["people"], -r["events"], r["goal"]))
    page = rows[spec["offset"] : spec["offset"] + spec["limit"]]
    for pattern in spec.get("pages", []):
        page.append(row(pattern, [e for e in in_range if ref.reaches(e, {"page": pattern})], True))
    return {"visitors": visitors, "results": page, "total_values": len(rows)}


ONE_DAY = {
    "kind": "goals",
    "date_from": "2025-03-10",
    "date_to": "2025-03-10",
    "filters": [],
    "offset": 0,
    "limit": 9,
}
SERVER_SIDE = Scenario(  # a purchase a server sent has no visit: it counts, and its person is a visitor
    "UTC",
    ONE_DAY,
    [
        ref.Ev("$pageview", datetime(2025, 3, 10, 10), "p1", "p1.a", {"path": "/"}),
        ref.Ev("clicked", datetime(2025, 3, 10, 11), "p2", None, {}),
        ref.Ev("clicked", datetime(2025, 3, 10, 12), "p2", None, {}),
    ],
)
ALIASED = Scenario(  # two ids linked by an alias are one person: 1 of 1 visitors, not 2 of 2
    "UTC",
    ONE_DAY,
    [
        ref.Ev("signed_up", datetime(2025, 3, 10, 10), "p1", "p1.a", {}),
        ref.Ev("signed_up", datetime(2025, 3, 10, 11), "p2", "p2.a", {}),
        ref.Ev("$alias", datetime(2025, 3, 10, 12), "p1", None, {}, {"alias": "p2"}),
    ],
)


@SETTINGS
@given(scenario=scenarios())
@example(SERVER_SIDE)
@example(ALIASED)
def test_goals_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    assert {k: got[k] for k in ("visitors", "results", "total_values")} == reference(scenario)


def test_a_goals_rate_is_the_rate_stats_gives(analytics: Analytics) -> None:
    """The same goal, the same period: the panel's rate and the overview's figure agree."""
    events = [*SERVER_SIDE.events, *ALIASED.events]
    project_id = ref.load(analytics, events)
    day = {"date_from": "2025-03-10", "date_to": "2025-03-10"}
    goals = analytics.query({"kind": "goals", **day}, project_id=project_id)["results"]
    for row in goals:
        stats = analytics.query({"kind": "stats", "goal": row["goal"], **day}, project_id=project_id)
        assert stats["results"]["conversions"]["value"] == row["people"]
        assert stats["results"]["conversion_rate"]["value"] == row["conversion_rate"]
    assert [(r["goal"], r["people"], r["events"]) for r in goals] == [
        ("clicked", 1, 2),
        ("signed_up", 1, 2),
        ("$pageview", 1, 1),
    ]


def test_goals_filtered_on_revenue(analytics: Analytics) -> None:
    """A filter on the revenue column (ClickHouse once read it as the sum's alias: a refused query)."""
    events = [
        ref.Ev("purchase", datetime(2025, 3, 10, 10), "p1", "p1.a", {"revenue": 12.5}),
        ref.Ev("purchase", datetime(2025, 3, 10, 11), "p2", "p2.a", {}),
    ]
    project_id = ref.load(analytics, events)
    spec = {**ONE_DAY, "filters": [{"property": "revenue", "operator": "gt", "value": 1}]}
    got = analytics.query(spec, project_id=project_id)
    assert [(r["goal"], r["people"], r["events"], r["revenue"]) for r in got["results"]] == [
        ("purchase", 1, 1, 12.5)
    ]
