"""correlations on both engines: the daily values compared are the project's counts (the day under way left
out), a candidate that leads the target is found at its lag, the automatic candidates are the busiest event
names and top values, and changes rather than levels."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from tests.integration.query.events_kit import Analytics, analytics, event

from belvedere.query.runner import QueryError

__all__ = ["analytics"]

FIRST = date(2025, 3, 1)
SIGNUPS = [3, 5, 2, 8, 6, 1, 7, 4, 9, 2]
VISITS = [11, 9, 30, 18, 40, 31, 6, 35, 24, 45, 12, 20]  # from 2 days before FIRST: signups follow 2 days on
NOISE = [5, 5, 5, 6, 5, 5, 5, 5, 6, 5]


def _day(i: int) -> str:
    return (FIRST + timedelta(days=i)).isoformat()


def _load(analytics: Analytics) -> None:
    rows: list[dict[str, Any]] = []
    for i, n in enumerate(SIGNUPS):
        rows += [
            event("signup", f"{_day(i)}T10:{k:02d}:00", person=f"s{i}.{k}", channel="Direct")
            for k in range(n)
        ]
        rows += [event("ping", f"{_day(i)}T11:{k:02d}:00", person=f"n{i}.{k}") for k in range(NOISE[i])]
    for i, n in enumerate(VISITS, start=-2):
        rows += [
            event("visit", f"{_day(i)}T09:{k:02d}:00", person=f"v{i}.{k}", channel="Search") for k in range(n)
        ]
    # Today, under way: a burst that must not count.
    rows += [event("signup", f"{_day(10)}T01:{k:02d}:00", person=f"t{k}") for k in range(50)]
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 11, 2, 0)


SPEC = {
    "kind": "correlations",
    "target": {"event": "signup"},
    "candidates": [{"event": "visit"}, {"event": "ping"}],
    "date_from": _day(0),
    "date_to": _day(10),
}


def test_listed_candidates_at_lag_zero_and_at_their_lag(analytics: Analytics) -> None:
    _load(analytics)
    r = analytics.query(SPEC)
    assert r["labels"] == [_day(i) for i in range(10)]  # the 11th, under way, is left out
    assert r["target"] == SIGNUPS
    by_label = {c["label"]: c for c in r["results"]}
    visit, ping = by_label["B"], by_label["C"]
    assert visit["series"]["event"] == "visit" and visit["n"] == 10 and visit["lag"] == 0
    assert visit["pearson"] == round(float(np.corrcoef(VISITS[2:], SIGNUPS)[0, 1]), 4)
    assert ping["pearson"] == round(float(np.corrcoef(NOISE, SIGNUPS)[0, 1]), 4)
    lagged = analytics.query({**SPEC, "max_lag": 3})
    best = next(c for c in lagged["results"] if c["label"] == "B")
    shifted = {k: abs(np.corrcoef(VISITS[2 - k : 12 - k], SIGNUPS)[0, 1]) for k in range(3)}
    assert best["lag"] == max(shifted, key=lambda k: shifted[k])
    assert best["p_value"] == pytest.approx(min(1.0, 4 * best["pearson_p"]))


def test_changes_are_day_to_day_differences(analytics: Analytics) -> None:
    _load(analytics)
    r = analytics.query({**SPEC, "transform": "changes"})
    visit = next(c for c in r["results"] if c["label"] == "B")
    # The day before the range is read for the first change: no signups then, 9 visits.
    expected = np.corrcoef(np.diff(VISITS[1:]), np.diff([0, *SIGNUPS]))[0, 1]
    assert visit["pearson"] == round(float(expected), 4)


def test_automatic_candidates(analytics: Analytics) -> None:
    _load(analytics)
    r = analytics.query({**SPEC, "candidates": "auto"})
    labels = {c["label"] for c in r["results"]}
    # The target's own event is no candidate of itself; channels are; an empty value is none.
    assert labels == {"event visit", "event ping", "channel = Search", "channel = Direct"}
    direct = next(c for c in r["results"] if c["label"] == "channel = Direct")
    assert direct["pearson"] == 1.0 and direct["series"]["filters"] == [
        {"property": "channel", "operator": "eq", "value": "Direct"}
    ]
    search = next(c for c in r["results"] if c["label"] == "channel = Search")
    assert search["pearson"] == round(float(np.corrcoef(VISITS[2:], SIGNUPS)[0, 1]), 4)
    assert r["results"][0]["label"] == "channel = Direct"  # by the size of the coefficient


def test_too_few_days(analytics: Analytics) -> None:
    _load(analytics)
    with pytest.raises(QueryError, match="at least 3 complete days"):
        analytics.query({**SPEC, "date_from": _day(9), "date_to": _day(10)})
