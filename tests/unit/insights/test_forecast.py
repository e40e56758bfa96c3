"""The forecast on fixed inputs: a steady series is projected as itself with the documented interval, the
interval widens with the distance, and on gamma-Poisson noise it holds the truth about as often as asked."""

from __future__ import annotations

import math

import numpy as np
import pytest

from belvedere.insights.anomaly import DAILY
from belvedere.insights.forecast import project

WEEK = np.array([10.0, 10, 10, 10, 10, 4, 4])


def test_a_steady_week_is_projected_as_itself() -> None:
    t = np.arange(56)
    ahead = np.arange(56, 70) % 7
    found = project(WEEK[t % 7], t % 7, ahead, DAILY)
    assert found is not None
    assert [p.expected for p in found] == pytest.approx(list(WEEK[ahead]))
    for h, p in enumerate(found, start=1):
        spread = 1.2816 * math.sqrt((p.expected + 1) * (1 + h / 14))
        assert (p.lower, p.upper) == pytest.approx((max(0.0, p.expected - spread), p.expected + spread))
    widths = [p.upper - p.lower for p in found if p.expected == 10]
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_too_little_history_projects_nothing() -> None:
    t = np.arange(13)
    assert project(WEEK[t % 7], t % 7, np.arange(3), DAILY) is None


def test_intervals_hold_the_truth_about_as_often_as_asked() -> None:
    rng = np.random.default_rng(4)
    n = 56 + 400
    t = np.arange(n)
    values = rng.poisson(300 * WEEK[t % 7] * rng.gamma(50, 1 / 50, n)).astype(float)
    held = {80: 0, 95: 0}
    tries = 0
    for origin in range(56, n - 1):
        for coverage in (80, 95):
            (p,) = project(values[:origin], t[:origin] % 7, t[origin : origin + 1] % 7, DAILY, coverage) or []
            held[coverage] += int(p.lower <= values[origin] <= p.upper)
        tries += 1
    # A day ahead the normal approximation is a little narrow at 95 % (0.91 here; bench/anomalies.py: 0.95
    # over 1-7 days ahead, where the widening for the distance helps).
    assert 0.75 <= held[80] / tries <= 0.92
    assert 0.88 <= held[95] / tries <= 0.99
    assert held[95] > held[80]
