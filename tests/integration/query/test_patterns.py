"""patterns on both engines, in literal numbers: power users by active days (a person's ids through their
alias links), their key actions, and the regular people whose absence is unusual for them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from tests.integration.query.events_kit import Analytics, analytics, event

__all__ = ["analytics"]

FIRST = date(2025, 3, 1)


def _on(person: str, days: list[int], name: str = "view") -> list[dict[str, Any]]:
    return [event(name, f"{FIRST + timedelta(days=d)}T12:00:00", person=person) for d in days]


def _world(analytics: Analytics) -> None:
    analytics.add(
        *_on("a", list(range(20))),
        *_on("a", [0, 1, 2], "save"),
        *_on("b", list(range(0, 20, 2))),  # b and b2 are one person: 10 + 8 days
        *_on("b2", list(range(1, 16, 2))),
        event("$alias", f"{FIRST}T13:00:00", person="b", session=None, properties={"alias": "b2"}),
        *_on("c", list(range(0, 28, 3))),
        *_on("e", [0, 1, 2, 3]),
        *_on("f", [5, 6, 7]),
        *(e for i in range(1, 6) for e in _on(f"d{i}", [9, 10])),
    )
    analytics.now = datetime(2025, 4, 10)


SPEC = {"kind": "patterns", "date_from": "2025-03-01", "date_to": "2025-03-28"}


def test_power_users(analytics: Analytics) -> None:
    _world(analytics)
    r = analytics.query({**SPEC, "pattern": "power_users", "top_share": 0.2, "key_event": "save"})
    # 10 people active: a 20 days, b 18 (through the alias), c 10, e 4, f 3, five with 2. The top 20 %: 2.
    assert (r["active"], r["count"], r["share"], r["min_active_days"]) == (10, 2, 20.0, 18)
    assert [(p["person"], p["active_days"], p["actions"]) for p in r["people"]] == [
        ("a", 20, 3),
        ("b", 18, 0),
    ]
    assert len(r["days"]) == 28 and sum(d["people"] for d in r["days"]) == 10
    assert {d["active_days"]: d["people"] for d in r["days"] if d["people"]} == {
        20: 1,
        18: 1,
        10: 1,
        4: 1,
        3: 1,
        2: 5,
    }
    one = analytics.query({**SPEC, "pattern": "power_users", "sample": 0})
    assert (one["count"], one["min_active_days"], one["people"]) == (1, 20, [])  # 10 %: a alone


def test_churn_risk(analytics: Analytics) -> None:
    _world(analytics)
    r = analytics.query({**SPEC, "pattern": "churn_risk"})
    # The range's last day is 28 March. a: every day to the 20th, gone 8 days; e: 4 days at the start, gone
    # 24; b (with b2, its alias): 18 of the 19 days to the 19th, gone 9. c came every third day to the
    # 28th: not gone. f and the d's: fewer than 4 days, not regular. The surest first: e, then a, then b.
    assert (r["active"], r["count"], r["min_active_days"]) == (10, 3, 4)
    assert [(p["person"], p["last_active"], p["absent_days"]) for p in r["people"]] == [
        ("e", "2025-03-04", 24),
        ("a", "2025-03-20", 8),
        ("b", "2025-03-19", 9),
    ]
    assert [p["score"] for p in r["people"]] == [1.0, 1.0, round(1 - (1 - 18 / 20) ** 9, 4)]
    strict = analytics.query({**SPEC, "pattern": "churn_risk", "min_active_days": 19})
    assert [p["person"] for p in strict["people"]] == ["a"]


def test_conversion_opportunities(analytics: Analytics) -> None:
    analytics.add(
        *_on("x", [0, 1], "pricing"),
        *_on("x", [2, 3], "cart"),
        *_on("y", [0, 1, 2], "pricing"),
        *_on("y", [3], "buy"),
        *_on("z", [0], "pricing"),
        *_on("w", [0, 1, 2], "cart"),  # w and w2: one person, 5 times in the cart
        *_on("w2", [4, 5], "cart"),
        event("$alias", f"{FIRST}T13:00:00", person="w", session=None, properties={"alias": "w2"}),
    )
    analytics.now = datetime(2025, 4, 10)
    asked = {**SPEC, "pattern": "conversion_opportunities", "goal": "buy", "lead_events": ["pricing", "cart"]}
    r = analytics.query(asked)
    assert (r["active"], r["count"], r["converted"], r["share"]) == (4, 2, 1, 50.0)
    assert [(p["person"], p["actions"], p["active_days"]) for p in r["people"]] == [("w", 5, 5), ("x", 4, 4)]
    assert analytics.query({**asked, "min_times": 5})["count"] == 1
    with pytest.raises(ValueError, match="needs a goal and its lead_events"):
        analytics.query({**asked, "lead_events": []})


def test_feature_adoption(analytics: Analytics) -> None:
    _world(analytics)
    analytics.add(
        event("export", f"{FIRST}T15:00:00", person="c", browser="Firefox"),
        event("export", f"{FIRST}T15:00:00", person="d1", browser="Chrome"),
    )
    r = analytics.query({**SPEC, "pattern": "feature_adoption", "by": "browser"})
    # 10 active people. save: a alone (10 %, a gap); export: c and d1 (20 %: at the limit, not below it);
    # view: everyone. The least used first; each with its users' first browser.
    assert (r["active"], r["count"], r["share"]) == (10, 1, 33.33)
    assert [(f["event"], f["people"], f["share"], f["gap"]) for f in r["features"]] == [
        ("save", 1, 10.0, True),
        ("export", 2, 20.0, False),
        ("view", 10, 100.0, False),
    ]
    assert r["features"][1]["by"] == [{"value": "Chrome", "people": 1}, {"value": "Firefox", "people": 1}]
    assert r["features"][0]["by"] == [{"value": None, "people": 1}]
    listed = analytics.query({**SPEC, "pattern": "feature_adoption", "features": ["export", "import"]})
    assert [(f["event"], f["people"], f["gap"], f["by"]) for f in listed["features"]] == [
        ("import", 0, True, []),
        ("export", 2, False, []),
    ]


def test_patterns_read_days(analytics: Analytics) -> None:
    with pytest.raises(ValueError, match="interval must be day"):
        analytics.query({**SPEC, "pattern": "power_users", "interval": "week"})
