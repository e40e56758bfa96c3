"""Property: ``stickiness`` equals the plain-Python reference: of the people (through their alias links)
active in the range, how many were active in exactly k of its intervals (hours, days, ISO weeks, months of
the project's zone, across DST changes), for k = 1 … the number of intervals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(40)
MAX_DAYS = {"hour": 2, "day": 10, "week": 30, "month": 70}


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    tz = ZoneInfo(zone)
    interval = draw(st.sampled_from(["hour", "day", "week", "month"]))
    first, last = draw(ref.date_ranges(max_days=MAX_DAYS[interval], zone=zone))
    spec = {
        "kind": "stickiness",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "interval": interval,
        "event": draw(st.sampled_from([None, "$pageview", "signed_up"])),
        "filters": draw(st.one_of(st.just([]), st.lists(ref.filters(), min_size=1, max_size=1))),
    }
    events = draw(ref.events(tz, first - timedelta(days=2), last + timedelta(days=2), max_size=30))
    return Scenario(zone, spec, events)


def reference(scenario: Scenario) -> dict[str, Any]:
    spec, tz = scenario.spec, ZoneInfo(scenario.zone)
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    interval = spec["interval"]
    labels = ref.buckets(tz, first, last, interval)
    active: dict[str, set[datetime]] = defaultdict(set)
    for e in ref.in_dates(ref.resolved(scenario.events), tz, first, last):
        if e.person is None or (spec["event"] is not None and e.name != spec["event"]):
            continue
        if ref.passes(e, spec["filters"]):
            active[e.person].add(ref.bucket_of(ref.local(e.at, tz), interval))
    counts: dict[int, int] = defaultdict(int)
    for seen in active.values():
        counts[len(seen)] += 1
    rows = [{"intervals": k, "people": counts.get(k, 0)} for k in range(1, len(labels) + 1)]
    # Active people per interval, counted interval by interval (not from the rows above).
    per_interval = [sum(1 for seen in active.values() if label in seen) for label in labels]
    average = sum(per_interval) / len(labels)
    ratio = round(average * 100 / len(active), 2) if active else None
    return {"results": rows, "people": len(active), "average_active": round(average, 2), "ratio": ratio}


# Two ids of one person (an alias) active on two days: one person, twice; not two people once each.
ALIASED = Scenario(
    "UTC",
    {
        "kind": "stickiness",
        "date_from": "2025-03-10",
        "date_to": "2025-03-12",
        "interval": "day",
        "event": None,
        "filters": [],
    },
    [
        ref.Ev("$pageview", datetime(2025, 3, 10, 10), "p1", "p1.a", {"path": "/"}),
        ref.Ev("$pageview", datetime(2025, 3, 11, 10), "p2", "p2.a", {"path": "/"}),
        ref.Ev("$alias", datetime(2025, 3, 11, 11), "p1", None, {}, {"alias": "p2"}),
        ref.Ev("$pageview", datetime(2025, 3, 12, 9), "p3", "p3.a", {"path": "/"}),
    ],
)


@SETTINGS
@given(scenario=scenarios())
@example(ALIASED)
def test_stickiness_matches_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    assert {k: got[k] for k in ("results", "people", "average_active", "ratio")} == reference(scenario)


def test_stickiness_in_literal_numbers(analytics: Analytics) -> None:
    project_id = ref.load(analytics, ALIASED.events)
    got = analytics.query(ALIASED.spec, project_id=project_id)
    # p1 (with p2, its alias) on the 10th and the 11th (both ids that day count once); p3 on the 12th.
    assert got["results"] == [
        {"intervals": 1, "people": 1},
        {"intervals": 2, "people": 1},
        {"intervals": 3, "people": 0},
    ]
    assert got["people"] == 2
    # Active per day: 1, 1 (p1 through its alias), 1 — one a day on average, half of the two people.
    assert (got["average_active"], got["ratio"]) == (1.0, 50.0)
