"""users and user: the person list with traits, and one person's profile across their aliases."""

from __future__ import annotations

from datetime import datetime

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

__all__ = ["analytics"]


def _people(analytics: Analytics) -> None:
    analytics.now = datetime(2025, 3, 20, 12, 0)
    analytics.add(
        # anon-1 browses, then signs up as alice (alias), then uses the app as alice
        pageview("2025-03-10T08:00:00", "/", person="anon-1", session="v1"),
        pageview("2025-03-10T08:02:00", "/pricing", person="anon-1", session="v1"),
        event("$alias", "2025-03-10T08:03:00", person="alice", session="v1", properties={"alias": "anon-1"}),
        event("$identify", "2025-03-10T08:03:00", person="alice", session="v1", properties={"plan": "pro"}),
        event("message_sent", "2025-03-12T19:00:00", person="alice", session="v2", cost=0.25),
        event("message_sent", "2025-03-12T19:10:00", person="alice", session="v2", cost=0.5),
        event("payment", "2025-03-12T19:20:00", person="alice", session="v2", revenue=29.0),
        pageview("2025-03-15T10:00:00", "/", person="bob", session="v3"),
    )


def test_users_list_with_traits_and_pagination(analytics: Analytics) -> None:
    _people(analytics)
    spec = {"kind": "users", "date_from": "2025-03-01", "date_to": "2025-03-20"}
    r = analytics.query(spec)
    # anon-1 is alice: one person, with the pages she saw before signing up
    assert r["total"] == 2
    assert [u["person_id"] for u in r["results"]] == ["bob", "alice"]
    alice = r["results"][1]
    assert (alice["events"], alice["sessions"], alice["properties"]) == (7, 2, {"plan": "pro"})
    assert alice["first_seen"] == "2025-03-10T08:00:00.000Z"
    page = analytics.query({**spec, "limit": 1, "offset": 1})
    assert [u["person_id"] for u in page["results"]] == ["alice"] and page["total"] == 2
    found = analytics.query({**spec, "search": "ali"})
    assert [u["person_id"] for u in found["results"]] == ["alice"]


def test_user_profile_includes_events_from_before_the_alias(analytics: Analytics) -> None:
    _people(analytics)
    r = analytics.query({"kind": "user", "person_id": "alice"}, timezone="Europe/Paris")
    assert r["found"] is True
    assert r["first_seen"] == "2025-03-10T08:00:00.000Z"
    assert (r["events"], r["sessions"], r["days_active"]) == (7, 2, 2)
    # v1 lasted 3 minutes, v2 20 minutes
    assert (r["total_visit_duration"], r["avg_visit_duration"]) == (1380.0, 690.0)
    assert (r["revenue"], r["cost"]) == (29.0, 0.75)
    assert r["top_events"][0] == {"event": "message_sent", "count": 2}
    # 08:xx and 19:xx UTC are 09:xx and 20:xx in Paris
    assert r["peak_hours"][:2] == [{"hour": 9, "events": 4}, {"hour": 20, "events": 3}]
    assert r["properties"] == {"plan": "pro"}
    assert [e["event"] for e in r["recent_events"][:2]] == ["payment", "message_sent"]
    assert analytics.query({"kind": "user", "person_id": "nobody"})["found"] is False
