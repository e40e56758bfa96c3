"""forecast on both engines: a steady weekly history projected over the rest of the week, with literal
numbers (the intervals worked out by hand from the documented formula), the horizon after the period, a
period that is over, and too little history; and random events, whose projections are the model's on
their plain counts."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError
from tests.integration.query.events_kit import Analytics, analytics, event

__all__ = ["analytics"]

SPEC = {
    "kind": "forecast",
    "series": [{"event": "signup"}],
    "date_from": "2025-03-10",
    "date_to": "2025-03-16",
}


def _steady(a: Analytics, first: date, last: date) -> None:
    rows = []
    day = first
    while day <= last:
        n = 10 if day.weekday() < 5 else 4
        rows += [event("signup", f"{day}T09:{i:02d}:00", person=f"p{day}{i}", session=None) for i in range(n)]
        day += timedelta(days=1)
    a.add(*rows)


def _interval(expected: float, ahead: int, z: float = 1.2816) -> tuple[float, float]:
    """The documented interval for a noise-free history: variance (expected + 1) x (1 + h / 14)."""
    spread = z * math.sqrt((expected + 1) * (1 + ahead / 14))
    return round(max(0.0, expected - spread), 2), round(expected + spread, 2)


def test_the_rest_of_the_week_is_projected_from_eight_steady_weeks(analytics: Analytics) -> None:
    _steady(analytics, date(2025, 1, 13), date(2025, 3, 12))  # through Wednesday morning
    analytics.now = datetime(2025, 3, 12, 12, 0)  # Wednesday noon: Monday and Tuesday are complete
    (series,) = analytics.query({**SPEC, "horizon": 2})["series"]
    points = series["points"]
    assert [p["date"] for p in points] == [f"2025-03-{d}" for d in range(10, 19)]
    assert [p["value"] for p in points] == [10, 10] + [None] * 7
    assert [p["expected"] for p in points] == [None, None, 10, 10, 10, 4, 4, 10, 10]
    assert [p["in_period"] for p in points] == [True] * 7 + [False] * 2
    assert (points[2]["lower"], points[2]["upper"]) == _interval(10, 1)  # Wednesday, 1 day ahead
    assert (points[6]["lower"], points[6]["upper"]) == _interval(4, 5)  # Sunday, 5 days ahead
    assert (points[8]["lower"], points[8]["upper"]) == _interval(10, 7)  # next Tuesday
    assert series["total_so_far"] == 20
    assert series["projected_total"] == 58  # 20 so far + 10 + 10 + 10 + 4 + 4
    wide = analytics.query({**SPEC, "coverage": 95})["series"][0]["points"][2]
    assert (wide["lower"], wide["upper"]) == _interval(10, 1, z=1.96)


def test_a_period_that_is_over_projects_nothing_inside_it(analytics: Analytics) -> None:
    _steady(analytics, date(2025, 1, 13), date(2025, 3, 16))
    analytics.now = datetime(2025, 3, 20, 12, 0)
    (series,) = analytics.query(SPEC)["series"]
    assert [p["value"] for p in series["points"]] == [10, 10, 10, 10, 10, 4, 4]
    assert all(p["expected"] is None for p in series["points"])
    assert series["total_so_far"] == series["projected_total"] == 58


def test_too_little_history_projects_nothing(analytics: Analytics) -> None:
    _steady(analytics, date(2025, 3, 3), date(2025, 3, 11))
    analytics.now = datetime(2025, 3, 12, 12, 0)
    (series,) = analytics.query(SPEC)["series"]
    assert series["total_so_far"] == 20 and series["projected_total"] is None
    assert all(p["expected"] is None for p in series["points"])


def test_bad_specs_are_refused_with_the_reason(analytics: Analytics) -> None:
    with pytest.raises(ValidationError, match="at most 90 days"):
        analytics.query({**SPEC, "horizon": 91})
    with pytest.raises(ValidationError, match="the seasonal model reads counts"):
        analytics.query({**SPEC, "series": [{"event": "buy", "math": "max", "math_property": "revenue"}]})
    with pytest.raises(ValidationError, match="coverage"):
        analytics.query({**SPEC, "coverage": 99})


@pytest.mark.parametrize("seed", [1, 2])
def test_values_and_projections_are_the_model_s_on_plain_counts(analytics: Analytics, seed: int) -> None:
    """Random events over 9 weeks: the values are the plain daily counts (UTC), and the projections those
    of the model (``insights.forecast``) run on those counts, from the first day with an event."""
    import random
    from collections import Counter

    import numpy as np

    from belvedere.insights.anomaly import DAILY
    from belvedere.insights.forecast import project

    rnd = random.Random(seed)
    start = datetime(2025, 1, 13)
    rows, per_day = [], Counter[date]()
    for _ in range(1200):
        when = start + timedelta(minutes=rnd.randrange(58 * 24 * 60))  # until Wednesday 12 March
        name = rnd.choice(["signup", "login"])
        rows.append(event(name, when, person=f"p{rnd.randrange(40)}", session=None))
        if name == "signup":
            per_day[when.date()] += 1
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 12, 12, 0)
    (series,) = analytics.query({**SPEC, "horizon": 2})["series"]
    days = [start.date() + timedelta(days=i) for i in range(65)]  # the history, the week, 2 days after
    known = 58  # the days before 12 March, the one under way
    counts = np.array([float(per_day[d]) for d in days[:known]])
    phases = np.array([d.weekday() for d in days])
    seen = next(i for i, v in enumerate(counts) if v > 0)
    reference = project(counts[seen:], phases[seen:known], phases[known:], DAILY, 80)
    assert reference is not None
    points = series["points"]
    assert [p["date"] for p in points] == [d.isoformat() for d in days[56:]]
    assert [p["value"] for p in points] == [counts[56], counts[57]] + [None] * 7
    assert [p["expected"] for p in points[2:]] == [round(r.expected, 2) for r in reference]
    assert [(p["lower"], p["upper"]) for p in points[2:]] == [
        (round(r.lower, 2), round(r.upper, 2)) for r in reference
    ]
    so_far = counts[56] + counts[57]
    assert series["total_so_far"] == so_far
    assert series["projected_total"] == round(so_far + sum(round(r.expected, 2) for r in reference[:5]), 2)
