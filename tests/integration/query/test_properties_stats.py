"""Property: ``stats`` equals the plain-Python reference on random small event sets, in zones with DST,
over ranges around the clock changes, with the previous period (same number of local days before)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(50)


def _pageview(at: datetime) -> ref.Ev:
    return ref.Ev("$pageview", at, "p1", "p1.a", {"path": "/"})


@dataclass
class Scenario:
    zone: str
    first: date
    last: date
    filters: list[dict[str, Any]]
    events: list[ref.Ev]
    goal: str | dict[str, str] | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    first, last = draw(ref.date_ranges(max_days=10, zone=zone))
    days = (last - first).days + 1
    # Events over the range, the previous period and a day either side.
    spread_from, spread_to = first - timedelta(days=days + 1), last + timedelta(days=1)
    filters = draw(st.lists(ref.filters(), max_size=1))
    events = draw(ref.events(ZoneInfo(zone), spread_from, spread_to))
    goal = draw(st.sampled_from([None, "signed_up", "clicked", "$pageview", "never_sent", *ref.PAGE_GOALS]))
    return Scenario(zone, first, last, filters, events, goal)


def _query(analytics: Analytics, scenario: Scenario, *, compare: bool) -> dict[str, Any]:
    project_id = ref.load(analytics, scenario.events)
    spec = {
        "kind": "stats",
        "date_from": scenario.first.isoformat(),
        "date_to": scenario.last.isoformat(),
        "filters": scenario.filters,
        "compare": compare,
        **({"goal": scenario.goal} if scenario.goal else {}),
    }
    return analytics.query(spec, project_id=project_id, timezone=scenario.zone)


@SETTINGS
@given(scenario=scenarios())
def test_stats_of_the_period_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    got = _query(analytics, scenario, compare=False)
    expected = ref.stats(
        scenario.events, scenario.tz, scenario.first, scenario.last, scenario.filters, scenario.goal
    )
    assert got["results"] == {name: {"value": v["value"]} for name, v in expected.items()}
    assert got["date_from"] == datetime.combine(scenario.first, time()).isoformat()
    assert got["date_to"] == datetime.combine(scenario.last + timedelta(days=1), time()).isoformat()


@SETTINGS
@given(scenario=scenarios())
# New York, 9 March 2025 has 23 hours: the day before it starts 24 hours earlier, not 23.
@example(
    Scenario("America/New_York", date(2025, 3, 9), date(2025, 3, 9), [], [_pageview(datetime(2025, 3, 8, 5))])
)
def test_stats_of_the_previous_period_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    """The previous period is the same number of local days just before the range, whatever the clocks
    did in between (a DST change makes a day 23 or 25 hours long). Asked once the range has ended: a range
    under way is compared with only the same elapsed part of the previous one (test_partial_periods.py)."""
    analytics.now = datetime.combine(scenario.last + timedelta(days=2), time())
    got = _query(analytics, scenario, compare=True)
    expected = ref.stats(
        scenario.events, scenario.tz, scenario.first, scenario.last, scenario.filters, scenario.goal
    )
    assert got["results"] == expected
