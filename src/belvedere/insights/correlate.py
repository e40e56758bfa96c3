"""Which series move with a target: Pearson's and Spearman's coefficients between the target's daily values
and each candidate's, the candidate shifted by the lag (0 to ``max_lag`` days: the candidate leading) at
which it follows the target most closely, with p-values that pay for the lags tried and are adjusted for
the number of candidates (Benjamini-Hochberg)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import ConstantInputWarning, false_discovery_control, pearsonr, spearmanr

SIGNIFICANT = 0.05


@dataclass(slots=True)
class Correlation:
    """A candidate against the target at its best lag. The coefficients are None when either series is
    constant over the days compared (no correlation is defined)."""

    lag: int
    n: int
    pearson: float | None = None
    pearson_p: float | None = None
    spearman: float | None = None
    spearman_p: float | None = None
    p_value: float | None = None  # Pearson's at the best lag, times the lags tried (at most 1)
    q_value: float | None = None

    @property
    def significant(self) -> bool:
        return self.q_value is not None and self.q_value < SIGNIFICANT


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def correlate(target: np.ndarray, candidate: np.ndarray, max_lag: int) -> Correlation:
    """``candidate`` holds ``max_lag`` more values than ``target``, before it: at lag k, the target's day
    t is paired with the candidate's day t - k."""
    n = len(target)
    if len(candidate) != n + max_lag:
        raise ValueError("the candidate needs max_lag values before the target's")
    best: Correlation | None = None
    for lag in range(max_lag + 1):
        shifted = candidate[max_lag - lag : max_lag - lag + n]
        found = Correlation(lag=lag, n=n)
        if n >= 3 and np.ptp(target) > 0 and np.ptp(shifted) > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConstantInputWarning)
                r, p = pearsonr(shifted, target)
                rho, rho_p = spearmanr(shifted, target)
            found.pearson, found.pearson_p = _defined(r), _defined(p)
            found.spearman, found.spearman_p = _defined(rho), _defined(rho_p)
        if found.pearson is not None and (best is None or abs(found.pearson) > abs(best.pearson or 0.0)):
            best = found
    if best is None:
        return Correlation(lag=0, n=n)
    assert best.pearson_p is not None
    best.p_value = min(1.0, best.pearson_p * (max_lag + 1))
    return best


def adjust(found: list[Correlation]) -> None:
    """Each defined p-value's Benjamini-Hochberg q-value, over every candidate that has one."""
    tested = [c for c in found if c.p_value is not None]
    if not tested:
        return
    for c, q in zip(tested, false_discovery_control([c.p_value for c in tested], method="bh"), strict=True):
        c.q_value = float(q)
