"""Property: ``trends`` equals the plain-Python reference: buckets (hour, day, ISO week, month) in the
project's zone across DST changes, zero-filled, every math, breakdown top N + ``$other``, cumulative,
formula, and the previous period."""

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

SETTINGS = property_settings(50)
MAX_DAYS = {"hour": 2, "day": 10, "week": 20, "month": 70}
MATHS = (
    "total",
    "unique_users",
    "unique_sessions",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "p90",
    "p95",
    "p99",
)
CUMULATIVE = ("total", "sum", "unique_users", "unique_sessions")
# A filter now and then: most examples should keep enough events to count.
SOME_FILTERS = st.one_of(
    st.just([]), st.just([]), st.just([]), st.lists(ref.filters(), min_size=1, max_size=1)
)
NAMES = ("$pageview", "$pageview", "purchase", "signed_up")


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def series(draw: st.DrawFn, maths: tuple[str, ...] = MATHS) -> dict[str, Any]:
    one: dict[str, Any] = {
        "event": draw(st.sampled_from([*NAMES[1:], None])),
        "math": draw(st.sampled_from(maths)),
    }
    if one["math"] not in ("total", "unique_users", "unique_sessions"):
        one["math_property"] = draw(st.sampled_from(["properties.amount", "revenue"]))
    one["filters"] = draw(SOME_FILTERS)
    return one


@st.composite
def scenarios(draw: st.DrawFn, *, compare: bool = False) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    interval = draw(st.sampled_from(["hour", "day", "week", "month"]))
    first, last = draw(ref.date_ranges(max_days=MAX_DAYS[interval], zone=zone))
    cumulative = draw(st.booleans())
    spec: dict[str, Any] = {
        "kind": "trends",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "interval": interval,
        "series": draw(st.lists(series(CUMULATIVE if cumulative else MATHS), min_size=1, max_size=3)),
        "filters": draw(SOME_FILTERS),
    }
    if draw(st.booleans()):
        spec["breakdown"] = draw(
            st.sampled_from(["browser", "channel", "properties.plan", "properties.amount"])
        )
        spec["breakdown_limit"] = draw(st.integers(1, 3))
    elif len(spec["series"]) >= 2 and draw(st.booleans()):
        spec["formula"] = draw(st.sampled_from(sorted(ref.FORMULAS)))
    if cumulative:
        spec["cumulative"] = True
    spread_from = first - timedelta(days=1)
    if compare:
        spec["compare"] = True
        spread_from -= timedelta(days=(last - first).days + 1)
    tz = ZoneInfo(zone)
    events = draw(ref.events(tz, spread_from, last + timedelta(days=1), names=NAMES, max_size=25))
    return Scenario(zone, spec, events)


def _trend(
    day_from: str, day_to: str, *series: dict[str, Any], zone: str = "UTC", **extra: Any
) -> dict[str, Any]:
    return {"kind": "trends", "date_from": day_from, "date_to": day_to, "series": list(series), **extra}


def _ev(name: str, at: datetime, **kw: Any) -> ref.Ev:
    return ref.Ev(name, at, kw.pop("person", "p1"), kw.pop("session", "p1.a"), **kw)


# Cases hypothesis found (minimal), kept as explicit examples.
PARIS_SPRING_HOURS = Scenario(  # 02:00 did not happen in Paris on 30 March 2025: no label for it
    "Europe/Paris", _trend("2025-03-30", "2025-03-30", {"event": "$pageview"}, interval="hour"), []
)
CUMULATIVE_SUM = Scenario(  # 0.1 then 0.2: the running total is 0.3, not 0.30000000000000004
    "UTC",
    _trend(
        "2025-03-10",
        "2025-03-11",
        {"event": "purchase", "math": "sum", "math_property": "revenue"},
        cumulative=True,
    ),
    [
        _ev("purchase", datetime(2025, 3, 10, 10), columns={"revenue": 0.1}),
        _ev("purchase", datetime(2025, 3, 11, 10), columns={"revenue": 0.2}),
    ],
)
CUMULATIVE_VISITS_BY_BROWSER = Scenario(  # one event, no visit: "$none" is a top value all the same
    "UTC",
    _trend(
        "2025-03-10",
        "2025-03-10",
        {"event": "$pageview", "math": "unique_sessions"},
        breakdown="browser",
        cumulative=True,
    ),
    [_ev("$pageview", datetime(2025, 3, 10, 10), session=None, columns={"path": "/"})],
)
PREVIOUS_OF_A_23_HOUR_DAY = Scenario(  # Paris, 30 March 2025: the day before starts 24 hours earlier
    "Europe/Paris",
    _trend("2025-03-30", "2025-03-30", {"event": "$pageview"}, interval="hour", compare=True),
    [_ev("$pageview", datetime(2025, 3, 28, 23, 30), columns={"path": "/"})],
)


def _assert_matches_reference(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = ref.trends(scenario.events, ZoneInfo(scenario.zone), scenario.spec)
    assert got["labels"] == expected["labels"]
    assert got["series"] == expected["series"]
    assert got.get("formula") == expected.get("formula")
    assert got.get("previous") == expected.get("previous")


@SETTINGS
@given(scenario=scenarios())
@example(PARIS_SPRING_HOURS)
@example(CUMULATIVE_SUM)
@example(CUMULATIVE_VISITS_BY_BROWSER)
def test_trends_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    _assert_matches_reference(analytics, scenario)


@SETTINGS
@given(scenario=scenarios(compare=True))
@example(PREVIOUS_OF_A_23_HOUR_DAY)
@example(
    Scenario(
        "UTC",
        {
            **CUMULATIVE_VISITS_BY_BROWSER.spec,
            "date_from": "2025-03-11",
            "date_to": "2025-03-11",
            "compare": True,
        },
        CUMULATIVE_VISITS_BY_BROWSER.events,
    )
)
def test_trends_of_the_previous_period_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    _assert_matches_reference(analytics, scenario)
