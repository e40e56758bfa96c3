"""The statistics of ``correlations`` (``insights.correlate``) on fixed inputs, against independent
computations: numpy's correlation matrix, the slope test of statsmodels' least squares (Pearson's p-value),
the correlation of average ranks (Spearman's), and statsmodels' Benjamini-Hochberg."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from belvedere.insights.correlate import Correlation, adjust, correlate

TARGET = np.array([12, 15, 11, 18, 25, 22, 19, 30, 28, 26, 31, 35, 33, 29], dtype=float)
CANDIDATE = np.array([3, 4, 4, 5, 9, 7, 6, 8, 11, 9, 10, 13, 12, 9], dtype=float)


def _ols_p(x: np.ndarray, y: np.ndarray) -> float:
    return float(sm.OLS(y, sm.add_constant(x)).fit().pvalues[1])


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy()


def test_pearson_and_spearman_at_lag_zero() -> None:
    found = correlate(TARGET, CANDIDATE, 0)
    assert (found.lag, found.n) == (0, 14)
    assert found.pearson == pytest.approx(np.corrcoef(CANDIDATE, TARGET)[0, 1], rel=1e-12)
    assert found.pearson_p == pytest.approx(_ols_p(CANDIDATE, TARGET), rel=1e-9)
    assert found.spearman == pytest.approx(np.corrcoef(_ranks(CANDIDATE), _ranks(TARGET))[0, 1], rel=1e-12)
    assert found.p_value == found.pearson_p
    assert found.pearson is not None and found.pearson > 0.9


def test_a_leading_candidate_is_found_at_its_lag_and_pays_for_the_lags_tried() -> None:
    rng = np.random.default_rng(3)
    leading = rng.poisson(50, 33).astype(float)  # 3 days before the target's 30, then 30 days
    target = leading[:30] * 2 + rng.normal(0, 2, 30)  # the target's day t follows the candidate's day t - 3
    found = correlate(target, np.concatenate([rng.poisson(50, 2).astype(float), leading]), 5)
    assert found.lag == 3
    assert found.pearson is not None and found.pearson > 0.95
    assert found.pearson == pytest.approx(np.corrcoef(leading[:30], target)[0, 1], rel=1e-12)
    assert found.p_value == pytest.approx(min(1.0, 6 * _ols_p(leading[:30], target)), rel=1e-9)


def test_a_constant_series_has_no_correlation() -> None:
    found = correlate(TARGET, np.full(14, 4.0), 0)
    assert (found.pearson, found.spearman, found.p_value) == (None, None, None)
    assert not found.significant
    with pytest.raises(ValueError, match="max_lag values"):
        correlate(TARGET, CANDIDATE, 2)


def test_the_adjustment_is_benjamini_hochberg_over_the_defined_ones() -> None:
    ps = [0.001, 0.02, None, 0.04, 0.3]
    found = [Correlation(lag=0, n=10, p_value=p) for p in ps]
    adjust(found)
    expected = multipletests([p for p in ps if p is not None], method="fdr_bh")[1]
    assert [c.q_value for c in found if c.p_value is not None] == pytest.approx(list(expected))
    assert found[2].q_value is None
    assert [c.significant for c in found] == [True, True, False, False, False]
