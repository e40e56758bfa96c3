"""Anomalies in a metric's buckets: each bucket against what its own past says it should be.

The method (chosen on labelled series, see docs/insights.md and ``bench/anomalies.py``), for each bucket
``t`` from the history before it only:

- **Seasonal profile**: each phase's share of its cycle (the weekday's of its week; for hours, the weekday's
  times the hour's of its day): every bucket over the moving mean of the cycle around it, then the median
  per phase. Ratios to a moving mean, so a trend or a level shift in the history does not tilt it; medians,
  so a holiday, an outage or a spike in the history does not move it.
- **Level**: the median of the latest ``level`` buckets of the history once the profile is divided out. A
  level shift is flagged while the level catches up (about half of ``level`` buckets), then it is the
  new normal: no alerting forever.
- **Expected** = level x the profile at ``t``'s phase.
- **Spread**: counts are noisy like Poisson counts, or more: the variance is the larger of ``expected``
  (Poisson) and ``(c x expected)²``, ``c`` being how much the history's buckets differ from the one a cycle
  before, relatively, measured robustly (1.4826 x the median absolute value, which equals the standard
  deviation for normal noise), plus one, so that a series of zeros and ones is not a series of alarms.
- A bucket is an anomaly when it lies more than ``z`` spreads from its expected value (``z`` from the
  sensitivity); the lower band never goes below zero. The score is the signed distance in spreads.

With less than two whole cycles of history (two weeks, of days or of hours), a bucket gets no
expected value: too little to say what is normal, and saying so rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Sensitivity = Literal["low", "medium", "high"]
# Spreads from the expected value beyond which a bucket is an anomaly (docs/insights.md: chosen on the
# labelled series of bench/anomalies.py).
THRESHOLD: dict[Sensitivity, float] = {"low": 5.0, "medium": 4.0, "high": 3.0}
_NORMAL_MAD = 1.4826  # MAD x this = the standard deviation, for normal noise


@dataclass(frozen=True, slots=True)
class Season:
    """How a series repeats: ``cycle`` buckets a cycle (7 days, 168 hours); how many buckets of history
    each bucket is judged against; how many of the latest give the level; and every how many buckets the
    profile and the noise are measured again (a day)."""

    cycle: int
    history: int
    level: int
    refresh: int
    # Hours: the profile of the week is the weekday's times the hour's (``day`` phases a day), each measured
    # from many more buckets than the 4 of each hour of the week in 4 weeks (whose medians fit the history
    # so closely that its noise looked small: 6 false alarms per 100 hours against 2, bench/anomalies.py).
    day: int = 0


# The level from two weeks of days, three days of hours: a shorter one follows a slow drift so closely that
# it is never seen (drift recall 0.47-0.62 with 7 days against 0.76-0.84 with 14; docs/insights.md).
DAILY = Season(cycle=7, history=56, level=14, refresh=1)
HOURLY = Season(cycle=168, history=672, level=72, refresh=24, day=24)


@dataclass(frozen=True, slots=True)
class Judged:
    expected: float
    lower: float
    upper: float
    score: float
    anomaly: bool
    direction: Literal["up", "down"] | None


def judge(
    values: np.ndarray,
    phases: np.ndarray,
    season: Season,
    first: int,
    sensitivity: Sensitivity = "medium",
) -> list[Judged | None]:
    """Each bucket from index ``first`` on, judged against the buckets before it (None: too little history).
    ``phases`` gives each bucket's place in the cycle (0 … cycle - 1)."""
    z = THRESHOLD[sensitivity]
    values = np.asarray(values, dtype=float)
    phases = np.asarray(phases, dtype=int)
    judged: list[Judged | None] = []
    past: Past | None = None
    for t in range(first, len(values)):
        start = max(0, t - season.history)
        if t - start < 2 * season.cycle:
            judged.append(None)
            continue
        if past is None or t - past.at >= season.refresh:
            past = Past.of(values[start:t], phases[start:t], season, t)
        centre = past.expected(values, phases, t, season)
        spread = float(np.sqrt(max(centre, (past.noise * centre) ** 2) + 1.0))
        value = float(values[t])
        score = (value - centre) / spread
        lower, upper = max(0.0, centre - z * spread), centre + z * spread
        anomaly = value > upper or value < lower
        direction: Literal["up", "down"] | None = None
        if anomaly:
            direction = "up" if value > upper else "down"
        judged.append(Judged(centre, lower, upper, score, anomaly, direction))
    return judged


@dataclass(frozen=True, slots=True)
class Past:
    """What the history before bucket ``at`` says: the seasonal profile and the relative noise."""

    at: int
    profile: np.ndarray
    noise: float

    @classmethod
    def of(cls, past: np.ndarray, phases: np.ndarray, season: Season, at: int) -> Past:
        if season.day:
            profile = _weekly_hours(past, phases, season.day, season.cycle // season.day)
        else:
            profile = seasonal_profile(past, phases, season.cycle)
        return cls(at, profile, relative_noise(past, season.cycle))

    def expected(self, values: np.ndarray, phases: np.ndarray, t: int, season: Season) -> float:
        """The level before ``t`` x the profile at ``t``'s phase."""
        return self.level(values, phases, t, season) * float(self.profile[phases[t]])

    def level(self, values: np.ndarray, phases: np.ndarray, t: int, season: Season) -> float:
        """The median of the latest ``season.level`` buckets before ``t``, the profile divided out (their
        mean when the median is zero)."""
        recent = slice(max(0, t - season.level), t)
        factors = self.profile[phases[recent]]
        usable = factors > 0
        if not usable.any():
            return 0.0
        flat = values[recent][usable] / factors[usable]
        level = float(np.median(flat))
        return level if level > 0 else float(np.mean(flat))


def seasonal_profile(past: np.ndarray, phases: np.ndarray, cycle: int) -> np.ndarray:
    """Each phase's typical share of its cycle: each bucket over the mean of the ``cycle`` buckets around
    it (a moving mean that holds each phase once, as classical decomposition has it, so that a trend or a
    level shift in the history tilts only the cycle around it), then the median of those ratios per phase
    (the mean where the median is zero, as at the quiet hours of a small metric). Phases the history
    lacks count as 1."""
    profile = np.ones(cycle)
    if len(past) < cycle:
        return profile
    sums = np.concatenate(([0.0], np.cumsum(past)))
    means = (sums[cycle:] - sums[:-cycle]) / cycle  # means[i]: buckets i … i + cycle - 1
    half = cycle // 2
    centre = np.arange(half, half + len(means))
    busy = means > 0
    ratios = past[centre[busy]] / means[busy]
    mine = phases[centre[busy]]
    for phase in range(cycle):
        found = ratios[mine == phase]
        if len(found):
            middle = float(np.median(found))
            profile[phase] = middle if middle > 0 else float(np.mean(found))
    return profile


def _weekly_hours(past: np.ndarray, phases: np.ndarray, day: int, days: int) -> np.ndarray:
    """The hours' profile over the week: each weekday's (from the history's daily totals) times each
    hour's (from the hours themselves)."""
    hours = seasonal_profile(past, phases % day, day)
    begin = int(np.argmax(phases % day == 0))  # the first bucket that starts a day
    whole = (len(past) - begin) // day * day
    totals = past[begin : begin + whole].reshape(-1, day).sum(axis=1)
    weekdays = phases[begin : begin + whole : day] // day
    week = seasonal_profile(totals, weekdays, days)
    profile: np.ndarray = np.repeat(week, day) * np.tile(hours, days)
    return profile


def relative_noise(past: np.ndarray, cycle: int) -> float:
    """How much a bucket strays, relative to its expected value: from each bucket and the one a cycle before
    it (same weekday, same hour of the week), their difference over their mean, whose spread is sqrt(2)
    times a bucket's; measured robustly as 1.4826 x the median absolute value. No profile or level is
    fitted first: residuals against values fitted from the same history looked half as noisy as the
    buckets then met (1 false alarm per 100 days of pure noise, bench/anomalies.py)."""
    now, before = past[cycle:], past[:-cycle]
    means = (now + before) / 2
    busy = means > 0
    if not busy.any():
        return 0.0
    spread = _NORMAL_MAD * float(np.median(np.abs(now[busy] - before[busy]) / means[busy]))
    return spread / float(np.sqrt(2))


def rolling_sigma(values: np.ndarray, first: int, window: int, z: float = 3.0) -> list[bool | None]:
    """The naive baseline the method is measured against: a bucket is an anomaly when it lies more than
    ``z`` standard deviations from the mean of the ``window`` buckets before it."""
    values = np.asarray(values, dtype=float)
    flags: list[bool | None] = []
    for t in range(first, len(values)):
        past = values[max(0, t - window) : t]
        if len(past) < 2:
            flags.append(None)
            continue
        mean, sd = float(np.mean(past)), float(np.std(past, ddof=1))
        flags.append(bool(abs(values[t] - mean) > z * sd) if sd > 0 else bool(values[t] != mean))
    return flags
