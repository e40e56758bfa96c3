"""The insight feed's finders on both engines, in literal numbers: five quiet weeks, then a day when Hacker
News sent 40 visitors — an anomaly of visitors and of page views that day, the referrer and its channel as
the week's movers (significant after control over every value tried), and a new referrer; a quiet project
yields nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from tests.integration.query.events_kit import Analytics, analytics, pageview

from belvedere.insights.feed.finders import Finding, findings
from belvedere.insights.feed.rules import RECOMMENDATIONS
from belvedere.query import parse_query
from belvedere.query.runner import QueryResult

__all__ = ["analytics"]

LAST = date(2025, 3, 30)  # a Sunday


def _history(analytics: Analytics, *, spike: bool) -> None:
    rows: list[dict[str, Any]] = []
    day = LAST - timedelta(days=34)
    while day <= LAST:
        for i in range(8 if day.weekday() < 5 else 4):
            at = datetime(day.year, day.month, day.day, 10, i)
            rows.append(pageview(at, "/", person=f"d{day}{i}", session=f"s{day}{i}", channel="Direct"))
        if spike and day == LAST:
            for i in range(40):
                at = datetime(day.year, day.month, day.day, 11, i)
                rows.append(
                    pageview(
                        at,
                        "/launch",
                        person=f"hn{i}",
                        session=f"hn{i}",
                        channel="Organic Social",
                        referrer_domain="news.ycombinator.com",
                    )
                )
        day += timedelta(days=1)
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 31, 9, 0)


def _ask(analytics: Analytics) -> Any:
    def ask(spec: dict[str, Any]) -> QueryResult:
        return analytics.service.run(parse_query(spec), project_id=1, timezone="UTC", now=analytics.now)

    return ask


def _by_kind(found: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in found:
        out.setdefault(f.kind, []).append(f)
    return out


def test_a_spike_from_hacker_news_is_an_anomaly_two_movers_and_a_new_referrer(analytics: Analytics) -> None:
    _history(analytics, spike=True)
    found = _by_kind(findings(_ask(analytics), 1, LAST))
    anomalies = found["anomaly"]
    assert [(f.fingerprint, f.direction) for f in anomalies] == [
        ("anomaly:unique_users:2025-03-30", "up"),
        ("anomaly:total:2025-03-30", "up"),
    ]
    assert anomalies[0].title.startswith("Visitors on 2025-03-30: 44, above the expected ")
    assert anomalies[0].evidence["query"]["kind"] == "anomalies"
    assert "anomalies=1" in anomalies[0].evidence["link"]
    movers = found["mover"]
    # Up 40 visitors each, against none the week before: the referrer, its channel and the launch page.
    assert sorted(f.fingerprint for f in movers) == [
        "mover:channel:Organic Social:up:2025-03-30",
        "mover:path:/launch:up:2025-03-30",
        "mover:referrer_domain:news.ycombinator.com:up:2025-03-30",
    ]
    referrer = next(f for f in movers if "referrer_domain" in f.fingerprint)
    assert referrer.title == "Visitors from referrer news.ycombinator.com rose from 0 to 40"
    assert referrer.recommendation == RECOMMENDATIONS[("mover", "up")]
    (new,) = found["new_referrer"]
    assert new.title == "New referrer: news.ycombinator.com sent 40 visitors"
    assert new.fingerprint == "new_referrer:news.ycombinator.com"


def test_a_quiet_project_has_nothing_to_report(analytics: Analytics) -> None:
    _history(analytics, spike=False)
    assert findings(_ask(analytics), 1, LAST) == []
    assert findings(_ask(analytics), 99, LAST) == []  # no events at all


def test_a_saved_funnel_whose_step_converts_worse_this_week(analytics: Analytics) -> None:
    from tests.integration.query.events_kit import event

    rows: list[dict[str, Any]] = []
    for week, signed in ((LAST - timedelta(days=10), 40), (LAST - timedelta(days=3), 10)):
        for i in range(50):
            who = f"{week}-{i}"
            at = datetime(week.year, week.month, week.day, 9, 0)
            rows.append(event("view", at, person=who, session=who))
            rows.append(event("other", at, person=who, session=who))
            if i < signed:
                rows.append(event("signup", at + timedelta(minutes=5), person=who, session=who))
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 31, 9, 0)
    steps = {"kind": "funnel", "date_from": "-30d", "steps": [{"event": "view"}, {"event": "signup"}]}
    steady = {"kind": "funnel", "steps": [{"event": "view"}, {"event": "other"}]}
    found = findings(_ask(analytics), 1, LAST, [(5, "Sign-up", steps), (6, "Steady", steady)])
    (funnel,) = [f for f in found if f.kind == "funnel"]
    assert funnel.title == "Sign-up: view → signup fell from 80.0 % to 20.0 %"
    assert funnel.body.startswith("Over the 7 days to 2025-03-30: 10 of 50 people went on, against 40 of 50")
    assert (funnel.direction, funnel.severity, funnel.fingerprint) == (
        "down",
        "medium",
        "funnel:5:2:down:2025-03-30",
    )
    assert funnel.evidence["link"] == "/app/projects/1/insights/5"
    assert funnel.evidence["query"]["date_from"] == "2025-03-24" and "date_to" in funnel.evidence["query"]


def test_the_newest_weekly_cohort_comes_back_less(analytics: Analytics) -> None:
    from tests.integration.query.events_kit import event

    rows: list[dict[str, Any]] = []
    mondays = [date(2025, 2, 3) + timedelta(weeks=w) for w in range(8)]  # 3 February to 24 March
    for w, monday in enumerate(mondays[:-1]):
        back = 10 if w == 6 else 30  # the cohort of 17 March: 10 of 40 back, the ones before 30 of 40
        for i in range(40):
            who = f"w{w}-{i}"
            rows.append(
                event("view", datetime(monday.year, monday.month, monday.day, 9), person=who, session=who)
            )
            if i < back:
                later = monday + timedelta(days=8)
                rows.append(
                    event("view", datetime(later.year, later.month, later.day, 9), person=who, session=who)
                )
    analytics.add(*rows)
    analytics.now = datetime(2025, 3, 31, 9, 0)  # the week of 24 March is over; of 31 March under way
    (found,) = [f for f in findings(_ask(analytics), 1, LAST) if f.kind == "retention"]
    assert found.title == (
        "Week-1 retention of the people who started in the week of 2025-03-17: 25.0 %, against 75.0 % before"
    )
    assert found.body.startswith(
        "10 of 40 came back the week after, against 180 of 240 in the 6 weekly cohorts"
    )
    assert (found.direction, found.severity) == ("down", "medium")


def test_a_pattern_cohort_that_grew_by_a_fifth() -> None:
    from belvedere.insights.feed.finders import CohortSize, cohorts_grown

    on = date(2025, 3, 30)
    query = {"kind": "patterns", "pattern": "churn_risk"}
    sizes = [
        CohortSize(3, "At risk", "churn_risk", "At risk of churning, last 28 days", 30, 12, on, query),
        CohortSize(4, "Fans", "power_users", "Power users, last 28 days", 14, 12, on, query),  # +2: noise
        CohortSize(
            5, "New", "power_users", "Power users, last 7 days", 40, None, on, query
        ),  # no size before
        CohortSize(6, "Big", "power_users", "Power users, last 7 days", 1_190, 1_000, on, query),  # +19 %
    ]
    (found,) = cohorts_grown(1, sizes)
    assert found.title == "Cohort At risk grew from 12 to 30 people"
    assert (found.fingerprint, found.severity) == ("cohort:3:2025-03-30", "medium")
    assert found.evidence["link"] == "/app/projects/1/cohorts"
