"""The anomaly detector on fixed inputs: its seasonal profile against statsmodels' classical decomposition,
its noise against a direct computation, its bands and its verdicts on series whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa.seasonal import seasonal_decompose

from belvedere.insights.anomaly import (
    DAILY,
    HOURLY,
    THRESHOLD,
    judge,
    relative_noise,
    rolling_sigma,
    seasonal_profile,
)

WEEK = np.array([1.2, 1.1, 1.0, 1.0, 1.1, 0.7, 0.5])  # Monday … Sunday shares; mean 0.943


def _weekly(days: int, level: float = 100.0, growth: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(days)
    return level * WEEK[t % 7] * (1 + growth) ** t, t % 7


def test_profile_agrees_with_statsmodels_multiplicative_decomposition() -> None:
    """On a noise-free weekly series with a trend, each weekday's share is statsmodels' seasonal factor
    (classical decomposition: a centred moving average, then the ratios averaged per phase), up to the one
    scale both leave free."""
    values, phases = _weekly(56, growth=0.004)
    ours = seasonal_profile(values, phases, 7)
    theirs = seasonal_decompose(values, model="multiplicative", period=7).seasonal[:7]
    assert ours / ours.mean() == pytest.approx(theirs / theirs.mean(), rel=0.01)
    assert ours / ours.mean() == pytest.approx(WEEK / WEEK.mean(), rel=0.01)


def test_profile_is_not_tilted_by_a_level_shift_or_moved_by_an_outage() -> None:
    values, phases = _weekly(56)
    values[30:] *= 3  # the level triples on a Wednesday
    values[40] = 0  # an outage
    values[45] *= 5  # a spike
    profile = seasonal_profile(values, phases, 7)
    assert profile / profile.mean() == pytest.approx(WEEK / WEEK.mean(), rel=0.03)


def test_profile_of_a_metric_that_is_mostly_zero_keeps_its_quiet_phases_above_zero() -> None:
    values = np.zeros(56)
    values[np.arange(56) % 7 == 5] = 1.0  # a few events on some Saturdays only
    values[[6, 20]] = 1.0
    profile = seasonal_profile(values, np.arange(56) % 7, 7)
    assert profile[5] > profile[6] > 0  # Sundays' median ratio is 0: their mean is used
    assert profile[0] == 0  # never seen on a Monday


def test_noise_is_read_from_each_bucket_and_the_one_a_cycle_before() -> None:
    rng = np.random.default_rng(3)
    past = rng.uniform(80, 120, 60)
    pairs = [abs(past[i] - past[i - 7]) / ((past[i] + past[i - 7]) / 2) for i in range(7, 60)]
    direct = 1.4826 * np.median(pairs) / np.sqrt(2)
    assert relative_noise(past, 7) == pytest.approx(direct)


def test_noise_of_gamma_poisson_counts_is_their_relative_spread() -> None:
    """Counts whose mean varies by a gamma of shape 25 (20 % relative spread) around 5,000 a bucket: the
    noise is read as about 20 %, whatever the weekly profile (each bucket is paired with its own weekday)."""
    rng = np.random.default_rng(8)
    means = 5000 * WEEK[np.arange(700) % 7] * rng.gamma(25, 1 / 25, 700)
    assert relative_noise(rng.poisson(means).astype(float), 7) == pytest.approx(0.2, rel=0.1)


def test_a_steady_weekly_series_gets_its_own_values_as_expected_and_poisson_bands() -> None:
    values, phases = _weekly(63)
    values[58] = 400.0  # a spike on the range's Wednesday (expected 100)
    values[60] = 55.0  # a Friday at half (expected 110): 5.2 spreads below
    judged = judge(values, phases, DAILY, first=56, sensitivity="medium")
    expected = [j.expected if j else None for j in judged]
    assert expected == pytest.approx([120, 110, 100, 100, 110, 70, 50])
    spike = judged[2]
    assert spike is not None and spike.anomaly and spike.direction == "up"
    assert spike.score == pytest.approx((400 - 100) / np.sqrt(101))  # no noise: Poisson's spread, + 1
    assert spike.upper == pytest.approx(100 + THRESHOLD["medium"] * np.sqrt(101))
    friday = judged[4]
    assert friday is not None and friday.anomaly and friday.direction == "down"
    assert [j.anomaly for j in judged if j] == [False, False, True, False, True, False, False]


def test_lower_band_never_below_zero_and_small_counts_are_not_alarms() -> None:
    rng = np.random.default_rng(5)
    values = rng.poisson(2.0, 600).astype(float)
    judged = judge(values, np.arange(600) % 7, DAILY, first=56, sensitivity="medium")
    assert all(j is not None and j.lower >= 0 for j in judged)
    assert sum(j.anomaly for j in judged if j) <= 2  # Poisson(2) noise: 0 … 8 is normal


def test_poisson_noise_raises_few_false_alarms_at_each_sensitivity() -> None:
    rng = np.random.default_rng(11)
    values = rng.poisson(200.0 * WEEK[np.arange(2000) % 7]).astype(float)
    rates = {}
    for sensitivity in THRESHOLD:
        judged = judge(values, np.arange(2000) % 7, DAILY, first=56, sensitivity=sensitivity)  # type: ignore[arg-type]
        rates[sensitivity] = sum(j.anomaly for j in judged if j) / len(judged)
    assert rates["low"] <= rates["medium"] <= rates["high"] <= 0.02
    assert rates["medium"] <= 0.002


def test_a_level_shift_is_flagged_then_becomes_the_new_normal() -> None:
    values, phases = _weekly(56 + 42)
    values[70:] *= 2.5
    judged = judge(values, phases, DAILY, first=56)
    flags = [bool(j and j.anomaly) for j in judged]
    # Flagged while the 14-day level catches up (8 days), then the new level is what is expected.
    assert flags[14:22] == [True] * 8
    assert not any(flags[22:])
    assert judged[-1] is not None and judged[-1].expected == pytest.approx(2.5 * 50)


def test_too_little_history_gives_no_expected_value() -> None:
    values, phases = _weekly(20)
    judged = judge(values, phases, DAILY, first=0)
    assert judged[:14] == [None] * 14
    assert all(j is not None for j in judged[14:])


def test_hours_have_a_profile_of_the_week_and_of_the_day() -> None:
    hours = np.arange(24 * 35)
    day = 0.3 + np.exp(-((((hours % 24) - 14) / 4) ** 2))
    values = 50 * day * WEEK[(hours // 24) % 7]
    phases = ((hours // 24) % 7) * 24 + hours % 24
    values[-10] *= 4
    judged = judge(values, phases, HOURLY, first=24 * 28)
    assert judged[-10] is not None and judged[-10].anomaly
    assert sum(bool(j and j.anomaly) for j in judged) == 1
    j = judged[-20]
    # The weekday's share times the hour's: within a few % of the product the series was made of (the
    # hours' moving mean straddles two weekdays around midnight).
    assert j is not None and j.expected == pytest.approx(values[-20], rel=0.05)


def test_naive_baseline_flags_beyond_three_standard_deviations() -> None:
    values = np.array([10.0, 12, 8, 10, 11, 9, 10, 30, 10])
    flags = rolling_sigma(values, first=2, window=5)
    sd = np.std(values[2:7], ddof=1)
    assert flags[5] == bool(abs(30 - values[2:7].mean()) > 3 * sd)
    assert flags[5] is True and flags[0] is False
