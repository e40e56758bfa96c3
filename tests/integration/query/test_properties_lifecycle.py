"""Property: ``lifecycle`` equals the plain-Python reference: per bucket (hour, day, ISO week, month, in
the project's zone across DST changes) the new, returning, resurrecting and dormant people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(50)
MAX_DAYS = {"hour": 2, "day": 10, "week": 30, "month": 70}
MARGIN = {"hour": 1, "day": 3, "week": 15, "month": 45}  # days of events either side of the range


@dataclass
class Scenario:
    zone: str
    now: datetime  # naive UTC
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    tz = ZoneInfo(zone)
    interval = draw(st.sampled_from(["hour", "day", "week", "month"]))
    first, last = draw(ref.date_ranges(max_days=MAX_DAYS[interval], zone=zone))
    spec = {
        "kind": "lifecycle",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "interval": interval,
        "event": draw(st.sampled_from([None, "$pageview", "signed_up"])),
        "filters": draw(st.one_of(st.just([]), st.just([]), st.lists(ref.filters(), min_size=1, max_size=1))),
    }
    margin = timedelta(days=MARGIN[interval])
    events = draw(ref.events(tz, first - margin, last + margin, max_size=30))
    # Now: long after the range, or within it (buckets after it have not started).
    end = datetime.combine(last + timedelta(days=1), time()).replace(tzinfo=tz).astimezone(UTC)
    inside = draw(ref.instants(tz, first, last))
    now = draw(st.sampled_from([end.replace(tzinfo=None) + timedelta(days=400), inside]))
    return Scenario(zone, now, spec, events)


# Found by hypothesis: in Paris on 30 March 2025 the hour after 01:00 is 03:00; p1 active in both is
# returning at 03:00 and dormant at 04:00.
ACROSS_THE_MISSING_HOUR = Scenario(
    "Europe/Paris",
    datetime(2026, 1, 1),
    {"kind": "lifecycle", "date_from": "2025-03-30", "date_to": "2025-03-30", "interval": "hour"},
    [
        ref.Ev("$pageview", datetime(2025, 3, 30, 0, 30), "p1", "p1.a", {"path": "/"}),  # 01:30 CET
        ref.Ev("$pageview", datetime(2025, 3, 30, 1, 30), "p1", "p1.a", {"path": "/"}),  # 03:30 CEST
    ],
)


@SETTINGS
@given(scenario=scenarios())
@example(ACROSS_THE_MISSING_HOUR)
def test_lifecycle_matches_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    analytics.now = scenario.now
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = ref.lifecycle(scenario.events, ZoneInfo(scenario.zone), scenario.spec, scenario.now)
    assert got["labels"] == expected["labels"]
    assert got["series"] == expected["series"]
