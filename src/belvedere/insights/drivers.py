"""What people who convert did more or less than those who do not: for each feature (an event done, a
value carried), the 2 by 2 table of people — converted or not, with the feature or without — its odds ratio
with a 95 % confidence interval (Woolf's, on the log scale; half a person added to every cell when one is
empty, Haldane and Anscombe's correction), Fisher's exact test, and Benjamini-Hochberg over the features."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import false_discovery_control, fisher_exact

SIGNIFICANT = 0.05
Z95 = 1.959963984540054


@dataclass(slots=True)
class Feature:
    """People converted with the feature (``a``), converted without (``b``), not converted with (``c``),
    not converted without (``d``)."""

    a: int
    b: int
    c: int
    d: int
    odds_ratio: float = 1.0
    lower: float = 0.0
    upper: float = math.inf
    p_value: float = 1.0
    q_value: float = 1.0

    @property
    def significant(self) -> bool:
        return self.q_value < SIGNIFICANT

    def weigh(self) -> None:
        """Set the odds ratio, its interval and the exact test's p-value."""
        extra = 0.5 if 0 in (self.a, self.b, self.c, self.d) else 0.0
        a, b, c, d = (n + extra for n in (self.a, self.b, self.c, self.d))
        log_or = math.log(a * d / (b * c))
        spread = Z95 * math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        self.odds_ratio = math.exp(log_or)
        self.lower, self.upper = math.exp(log_or - spread), math.exp(log_or + spread)
        self.p_value = float(fisher_exact([[self.a, self.b], [self.c, self.d]]).pvalue)


def weigh_all(features: list[Feature]) -> None:
    """Each feature weighed, and its q-value adjusted over all of them."""
    for feature in features:
        feature.weigh()
    if features:
        adjusted = false_discovery_control([f.p_value for f in features], method="bh")
        for feature, q in zip(features, adjusted, strict=True):
            feature.q_value = float(q)
