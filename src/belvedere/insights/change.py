"""Why a count changed between two periods: the change split over one dimension's values so that the parts
add up to the whole change, each part's change tested against chance, and the false discoveries among the
many parts tested kept in check.

Each counted unit (an event, a visit, a person) lies under exactly one value of a dimension in a period, so
the values' counts add up to the period's count and their changes to its change. A part's test asks whether
its two counts could come from one rate, given how long each period is: the conditional (exact) test of two
Poisson rates — given the part's ``before + after`` units, ``after`` follows a binomial law with the current
period's share of the time. The p-values of every part shown are then adjusted together
(Benjamini-Hochberg), so that about 5 % at most of the parts called significant are so by chance."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from scipy.stats import binomtest, false_discovery_control

OTHER = "$other"  # the values beyond the ones shown, folded into one part so the parts still add up
SIGNIFICANT = 0.05  # the false discovery rate under which a part's change is called significant
SURPRISING = 0.001  # bits: a part whose share moved less than this explains none of the change


@dataclass(slots=True)
class Part:
    """One value's counts in the two periods, with the test of its change."""

    value: Hashable
    before: int
    after: int
    p_value: float = 1.0
    q_value: float = 1.0

    @property
    def change(self) -> int:
        return self.after - self.before

    @property
    def significant(self) -> bool:
        return self.q_value < SIGNIFICANT


def surprise(before: float, after: float) -> float:
    """How far a part's share of the whole moved, from ``before`` to ``after`` (each 0 to 1): the
    Jensen-Shannon divergence, in bits, of the two-outcome laws "in the part or not" (Adtributor's
    surprise). 0 when the share did not move; 1 when it went from none of the whole to all of it."""

    def term(p: float, m: float) -> float:
        return 0.0 if p <= 0 else p * math.log2(p / m)

    total = 0.0
    for p, q in ((before, after), (1 - before, 1 - after)):
        m = (p + q) / 2
        total += (term(p, m) + term(q, m)) / 2
    return max(0.0, total)


def rate_p_value(before: int, after: int, before_length: float, after_length: float) -> float:
    """The two-sided p-value of ``before`` and ``after`` units over periods this long sharing one rate."""
    n = before + after
    if n == 0:
        return 1.0
    share = after_length / (before_length + after_length)
    return float(binomtest(after, n, share).pvalue)


def weigh(parts: Sequence[Part], before_length: float, after_length: float) -> None:
    """Set each part's p-value, and its q-value adjusted over all of ``parts`` (Benjamini-Hochberg)."""
    if not parts:
        return
    for part in parts:
        part.p_value = rate_p_value(part.before, part.after, before_length, after_length)
    adjusted = false_discovery_control([p.p_value for p in parts], method="bh")
    for part, q in zip(parts, adjusted, strict=True):
        part.q_value = float(q)
