"""Property: ``event_properties`` equals the plain-Python count of the property keys the range's events
carry — of one event or all, through the filters, most first with ties by key, cut at ``limit``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(50)


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    first, last = draw(ref.date_ranges(max_days=5, zone=zone))
    spec: dict[str, Any] = {
        "kind": "event_properties",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "limit": draw(st.integers(1, 4)),
    }
    event = draw(st.sampled_from([None, "$pageview", "clicked", "signed_up", "nope"]))
    if event is not None:
        spec["event"] = event
    if draw(st.integers(0, 3)) == 0:
        spec["filters"] = [draw(ref.filters())]
    events = ref.events(ZoneInfo(zone), first - timedelta(days=1), last + timedelta(days=1), aliases=False)
    return Scenario(zone, spec, draw(events))


@SETTINGS
@given(scenario=scenarios())
def test_event_properties_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    assert got["results"] == ref.event_properties(scenario.events, ZoneInfo(scenario.zone), scenario.spec)
