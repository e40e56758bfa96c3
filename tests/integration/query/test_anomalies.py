"""anomalies on both engines: literal numbers on a steady weekly history, the bucket under way never judged,
a new project's first days not judged, and the values equal to plain counts of random events."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from tests.integration.query.events_kit import Analytics, analytics, event

__all__ = ["analytics"]

WEEKDAY, WEEKEND = 10, 4
RANGE_START = date(2025, 3, 10)  # a Monday


def _day_events(day: date, n: int) -> list[dict[str, object]]:
    return [
        event(
            "signup", f"{day.isoformat()}T{8 + i % 12:02d}:{i % 60:02d}:00", person=f"p{day}{i}", session=None
        )
        for i in range(n)
    ]


def _steady(analytics: Analytics, first: date, last: date, special: dict[date, int]) -> None:
    rows = []
    day = first
    while day <= last:
        usual = WEEKDAY if day.weekday() < 5 else WEEKEND
        rows += _day_events(day, special.get(day, usual))
        day += timedelta(days=1)
    analytics.add(*rows)


SPEC = {
    "kind": "anomalies",
    "series": [{"event": "signup"}],
    "date_from": "2025-03-10",
    "date_to": "2025-03-16",
}


def test_a_spike_and_a_drop_in_a_steady_week(analytics: Analytics) -> None:
    """Eight steady weeks, then the range: 40 signups on Wednesday, none on Friday."""
    wednesday, friday = date(2025, 3, 12), date(2025, 3, 14)
    _steady(analytics, RANGE_START - timedelta(days=56), date(2025, 3, 16), {wednesday: 40, friday: 0})
    analytics.now = datetime(2025, 3, 20, 12, 0)
    r = analytics.query(SPEC)
    assert r["history_from"] == "2025-01-13"
    (series,) = r["series"]
    points = series["points"]
    assert [p["date"] for p in points] == [f"2025-03-{d}" for d in range(10, 17)]
    assert [p["value"] for p in points] == [10, 10, 40, 10, 0, 4, 4]
    assert [p["expected"] for p in points] == [10, 10, 10, 10, 10, 4, 4]
    # No noise in the history: the spread is Poisson's, sqrt(expected + 1); medium = 4 spreads.
    assert points[0]["upper"] == 23.27 and points[0]["lower"] == 0.0
    assert points[5]["upper"] == 12.94
    assert points[2] | {"score": None} == {
        "date": "2025-03-12",
        "value": 40,
        "expected": 10,
        "lower": 0.0,
        "upper": 23.27,
        "anomaly": True,
        "direction": "up",
        "score": None,
        "complete": True,
    }
    assert points[2]["score"] == 9.05  # (40 - 10) / sqrt(11)
    assert points[4]["score"] == -3.02 and not points[4]["anomaly"]  # 0 of 10: within 4 spreads
    assert series["anomalies"] == 1
    high = analytics.query({**SPEC, "sensitivity": "high"})["series"][0]
    assert [p["direction"] for p in high["points"]] == [None, None, "up", None, "down", None, None]


def test_the_bucket_under_way_is_shown_but_never_judged(analytics: Analytics) -> None:
    """Friday at 07:00 has none of its usual 10 signups yet (they come from 08:00): the start of a day, not a
    drop to zero, which a whole day would be at this sensitivity."""
    _steady(analytics, RANGE_START - timedelta(days=56), date(2025, 3, 13), {})
    analytics.now = datetime(2025, 3, 14, 7, 0)
    r = analytics.query({**SPEC, "sensitivity": "high"})
    points = r["series"][0]["points"]
    friday = points[4]
    assert (friday["value"], friday["expected"], friday["lower"]) == (0, 10, 0.05)
    assert (friday["complete"], friday["anomaly"]) == (False, False)
    assert [p["complete"] for p in points] == [True] * 4 + [False] * 3  # the days after have not begun
    assert not any(p["anomaly"] for p in points)
    analytics.now = datetime(2025, 3, 15, 7, 0)  # the same Friday, whole: a drop
    assert analytics.query({**SPEC, "sensitivity": "high"})["series"][0]["points"][4]["direction"] == "down"


def test_a_new_project_has_no_expected_values_until_two_weeks_of_history(analytics: Analytics) -> None:
    """Events from 10 days before the range only: the zeros before are no history."""
    _steady(analytics, RANGE_START - timedelta(days=10), date(2025, 3, 16), {})
    analytics.now = datetime(2025, 3, 20, 12, 0)
    points = analytics.query(SPEC)["series"][0]["points"]
    assert [p["expected"] for p in points] == [None, None, None, None, 10, 4, 4]
    assert not any(p["anomaly"] for p in points)


def test_bad_specs_are_refused_with_the_reason(analytics: Analytics) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="the seasonal model reads counts"):
        analytics.query({**SPEC, "series": [{"event": "buy", "math": "avg", "math_property": "revenue"}]})
    with pytest.raises(ValidationError, match="interval"):
        analytics.query({**SPEC, "interval": "week"})


@pytest.mark.parametrize("seed", [1, 2])
def test_values_are_the_plain_counts_of_random_events(analytics: Analytics, seed: int) -> None:
    """Random events over 9 weeks, hourly and daily: every value is the plain count of its bucket (UTC),
    and the verdicts are the detector's on those counts."""
    from belvedere.insights.anomaly import DAILY, judge

    rnd = random.Random(seed)
    start = datetime(2025, 1, 13)
    rows, per_day, per_hour = [], Counter[date](), Counter[str]()
    for _ in range(1500):
        when = start + timedelta(minutes=rnd.randrange(63 * 24 * 60))
        name = rnd.choice(["signup", "login"])
        rows.append(event(name, when, person=f"p{rnd.randrange(40)}", session=None))
        if name == "signup":
            per_day[when.date()] += 1
            per_hour[when.replace(minute=0).isoformat(timespec="minutes")] += 1
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 20, 12, 0)
    points = analytics.query(SPEC)["series"][0]["points"]
    days = [RANGE_START + timedelta(days=i) for i in range(7)]
    assert [p["value"] for p in points] == [per_day[d] for d in days]
    history = [start.date() + timedelta(days=i) for i in range(63)]
    counts = [float(per_day[d]) for d in history]
    seen = next(i for i, v in enumerate(counts) if v > 0)
    reference = judge(counts[seen:], [d.weekday() for d in history][seen:], DAILY, 56 - seen)
    assert [p["expected"] for p in points] == [round(j.expected, 2) if j else None for j in reference]
    assert [p["anomaly"] for p in points] == [bool(j and j.anomaly) for j in reference]
    hourly = analytics.query({**SPEC, "interval": "hour", "date_from": "2025-03-15"})["series"][0]["points"]
    assert len(hourly) == 48 and hourly[0]["date"] == "2025-03-15T00:00"
    assert [p["value"] for p in hourly] == [per_hour[p["date"]] for p in hourly]
