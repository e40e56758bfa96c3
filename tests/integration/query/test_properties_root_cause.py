"""Property: ``root_cause`` equals the plain-Python reference. In each period (the range, and the one as
long just before it), every counted unit — an event, a visit, a person through their alias links — lies
under one value of each dimension: an event's own; a visit's from its first event carrying one (any
event of the visit for a visit-level field, one of the series' otherwise); a person's from their first
event of the series carrying one. The values moved most are shown, the rest folded into $other; their
changes add up to the total's."""

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

from belvedere.store.schema import VISIT_DIMENSIONS

__all__ = ["analytics"]

SETTINGS = property_settings(40)
DIMENSIONS = ("channel", "browser", "country", "path", "properties.plan")


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
    before_first, _ = ref.previous_dates(first, last)
    spec = {
        "kind": "root_cause",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "series": {
            "event": draw(st.sampled_from([None, "$pageview", "signed_up"])),
            "math": draw(st.sampled_from(["total", "unique_users", "unique_sessions"])),
        },
        "dimensions": draw(st.lists(st.sampled_from(DIMENSIONS), min_size=1, max_size=3, unique=True)),
        "filters": draw(st.one_of(st.just([]), st.lists(ref.filters(), min_size=1, max_size=1))),
        "limit": draw(st.integers(1, 4)),
    }
    events = draw(ref.events(tz, before_first - timedelta(days=1), last + timedelta(days=1), max_size=30))
    kept = ref.one_per_instant(events)
    return Scenario(zone, spec, kept)


def _unit_values(events: list[ref.Ev], series: dict[str, Any], dimension: str) -> list[str | None]:
    """The value each counted unit of ``events`` (one period's, matching the filters) lies under: a visit
    under its visit-level value from any of its events, the others from the series' events."""
    counted = [e for e in events if series["event"] in (None, e.name)]
    if series["math"] == "total":
        return [ref.text_of(e, dimension) for e in counted]
    key = "session" if series["math"] == "unique_sessions" else "person"
    units: dict[str, str | None] = {getattr(e, key): None for e in counted if getattr(e, key) is not None}
    carrying = events if key == "session" and dimension in VISIT_DIMENSIONS else counted
    for e in sorted(carrying, key=lambda e: e.at):
        unit = getattr(e, key)
        if unit in units and units[unit] is None:
            units[unit] = ref.text_of(e, dimension)
    return list(units.values())


def reference(scenario: Scenario) -> dict[str, Any]:
    spec, tz = scenario.spec, ZoneInfo(scenario.zone)
    series = spec["series"]
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])

    def chosen(a: date, b: date) -> list[ref.Ev]:
        return [
            e for e in ref.in_dates(ref.resolved(scenario.events), tz, a, b) if ref.passes(e, spec["filters"])
        ]

    periods = [chosen(*ref.previous_dates(first, last)), chosen(first, last)]
    dimensions = []
    for dimension in spec["dimensions"]:
        counts: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
        for p, events in enumerate(periods):
            for value in _unit_values(events, series, dimension):
                counts[value][p] += 1
        # The largest change either way, then the most units, then by value (no value last).
        ordered = sorted(
            counts.items(),
            key=lambda kv: (-abs(kv[1][1] - kv[1][0]), -sum(kv[1]), kv[0] is None, kv[0] or ""),
        )
        shown = [(value, b, a) for value, (b, a) in ordered[: spec["limit"]]]
        rest = ordered[spec["limit"] :]
        if rest:
            shown.append(("$other", sum(c[0] for _, c in rest), sum(c[1] for _, c in rest)))
        dimensions.append(shown)
    any_dimension = dimensions[0]
    return {
        "before": sum(b for _, b, _ in any_dimension),
        "after": sum(a for _, _, a in any_dimension),
        "dimensions": dimensions,
    }


@SETTINGS
@given(scenario=scenarios())
def test_root_cause_matches_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    analytics.now = datetime(2030, 1, 1)
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = reference(scenario)
    shown = [[(v["value"], v["before"], v["after"]) for v in d["values"]] for d in got["dimensions"]]
    assert (got["before"], got["after"], shown) == (
        expected["before"],
        expected["after"],
        expected["dimensions"],
    )
    for dimension in got["dimensions"]:
        assert sum(v["change"] for v in dimension["values"]) == got["change"]
        if got["change"]:
            assert abs(sum(v["share"] for v in dimension["values"]) - 100) < 0.01 * len(dimension["values"])
    # The units are those trends counts.
    trends = {
        "kind": "trends",
        "date_from": scenario.spec["date_from"],
        "date_to": scenario.spec["date_to"],
        "series": [scenario.spec["series"]],
        "filters": scenario.spec["filters"],
        "totals": True,
    }
    counted = analytics.query(trends, project_id=project_id, timezone=scenario.zone)["series"][0]["total"]
    assert got["after"] == counted
