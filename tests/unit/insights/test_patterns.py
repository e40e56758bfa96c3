"""The arithmetic of ``patterns`` (``insights.patterns``) in literal numbers."""

from __future__ import annotations

import pytest

from belvedere.insights.patterns import churn_score, power_threshold


def test_the_power_threshold_keeps_ties_whole() -> None:
    # 100 people: 5 with 20 days, 4 with 18, 11 with 10, the rest fewer. Top 10 %: the 9 with 18 or more.
    days = {20: 5, 18: 4, 10: 11, 3: 30, 1: 50}
    assert power_threshold(days, 0.10) == 18
    assert power_threshold(days, 0.20) == 10  # 20 people: 5 + 4 + 11
    assert power_threshold(days, 0.19) == 18  # the 11 with 10 days would take it past 19
    assert power_threshold({7: 40, 1: 60}, 0.10) == 7  # the busiest alone, though more than the share
    assert power_threshold({}, 0.1) is None


def test_the_churn_score_of_a_rhythm_and_a_gap() -> None:
    # Active on 20 of 20 days: p = 20/21; absent 2 days: 1 - (1/21)^2.
    assert churn_score(20, 20, 2) == pytest.approx(1 - (1 / 21) ** 2)
    # Weekdays only for 4 weeks (20 of 26 days): a weekend's 2 days are usual, 4 days are not.
    assert churn_score(20, 26, 2) == pytest.approx(1 - (7 / 27) ** 2)
    assert churn_score(20, 26, 2) < 0.95 < churn_score(20, 26, 4)
    # Once a week for 8 weeks (8 of 50 days): a week's absence is no alarm, a month's is.
    assert churn_score(8, 50, 7) < 0.75 < 0.95 < churn_score(8, 50, 30)
    assert churn_score(5, 5, 0) == 0.0
