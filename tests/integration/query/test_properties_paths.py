"""Property: ``paths`` equals the plain-Python reference: each visit's pages (or events) in time order,
immediate repeats folded, from the first item, after ``start`` or before ``end``, edges by visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(50)
PAGES = ("/", "/pricing", "/blog", "/blog/post-1")
NAMES = ("$pageview", "$pageview", "$pageview", "clicked", "signed_up")


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]
    batches: int = 1  # written in this many batches: the `visits` table merges a visit's page sequence


def _one_per_instant(events: list[ref.Ev]) -> list[ref.Ev]:
    """At most one event per visit and instant: a visit's items then have one order."""
    seen: set[tuple[str | None, Any]] = set()
    kept = []
    for e in events:
        if e.session is None or (e.session, e.at) not in seen:
            seen.add((e.session, e.at))
            kept.append(e)
    return kept


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata"]))
    tz = ZoneInfo(zone)
    first = date(2025, 3, 28) + timedelta(days=draw(st.integers(0, 5)))
    last = first + timedelta(days=draw(st.integers(0, 2)))
    path_type = draw(st.sampled_from(["pages", "events"]))
    spec: dict[str, Any] = {
        "kind": "paths",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "path_type": path_type,
        "depth": draw(st.integers(2, 5)),
        "limit": draw(st.sampled_from([1, 2, 3, 5, 50])),
        "filters": draw(st.one_of(st.just([]), st.just([]), st.lists(ref.filters(), min_size=1, max_size=1))),
    }
    anchor = draw(st.sampled_from([None, "start", "end"]))
    if anchor is not None:
        spec[anchor] = draw(st.sampled_from(PAGES if path_type == "pages" else NAMES))
    events = draw(
        ref.events(tz, first - timedelta(days=1), last + timedelta(days=1), names=NAMES, max_size=30)
    )
    return Scenario(zone, spec, _one_per_instant(events), draw(st.integers(1, 3)))


@SETTINGS
@given(scenario=scenarios())
def test_paths_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events, batches=scenario.batches)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = ref.paths(scenario.events, ZoneInfo(scenario.zone), scenario.spec)
    assert got["direction"] == expected["direction"]
    assert got["edges"] == expected["edges"]
    assert got["nodes"] == expected["nodes"]
