"""Property: ``realtime`` equals the plain-Python reference: people in the last 5 and 30 minutes (read
through their alias links), events per minute, top pages and sources by people, and visits today against
yesterday at the same time, with days in the project's zone — whatever the filters, and with events a
little in the future (clocks differ)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(60)
MINUTE_MS = 60_000
# How long before (or after) now an event happened: mostly within the realtime window and around its
# edges, sometimes earlier today or yesterday.
OFFSETS_MS = st.one_of(
    st.integers(-31 * MINUTE_MS, 2 * MINUTE_MS),
    st.integers(-6 * MINUTE_MS, -4 * MINUTE_MS),
    st.integers(-49 * 60 * MINUTE_MS, 0),
)
SOURCES = st.sampled_from([None, None, "google.com", "news.ycombinator.com", "t.co"])


@dataclass
class Scenario:
    zone: str
    now: datetime  # naive UTC
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def _event(draw: st.DrawFn, now: datetime) -> ref.Ev:
    person = draw(st.sampled_from(ref.PERSONS))
    name = draw(st.sampled_from(["$pageview", "$pageview", "clicked"]))
    columns = {**draw(ref.COLUMNS), "referrer_domain": draw(SOURCES)}
    if name == "$pageview" and draw(st.integers(0, 5)):
        columns["path"] = draw(ref.PATHS)
    session = draw(st.sampled_from([f"{person}.a", f"{person}.b", None]))
    at = now + timedelta(milliseconds=draw(OFFSETS_MS))
    return ref.Ev(name, at, person, session, columns, draw(ref.PROPERTIES))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    tz = ZoneInfo(zone)
    first, last = draw(ref.date_ranges(max_days=3, zone=zone))
    now = draw(ref.instants(tz, first, last))
    events = draw(st.lists(_event(now), max_size=30))
    linked = draw(st.lists(st.sampled_from(ref.PERSONS), max_size=2, unique=True))
    for who in linked:  # an alias some minutes ago: the linked id's events count as the other person's
        person = draw(st.sampled_from([p for p in ref.PERSONS if p != who]))
        at = now - timedelta(minutes=draw(st.integers(0, 40)))
        events.append(ref.Ev("$alias", at, person, f"{person}.a", {}, {"alias": who}))
    spec: dict[str, Any] = {"kind": "realtime", "top": draw(st.integers(1, 4))}
    if draw(st.integers(0, 3)) == 0:
        spec["filters"] = [draw(ref.filters())]
    return Scenario(zone, now, spec, events)


def _pv(at: datetime, person: str, path: str | None = "/", **columns: Any) -> ref.Ev:
    return ref.Ev("$pageview", at, person, f"{person}.a", {"path": path, **columns})


NOW = datetime(2025, 3, 30, 10, 0, 30)
# A value seen only on events without a person still lists, with nobody; a page view without a path does
# not list; an event one minute into the future counts in the last 30 minutes but in no minute.
EDGES = Scenario(
    "Europe/Paris",
    NOW,
    {"kind": "realtime"},
    [
        ref.Ev("$pageview", NOW - timedelta(minutes=2), None, "x.a", {"path": "/ghost"}),
        _pv(NOW - timedelta(minutes=1), "p1", path=None, referrer_domain="t.co"),
        _pv(NOW + timedelta(seconds=40), "p2", "/soon"),
        _pv(NOW - timedelta(minutes=30, seconds=1), "p3", "/too-old"),
    ],
)
# The day started at 23:00 UTC in Paris; yesterday (the day of the clock change) was an hour shorter.
AFTER_A_SHORT_DAY = Scenario(
    "Europe/Paris",
    datetime(2025, 3, 31, 0, 30),
    {"kind": "realtime"},
    [
        _pv(datetime(2025, 3, 29, 23, 0), "p1"),  # yesterday, 00:00 local
        _pv(datetime(2025, 3, 29, 23, 31), "p2"),  # yesterday after 00:30 local: not counted
        _pv(datetime(2025, 3, 30, 22, 59, 59), "p3"),  # yesterday 23:59:59 local: not counted
        _pv(datetime(2025, 3, 30, 23, 0), "p4"),  # today
    ],
)


@SETTINGS
@given(scenario=scenarios())
@example(EDGES)
@example(AFTER_A_SHORT_DAY)
def test_realtime_matches_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    analytics.now = scenario.now
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = ref.realtime(scenario.events, ZoneInfo(scenario.zone), scenario.spec, scenario.now)
    assert {key: got[key] for key in expected} == expected
