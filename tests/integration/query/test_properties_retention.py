"""Property: ``retention`` equals the plain-Python reference: first-time and recurring cohorts by day,
ISO week or month in the project's zone, returns per later period, periods not begun yet, and LTV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

from belvedere.query.kinds.retention import RetentionRunner

__all__ = ["analytics"]

SETTINGS = property_settings(50)
MAX_DAYS = {"day": 10, "week": 35, "month": 90}
PERIOD_DAYS = {"day": 1, "week": 7, "month": 31}
NAMES = ("$pageview", "signed_up", "purchase")


@dataclass
class Scenario:
    zone: str
    now: datetime  # naive UTC
    spec: dict[str, Any]
    events: list[ref.Ev]
    by_mask: bool = True  # cohorts by masks of periods when they fit (RetentionRunner.MASK_SLOTS)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    tz = ZoneInfo(zone)
    period = draw(st.sampled_from(["day", "week", "month"]))
    first, last = draw(ref.date_ranges(max_days=MAX_DAYS[period], zone=zone))
    periods = draw(st.integers(1, 5))
    spec = {
        "kind": "retention",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "period": period,
        "periods": periods,
        "start_event": draw(st.sampled_from([None, "signed_up", "$pageview"])),
        "return_event": draw(st.sampled_from([None, "purchase", "$pageview"])),
        "retention_type": draw(st.sampled_from(["first_time", "recurring"])),
        "revenue_property": draw(st.sampled_from([None, "revenue", "properties.amount"])),
        "filters": draw(st.one_of(st.just([]), st.just([]), st.lists(ref.filters(), min_size=1, max_size=1))),
    }
    before = timedelta(days=PERIOD_DAYS[period] * 2)
    after = timedelta(days=PERIOD_DAYS[period] * (periods + 2))
    # Events before the range (some in the first cohort's period), in it and after it.
    events = [
        *draw(ref.events(tz, first - before, first, names=NAMES, max_size=9, aliases=False)),
        *draw(ref.events(tz, first, last, names=NAMES, max_size=12)),
        *draw(ref.events(tz, last, last + after, names=NAMES, max_size=9, aliases=False)),
    ]
    end = datetime.combine(last + timedelta(days=1), time()).replace(tzinfo=tz).astimezone(UTC)
    later = draw(ref.instants(tz, last, last + after))
    now = draw(st.sampled_from([end.replace(tzinfo=None) + timedelta(days=800), later]))
    return Scenario(zone, now, spec, events, draw(st.booleans()))


# Found by hypothesis: p1's March cohort (range from 30 March) paid 1 on 1 March, in its period 0.
REVENUE_EARLY_IN_PERIOD_0 = Scenario(
    "UTC",
    datetime(2027, 1, 1),
    {
        "kind": "retention",
        "date_from": "2025-03-30",
        "date_to": "2025-03-30",
        "period": "month",
        "periods": 1,
        "retention_type": "recurring",
        "revenue_property": "properties.amount",
    },
    [
        ref.Ev("$pageview", datetime(2025, 3, 1), "p1", "p1.a", {"path": "/"}, {"amount": 1}),
        ref.Ev("$pageview", datetime(2025, 3, 30), "p1", "p1.a", {"path": "/"}),
    ],
)


@SETTINGS
@given(scenario=scenarios())
@example(REVENUE_EARLY_IN_PERIOD_0)
def test_retention_matches_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    analytics.now = scenario.now
    with patch.object(RetentionRunner, "MASK_SLOTS", RetentionRunner.MASK_SLOTS if scenario.by_mask else 0):
        got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = ref.retention(scenario.events, ZoneInfo(scenario.zone), scenario.spec, scenario.now)
    assert got["cohorts"] == expected
