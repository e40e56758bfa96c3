"""A series projected forward: the anomaly detector's model (``insights.anomaly``) run ahead of the data.

From the history up to the forecast's origin: the seasonal profile, the level of the latest buckets and the
relative noise, exactly as a bucket is judged. Each bucket ahead is expected at level x its phase's share;
its interval widens with the distance, because the level itself wanders: the variance is the bucket's own
(the larger of Poisson's and the relative noise's, plus one) times ``1 + h / level window`` at ``h`` buckets
ahead. The lower edge is never below zero. How well it forecasts, against the seasonal naive forecast (the
same bucket a cycle before), and how often its intervals hold the truth: docs/insights.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from belvedere.insights.anomaly import Past, Season

Coverage = Literal[80, 95]
Z: dict[int, float] = {80: 1.2816, 95: 1.96}  # two-sided normal quantiles


@dataclass(frozen=True, slots=True)
class Projected:
    expected: float
    lower: float
    upper: float


def project(
    values: np.ndarray, phases: np.ndarray, ahead: np.ndarray, season: Season, coverage: Coverage = 80
) -> list[Projected] | None:
    """The buckets after ``values`` whose phases are ``ahead`` (None: less than two cycles of history)."""
    values = np.asarray(values, dtype=float)
    phases = np.asarray(phases, dtype=int)
    start = max(0, len(values) - season.history)
    if len(values) - start < 2 * season.cycle:
        return None
    past = Past.of(values[start:], phases[start:], season, len(values))
    level = past.level(values, phases, len(values), season)
    z = Z[coverage]
    out = []
    for h, phase in enumerate(np.asarray(ahead, dtype=int), start=1):
        centre = level * float(past.profile[phase])
        variance = (max(centre, (past.noise * centre) ** 2) + 1.0) * (1 + h / season.level)
        spread = z * float(np.sqrt(variance))
        out.append(Projected(centre, max(0.0, centre - spread), centre + spread))
    return out
