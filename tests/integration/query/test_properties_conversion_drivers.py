"""Property: ``conversion_drivers`` builds the 2 by 2 tables the plain-Python reference builds: the people
(through their alias links) with events in the range, or with the population event; converted when they
reached the goal; an event name is a feature of those who did it before converting (or ever, for the
others); a property value, of those whose first event carrying the field carried it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(30)
NAMES = ("$pageview", "$pageview", "clicked", "signed_up", "paid")


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    tz = ZoneInfo(zone)
    first, last = draw(ref.date_ranges(max_days=4, zone=zone))
    spec = {
        "kind": "conversion_drivers",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "goal": draw(st.sampled_from(["signed_up", "paid", {"page": "/blog/*"}])),
        "population": draw(st.sampled_from([None, "$pageview", "clicked"])),
        "properties": draw(
            st.lists(st.sampled_from(["channel", "browser", "properties.plan"]), max_size=2, unique=True)
        ),
        "min_people": 1,
        "limit": 200,
    }
    events = draw(
        ref.events(tz, first - timedelta(days=1), last + timedelta(days=1), names=NAMES, max_size=45)
    )
    kept = ref.one_per_instant(events)
    return Scenario(zone, spec, kept)


def _reaches(e: ref.Ev, goal: Any) -> bool:
    return ref.reaches(e, goal)


def reference(scenario: Scenario) -> tuple[int, int, dict[tuple[str, Any, Any], tuple[int, int]]]:
    spec, tz = scenario.spec, ZoneInfo(scenario.zone)
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    events = sorted(
        (e for e in ref.in_dates(ref.resolved(scenario.events), tz, first, last) if e.person is not None),
        key=lambda e: e.at,
    )
    by_person: dict[str, list[ref.Ev]] = defaultdict(list)
    for e in events:
        by_person[e.person].append(e)  # type: ignore[index]
    counts: dict[tuple[str, Any, Any], list[int]] = defaultdict(lambda: [0, 0])
    converted = others = 0
    skip = {
        "$alias",
        "$identify",
        spec["population"],
        spec["goal"] if isinstance(spec["goal"], str) else None,
    }
    for own in by_person.values():
        if spec["population"] is not None and not any(e.name == spec["population"] for e in own):
            continue
        conv = next((e.at for e in own if _reaches(e, spec["goal"])), None)
        converted += conv is not None
        others += conv is None
        column = 0 if conv is not None else 1
        for name in {e.name for e in own if conv is None or e.at < conv} - skip:
            counts[("event", None, name)][column] += 1
        for field in spec["properties"]:
            value = next((v for e in own if (v := ref.text_of(e, field)) is not None), None)
            if value is not None:
                counts[("property", field, value)][column] += 1
    return converted, others, {k: (a, c) for k, (a, c) in counts.items()}


@SETTINGS
@given(scenario=scenarios())
def test_conversion_drivers_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    analytics.now = datetime(2030, 1, 1)
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    converted, others, tables = reference(scenario)
    assert (got["converted"], got["people"] - got["converted"]) == (converted, others)
    found = {
        (d["feature"], d["property"], d["value"]): (d["converted_with"], d["others_with"])
        for d in got["drivers"]
    }
    assert found == tables
    for d in got["drivers"]:
        assert d["converted_with"] + d["converted_without"] == converted
        assert d["others_with"] + d["others_without"] == others
