"""The statistics of ``root_cause`` (``insights.change``) on fixed inputs: the rate test equals statsmodels'
conditional exact test of two Poisson rates, the adjusted values its Benjamini-Hochberg."""

from __future__ import annotations

import warnings

import pytest
from scipy.spatial.distance import jensenshannon
from statsmodels.stats import rates
from statsmodels.stats.multitest import multipletests

from belvedere.insights.change import Part, rate_p_value, surprise, weigh

CASES = [(10, 2, 1.0, 1.0), (30, 45, 1.0, 1.0), (9, 5, 1.0, 2.0), (3, 0, 1.0, 1.0), (80, 100, 7.0, 7.0)]


@pytest.mark.parametrize(("before", "after", "before_length", "after_length"), CASES)
def test_the_rate_test_is_statsmodels_exact_conditional_one(
    before: int, after: int, before_length: float, after_length: float
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its ratio divides by a zero count
        theirs = rates.test_poisson_2indep(
            after, after_length, before, before_length, method="exact-cond"
        ).pvalue
    assert rate_p_value(before, after, before_length, after_length) == pytest.approx(theirs, rel=1e-12)


def test_literal_p_values() -> None:
    # 10 then 2 over equal periods: P(X <= 2 or X >= 10), X ~ Binomial(12, 1/2) = 2 * 79 / 4096.
    assert rate_p_value(10, 2, 1.0, 1.0) == pytest.approx(158 / 4096)
    assert rate_p_value(0, 0, 1.0, 1.0) == 1.0
    # Twice as long a range: 4 then 8 is the same rate.
    assert rate_p_value(4, 8, 1.0, 2.0) == pytest.approx(1.0)


def test_the_adjustment_is_benjamini_hochberg() -> None:
    counts = [(40, 12), (30, 45), (5, 9), (0, 3), (100, 80), (50, 52)]
    parts = [Part(f"v{i}", b, a) for i, (b, a) in enumerate(counts)]
    weigh(parts, 1.0, 1.0)
    raw = [p.p_value for p in parts]
    assert [p.q_value for p in parts] == pytest.approx(list(multipletests(raw, method="fdr_bh")[1]))
    assert [p.significant for p in parts] == [p.q_value < 0.05 for p in parts]
    assert parts[0].significant and not parts[5].significant


@pytest.mark.parametrize(
    ("before", "after"), [(0.0, 0.8333), (0.667, 0.343), (1.0, 1.0), (0.2, 0.2), (0.0, 1.0)]
)
def test_surprise_is_the_jensen_shannon_divergence_of_the_shares(before: float, after: float) -> None:
    distance = jensenshannon([before, 1 - before], [after, 1 - after], base=2)
    assert surprise(before, after) == pytest.approx(distance**2, abs=1e-12)
