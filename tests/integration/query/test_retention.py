"""retention: first-time and recurring cohorts, returns per period, unfinished periods, LTV."""

from __future__ import annotations

from datetime import datetime

from tests.integration.query.events_kit import Analytics, analytics, event

__all__ = ["analytics"]


def _history(analytics: Analytics) -> None:
    analytics.add(
        # a: signs up Mon 3 Mar, active in weeks +1 and +2, pays 10 then 5
        event("signup", "2025-03-03T10:00:00", person="a"),
        event("active", "2025-03-11T10:00:00", person="a", revenue=10.0),
        event("active", "2025-03-18T10:00:00", person="a", revenue=5.0),
        # b: signs up Wed 5 Mar (same week), active in week +2 only
        event("signup", "2025-03-05T10:00:00", person="b"),
        event("active", "2025-03-19T10:00:00", person="b"),
        # c: signs up in week of 10 Mar, active same week (not a return) and week +1
        event("signup", "2025-03-10T10:00:00", person="c"),
        event("active", "2025-03-12T10:00:00", person="c"),
        event("active", "2025-03-17T10:00:00", person="c", revenue=7.0),
        # d: first signup before the range: in no cohort as first_time; signs up again in week of 10 Mar
        event("signup", "2025-02-20T10:00:00", person="d"),
        event("signup", "2025-03-10T10:00:00", person="d"),
        event("active", "2025-03-18T10:00:00", person="d"),
    )


SPEC = {
    "kind": "retention",
    "date_from": "2025-03-03",
    "date_to": "2025-03-16",
    "start_event": "signup",
    "return_event": "active",
    "period": "week",
    "periods": 3,
}


def test_first_time_weekly_cohorts(analytics: Analytics) -> None:
    _history(analytics)
    analytics.now = datetime(2025, 3, 26, 12, 0)  # week of 24 Mar: weeks up to +3 of the first cohort
    r = analytics.query(SPEC)
    first, second = r["cohorts"]
    assert first["cohort"] == "2025-03-03"
    assert first["values"] == [2, 1, 2, 0]
    assert first["percentages"] == [100.0, 50.0, 100.0, 0.0]
    assert second["cohort"] == "2025-03-10"
    # c only (d started before the range); week +3 (31 Mar) has not happened yet
    assert second["values"] == [1, 1, 0, None]


def test_recurring_cohorts_count_every_start(analytics: Analytics) -> None:
    _history(analytics)
    analytics.now = datetime(2025, 3, 26, 12, 0)
    r = analytics.query({**SPEC, "retention_type": "recurring"})
    assert r["cohorts"][1]["values"] == [2, 2, 0, None]


def test_lifetime_value_per_cohort(analytics: Analytics) -> None:
    _history(analytics)
    analytics.now = datetime(2025, 3, 26, 12, 0)
    r = analytics.query({**SPEC, "revenue_property": "revenue"})
    assert r["cohorts"][0]["ltv"] == [0.0, 5.0, 7.5, 7.5]
    assert r["cohorts"][1]["ltv"] == [0.0, 7.0, 7.0, None]


def test_daily_retention_in_a_time_zone(analytics: Analytics) -> None:
    analytics.add(
        # 23:30 UTC on 1 Mar is 2 Mar in Paris; the return at 09:00 UTC on 3 Mar is one local day later.
        event("signup", "2025-03-01T23:30:00", person="x"),
        event("active", "2025-03-03T09:00:00", person="x"),
    )
    analytics.now = datetime(2025, 3, 31)
    spec = {**SPEC, "period": "day", "date_from": "2025-03-02", "date_to": "2025-03-02"}
    r = analytics.query(spec, timezone="Europe/Paris")
    assert r["cohorts"][0]["values"] == [1, 1, 0, 0]
    utc = analytics.query({**spec, "date_from": "2025-03-01", "date_to": "2025-03-01"})
    assert utc["cohorts"][0]["values"] == [1, 0, 1, 0]
