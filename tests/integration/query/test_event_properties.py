"""event_properties: the keys each event carries, counted, on both engines, against a Python count."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

__all__ = ["analytics"]

SENT: list[tuple[str, str, dict[str, Any]]] = [
    ("signup", "2025-03-10T08:00:00", {"plan": "pro", "seats": 3}),
    ("signup", "2025-03-10T09:00:00", {"plan": "free", "coupon": None}),
    ("signup", "2025-03-11T09:00:00", {"plan": "team", "a.b": {"nested": True}}),
    ("search", "2025-03-11T10:00:00", {"query": "flats", "plan": "pro"}),
    ("signup", "2025-02-01T09:00:00", {"old": 1}),  # outside the range
]


def test_keys_of_one_event_and_of_all_events_are_counted(analytics: Analytics) -> None:
    analytics.add(
        *(
            event(name, at, person=f"p{i}", session=f"s{i}", properties=props)
            for i, (name, at, props) in enumerate(SENT)
        ),
        pageview("2025-03-10T08:00:00", "/", person="p9", session="s9"),
    )
    in_range = [(name, props) for name, at, props in SENT if at >= "2025-03-01"]
    spec = {"kind": "event_properties", "date_from": "2025-03-01", "date_to": "2025-03-31"}

    def expected(only: str | None) -> list[dict[str, Any]]:
        counts = Counter(k for name, props in in_range if only in (None, name) for k in props)
        return [{"key": k, "events": n} for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    assert analytics.query({**spec, "event": "signup"})["results"] == expected("signup")
    assert analytics.query(spec)["results"] == expected(None)
    assert analytics.query({**spec, "event": "signup", "limit": 1})["results"] == expected("signup")[:1]
    assert analytics.query({**spec, "event": "never"})["results"] == []
