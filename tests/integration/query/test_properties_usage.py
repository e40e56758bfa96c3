"""Property: ``usage`` equals the plain-Python reference: per bucket (hour, day, ISO week, month, in the
project's zone across DST changes) the running total of people, and the active, new, returning, retained
and churned ones — with an activity event or any, filters, and "now" inside the range or long after it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import example, given
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics
from tests.integration.query.test_properties_lifecycle import SETTINGS, Scenario, scenarios

__all__ = ["analytics"]


def _as_usage(scenario: Scenario) -> Scenario:
    return Scenario(scenario.zone, scenario.now, {**scenario.spec, "kind": "usage"}, scenario.events)


# Found by hypothesis: the month bucket starts before the range; p1, first active on 1 March, was counted
# both before the range and as new in March (total 2).
FIRST_ACTIVE_IN_THE_BUCKET_BEFORE_THE_RANGE = Scenario(
    "UTC",
    datetime(2026, 5, 5),
    {"kind": "usage", "date_from": "2025-03-30", "date_to": "2025-03-30", "interval": "month"},
    [ref.Ev("$pageview", datetime(2025, 3, 1), "p1", "p1.a", {"path": "/"})],
)


def _view(at: datetime, person: str) -> ref.Ev:
    return ref.Ev("$pageview", at, person, f"{person}.a", {"path": "/"})


# Paris, 30 March 2025: the hour after 01:00 is 03:00. p1, active in both, is retained at 03:00 and churns
# at 04:00; p2, active at 00:30 only, churns at 01:00.
ACROSS_THE_SKIPPED_HOUR = Scenario(
    "Europe/Paris",
    datetime(2026, 1, 1),
    {"kind": "usage", "date_from": "2025-03-30", "date_to": "2025-03-30", "interval": "hour"},
    [
        _view(datetime(2025, 3, 29, 23, 30), "p2"),  # 00:30 CET
        _view(datetime(2025, 3, 30, 0, 30), "p1"),  # 01:30 CET
        _view(datetime(2025, 3, 30, 1, 30), "p1"),  # 03:30 CEST
    ],
)
# New York, 2 November 2025: the hour from 01:00 happens twice and is one bucket. p3 is linked to p1 the
# day before. "Now" is the second 01:45, so nobody has churned from the buckets after it yet.
ACROSS_THE_REPEATED_HOUR = Scenario(
    "America/New_York",
    datetime(2025, 11, 2, 6, 45),
    {"kind": "usage", "date_from": "2025-11-02", "date_to": "2025-11-02", "interval": "hour"},
    [
        ref.Ev("$alias", datetime(2025, 11, 1, 15, 0), "p1", "p1.a", {}, {"alias": "p3"}),
        _view(datetime(2025, 11, 2, 4, 30), "p2"),  # 00:30 EDT
        _view(datetime(2025, 11, 2, 5, 30), "p1"),  # 01:30 EDT
        _view(datetime(2025, 11, 2, 6, 30), "p1"),  # 01:30 EST
        _view(datetime(2025, 11, 2, 7, 10), "p3"),  # 02:10 EST
        _view(datetime(2025, 11, 2, 7, 30), "p2"),  # 02:30 EST
    ],
)


@SETTINGS
@given(scenario=scenarios().map(_as_usage))
@example(FIRST_ACTIVE_IN_THE_BUCKET_BEFORE_THE_RANGE)
@example(ACROSS_THE_SKIPPED_HOUR)
@example(ACROSS_THE_REPEATED_HOUR)
def test_usage_matches_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    analytics.now = scenario.now
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = ref.usage(scenario.events, ZoneInfo(scenario.zone), scenario.spec, scenario.now)
    assert got["interval"] == expected["interval"]
    assert got["periods"] == expected["periods"]
