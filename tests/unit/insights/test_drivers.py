"""The statistics of ``conversion_drivers`` (``insights.drivers``) on fixed tables: the odds ratio and its
95 % interval equal statsmodels' ``Table2x2`` (Woolf's interval; half a person added to every cell when one
is empty), Fisher's exact test gives the textbook value, and the adjustment is Benjamini-Hochberg."""

from __future__ import annotations

import pytest
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests

from belvedere.insights.drivers import Feature, weigh_all

TABLES = [(30, 70, 10, 190), (5, 5, 40, 950), (0, 12, 30, 58), (120, 80, 300, 500)]


@pytest.mark.parametrize("table", TABLES)
def test_odds_ratio_and_interval_are_statsmodels(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    feature = Feature(a, b, c, d)
    feature.weigh()
    # Haldane-Anscombe: half a person in every cell (statsmodels' shift_zeros shifts the empty cells alone).
    extra = 0.5 if 0 in table else 0.0
    theirs = Table2x2([[a + extra, b + extra], [c + extra, d + extra]])
    assert feature.odds_ratio == pytest.approx(theirs.oddsratio, rel=1e-12)
    lower, upper = theirs.oddsratio_confint(alpha=0.05, method="normal")
    assert (feature.lower, feature.upper) == (pytest.approx(lower, rel=1e-9), pytest.approx(upper, rel=1e-9))


def test_fisher_exact_on_the_lady_tasting_tea() -> None:
    feature = Feature(3, 1, 1, 3)
    feature.weigh()
    assert feature.p_value == pytest.approx(17 / 35)  # two-sided: the tables as or less likely than this one
    assert feature.odds_ratio == pytest.approx(9.0)


def test_weigh_all_adjusts_over_the_features() -> None:
    features = [Feature(*t) for t in TABLES]
    weigh_all(features)
    expected = multipletests([f.p_value for f in features], method="fdr_bh")[1]
    assert [f.q_value for f in features] == pytest.approx(list(expected))
    assert [f.significant for f in features] == [q < 0.05 for q in expected]
    assert features[0].significant and features[0].odds_ratio > 1
