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


@SETTINGS
@given(scenario=scenarios().map(_as_usage))
@example(FIRST_ACTIVE_IN_THE_BUCKET_BEFORE_THE_RANGE)
def test_usage_matches_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    analytics.now = scenario.now
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = ref.usage(scenario.events, ZoneInfo(scenario.zone), scenario.spec, scenario.now)
    assert got["interval"] == expected["interval"]
    assert got["periods"] == expected["periods"]
