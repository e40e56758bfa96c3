"""A rule reads the same number the query API gives for the same bucket, on DuckDB and on ClickHouse, for
every metric shape; the numbers are also written out by hand (an independent count of the events below)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.integration.query.events_kit import Analytics, analytics, event, pageview

from belvedere.alerts.buckets import compared, complete_buckets, last_complete
from belvedere.alerts.evaluate import Meter, evaluate
from belvedere.alerts.models import AlertRule
from belvedere.alerts.rules import RuleDraft, metric_json, parse_metric

__all__ = ["analytics"]
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 3, 31, 12, 7)  # UTC; 14:07 in Paris (summer time since the 30th)


def _events(a: Analytics) -> None:
    # Paris hours 13:00-14:00 (11:00-12:00 UTC) on 31 March: the last complete hour at 14:07.
    a.add(
        event(
            "signup", "2025-03-31 11:05", person="ann", session="s1", properties={"plan": "pro", "amount": 30}
        ),
        event(
            "signup", "2025-03-31 11:20", person="bob", session="s2", properties={"plan": "free", "amount": 0}
        ),
        event(
            "signup", "2025-03-31 11:59", person="ann", session="s3", properties={"plan": "pro", "amount": 12}
        ),
        event("purchase", "2025-03-31 11:30", person="ann", session="s1", properties={"amount": 42}),
        pageview("2025-03-31 11:01", person="ann", session="s1"),
        pageview("2025-03-31 11:02", person="ann", session="s1", path="/pricing"),
        pageview("2025-03-31 11:10", person="bob", session="s2"),
        pageview("2025-03-31 11:40", person="cy", session="s4"),
        # The hour before (10:00-11:00 UTC), and the same hour a week before, for change conditions: 13:00
        # in Paris was 12:00 UTC then (winter time), not 11:00.
        event("signup", "2025-03-31 10:15", person="dee", session="s5"),
        event("signup", "2025-03-24 11:15", person="ivy", session="s10"),  # 12:15 in Paris: not that hour
        event("signup", "2025-03-24 12:15", person="eve", session="s6"),
        event("signup", "2025-03-24 12:16", person="fay", session="s7"),
        event("signup", "2025-03-24 12:17", person="gus", session="s8"),
        event("signup", "2025-03-24 12:18", person="hal", session="s9"),
        # Five-minute buckets: 12:00-12:05 UTC is the last complete one at 12:07.
        event("ping", "2025-03-31 12:01", person="ann", session="s1"),
        event("ping", "2025-03-31 12:04", person="bob", session="s2"),
        event("ping", "2025-03-31 12:05", person="cy", session="s4"),  # the next bucket, under way
    )


CASES: list[tuple[str, dict[str, Any], float | None]] = [
    ("count", {"event": "signup"}, 3),
    ("people", {"event": "signup", "math": "unique_users"}, 2),
    ("sum", {"event": "signup", "math": "sum", "math_property": "properties.amount"}, 42),
    ("filtered", {"event": "signup", "filters": [{"property": "properties.plan", "value": "pro"}]}, 2),
    ("formula", {"series": [{"event": "purchase"}, {"event": "signup"}], "formula": "A / B * 100"}, 100 / 3),
    ("visitors", {"stat": "visitors"}, 3),
    ("pageviews", {"stat": "pageviews"}, 4),
    ("conversion", {"stat": "conversion_rate", "goal": "purchase"}, 33.33),  # the API rounds rates to 0.01
]


@pytest.mark.parametrize(("name", "metric", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_rule_reads_the_query_api_s_number_for_its_last_complete_hour(
    analytics: Analytics, name: str, metric: dict[str, Any], expected: float
) -> None:
    _events(analytics)
    parsed = parse_metric(metric)
    at = NOW.replace(tzinfo=UTC)
    bucket = last_complete("hour", PARIS, at)
    assert bucket == (datetime(2025, 3, 31, 11, tzinfo=UTC), datetime(2025, 3, 31, 12, tzinfo=UTC))

    def ask(spec: Any) -> Any:
        return analytics.service.run(spec, project_id=1, timezone="Europe/Paris", now=NOW)

    value = Meter(ask, parsed).value(bucket)
    assert value == pytest.approx(expected)
    # The query API's own answer for that range, asked as a user would.
    dates = {"date_from": "2025-03-31T13:00", "date_to": "2025-03-31T14:00"}
    if "stat" in metric:
        body: dict[str, Any] = {"kind": "stats", "compare": False, **dates}
        if "goal" in metric:
            body["goal"] = metric["goal"]
        answer = analytics.query(body, timezone="Europe/Paris")["results"]
        key = "conversion_rate" if "goal" in metric else metric["stat"]
        assert answer[key]["value"] == pytest.approx(value)
    else:
        series = metric.get("series", [metric])
        body = {"kind": "trends", "interval": "hour", "series": series, "totals": True, **dates}
        if "formula" in metric:
            body["formula"] = metric["formula"]
        answer = analytics.query(body, timezone="Europe/Paris")
        total = answer["formula"][0]["total"] if "formula" in metric else answer["series"][0]["total"]
        assert total == pytest.approx(value)


def test_five_minute_day_and_week_buckets_and_their_comparisons(analytics: Analytics) -> None:
    _events(analytics)
    at = NOW.replace(tzinfo=UTC)

    def ask(spec: Any) -> Any:
        return analytics.service.run(spec, project_id=1, timezone="Europe/Paris", now=NOW)

    pings = Meter(ask, parse_metric({"event": "ping"}))
    five = last_complete("5m", PARIS, at)
    assert five[0] == datetime(2025, 3, 31, 12, 0, tzinfo=UTC) and pings.value(five) == 2
    signups = Meter(ask, parse_metric({"event": "signup"}))
    hour = last_complete("hour", PARIS, at)
    assert signups.value(compared(hour, "hour", PARIS, "previous")) == 1
    assert signups.value(compared(hour, "hour", PARIS, "week_before")) == 4  # 13:00 Paris a week before
    day = last_complete("day", PARIS, at)  # 30 March in Paris: 23 hours long (the clocks went forward)
    assert day == (datetime(2025, 3, 29, 23, tzinfo=UTC), datetime(2025, 3, 30, 22, tzinfo=UTC))
    assert signups.value(day) == 0
    hours = complete_buckets("hour", PARIS, at, 3)
    assert [signups.value(b) for b in hours] == [0, 1, 3]


def test_a_change_rule_fires_on_the_drop_its_numbers_show(analytics: Analytics) -> None:
    _events(analytics)

    def ask(spec: Any) -> Any:
        return analytics.service.run(spec, project_id=1, timezone="Europe/Paris", now=NOW)

    draft = RuleDraft.model_validate(
        {
            "name": "Signups down 20 % on the same hour last week",
            "series": {"event": "signup"},
            "interval": "hour",
            "condition": {"type": "change", "direction": "down", "percent": 20, "compare_to": "week_before"},
        }
    )
    rule = AlertRule(
        metric=metric_json(draft.series),
        interval="hour",
        condition=draft.condition.model_dump(mode="json"),
        pending_periods=1,
        resolve_value=None,
        cooldown_minutes=0,
        escalation=None,
        state="ok",
        breaches=0,
    )
    at = NOW.replace(tzinfo=UTC)
    outcome = evaluate(rule, Meter(ask, draft.series), PARIS, at, at)
    assert outcome is not None
    assert (outcome.reading.value, outcome.reading.compared) == (3, 4)  # down 25 %
    assert [s.to_state for s in outcome.steps] == ["firing"] and rule.state == "firing"
    assert evaluate(rule, Meter(ask, draft.series), PARIS, at + timedelta(minutes=20), at) is None
