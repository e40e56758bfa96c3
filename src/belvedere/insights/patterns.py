"""The arithmetic of behaviour patterns (``query.kinds.patterns``), on plain numbers.

Power users: the people in the top share of the active ones by active days — the smallest number of active
days that at most ``share`` of them reach (ties are kept whole: everyone with as many days is in).

Churn risk: how unusual a person's absence is against their own rhythm. While active — from their first
to their last active day, ``span`` days — they were active on ``days`` of them; their daily chance of
coming back is taken as ``days / (span + 1)`` (one unseen day added, so that a person seen every day of a
short span is not certain to come back tomorrow). Absent for ``gap`` whole days since, the chance that
they would have come back by now, had they kept that rhythm, is ``1 - (1 - p) ** gap``: the risk score."""

from __future__ import annotations

from collections.abc import Mapping


def power_threshold(people_by_days: Mapping[int, int], share: float) -> int | None:
    """The fewest active days that put a person in the top ``share`` of the active people (None: nobody
    active). If even the busiest people are more than the share, they alone are the power users."""
    total = sum(people_by_days.values())
    if total == 0:
        return None
    allowed = share * total
    threshold, above = max(people_by_days), 0
    for days in sorted(people_by_days, reverse=True):
        above += people_by_days[days]
        if above > allowed:
            break
        threshold = days
    return threshold


def churn_score(days: int, span: int, gap: int) -> float:
    """The chance that a person active on ``days`` of ``span`` days would have come back within ``gap``
    days of their last activity, had they kept their rhythm."""
    if gap <= 0:
        return 0.0
    rate = days / (span + 1)
    return 1.0 - (1.0 - rate) ** gap
