"""Anomaly conditions (issue #30): a rule fires when its bucket lies outside the band the ``anomalies`` kind
gives it — the same value, expected value and band as the query API's answer — and resolves when a bucket
is back inside. On DuckDB and ClickHouse, in Paris time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from tests.integration.query.events_kit import Analytics, analytics, event

from belvedere.alerts.evaluate import Meter, evaluate
from belvedere.alerts.models import AlertRule
from belvedere.alerts.notices import condition_label
from belvedere.alerts.rules import Anomaly, RuleDraft, metric_json

__all__ = ["analytics"]
PARIS = ZoneInfo("Europe/Paris")
SPIKE = date(2025, 3, 12)  # a Wednesday: 40 signups where 10 are usual


def _history(a: Analytics) -> None:
    """Eight weeks and more of 10 signups each weekday and 4 each weekend day, at 10:00-10:39 Paris time."""
    rows = []
    day = date(2025, 1, 6)
    while day <= date(2025, 3, 13):
        n = 40 if day == SPIKE else (10 if day.weekday() < 5 else 4)
        rows += [event("signup", f"{day}T09:{i:02d}:00", person=f"p{day}{i}", session=None) for i in range(n)]
        day += timedelta(days=1)
    a.add(*rows)


def _rule(direction: str = "both") -> tuple[AlertRule, RuleDraft]:
    draft = RuleDraft.model_validate(
        {
            "name": "Unusual signups",
            "series": {"event": "signup"},
            "interval": "day",
            "condition": {"type": "anomaly", "sensitivity": "medium", "direction": direction},
        }
    )
    rule = AlertRule(
        metric=metric_json(draft.series),
        interval="day",
        condition=draft.condition.model_dump(mode="json"),
        pending_periods=1,
        resolve_value=None,
        cooldown_minutes=0,
        escalation=None,
        state="ok",
        breaches=0,
    )
    return rule, draft


def test_an_anomaly_rule_fires_on_the_spike_and_resolves_the_day_after(analytics: Analytics) -> None:
    _history(analytics)
    rule, draft = _rule()
    morning = datetime(2025, 3, 13, 8, 0, tzinfo=UTC)  # 09:00 in Paris on the 13th: the 12th is complete

    def ask(spec: Any) -> Any:
        return analytics.service.run(
            spec, project_id=1, timezone="Europe/Paris", now=morning.replace(tzinfo=None)
        )

    outcome = evaluate(rule, Meter(ask, draft.series), PARIS, morning, morning)
    assert outcome is not None
    seen = outcome.reading
    assert (seen.start, seen.end) == (
        datetime(2025, 3, 11, 23, tzinfo=UTC),
        datetime(2025, 3, 12, 23, tzinfo=UTC),
    )
    assert (seen.value, seen.compared, seen.band) == (40, 10, (0.0, 23.27))
    assert [s.to_state for s in outcome.steps] == ["firing"] and rule.state == "firing"
    # The query API's answer for that day, asked as a user would: the same numbers.
    answer = analytics.query(
        {
            "kind": "anomalies",
            "series": [{"event": "signup"}],
            "date_from": "2025-03-12",
            "date_to": "2025-03-12",
        },
        timezone="Europe/Paris",
    )
    (point,) = answer["series"][0]["points"]
    assert (point["value"], point["expected"], point["lower"], point["upper"]) == (40, 10, 0.0, 23.27)
    assert point["anomaly"] is True

    next_day = morning + timedelta(days=1)  # the 13th: 10 signups, inside its band

    def ask_later(spec: Any) -> Any:
        return analytics.service.run(
            spec, project_id=1, timezone="Europe/Paris", now=next_day.replace(tzinfo=None)
        )

    outcome = evaluate(rule, Meter(ask_later, draft.series), PARIS, next_day, next_day)
    assert outcome is not None and outcome.reading.value == 10
    assert [s.to_state for s in outcome.steps] == ["resolved"] and rule.state == "resolved"


def test_a_rule_watching_drops_only_ignores_a_spike(analytics: Analytics) -> None:
    _history(analytics)
    rule, draft = _rule("down")
    morning = datetime(2025, 3, 13, 8, 0, tzinfo=UTC)

    def ask(spec: Any) -> Any:
        return analytics.service.run(
            spec, project_id=1, timezone="Europe/Paris", now=morning.replace(tzinfo=None)
        )

    outcome = evaluate(rule, Meter(ask, draft.series), PARIS, morning, morning)
    assert outcome is not None and outcome.reading.value == 40
    assert outcome.steps == [] and rule.state == "ok"


def test_too_little_history_decides_nothing(analytics: Analytics) -> None:
    analytics.add(
        *[event("signup", f"2025-03-{d:02d}T09:00:00", person=f"p{d}", session=None) for d in range(5, 13)]
    )
    rule, draft = _rule()
    morning = datetime(2025, 3, 13, 8, 0, tzinfo=UTC)

    def ask(spec: Any) -> Any:
        return analytics.service.run(
            spec, project_id=1, timezone="Europe/Paris", now=morning.replace(tzinfo=None)
        )

    outcome = evaluate(rule, Meter(ask, draft.series), PARIS, morning, morning)
    assert outcome is not None and (outcome.reading.value, outcome.reading.band) == (1, None)
    assert outcome.steps == [] and rule.state == "ok"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"series": {"stat": "bounce_rate"}}, "counted series"),
        ({"series": {"event": "buy", "math": "sum", "math_property": "revenue"}}, "counted series"),
        ({"interval": "week"}, "by hour or by day"),
        ({"interval": "5m"}, "by hour or by day"),
        ({"resolve_value": 3}, "no resolve_value"),
        ({"condition": {"type": "anomaly", "sensitivity": "extreme"}}, "sensitivity"),
    ],
)
def test_rules_an_anomaly_cannot_judge_are_refused(change: dict[str, Any], message: str) -> None:
    body = {
        "name": "x",
        "series": {"event": "signup"},
        "interval": "hour",
        "condition": {"type": "anomaly"},
        **change,
    }
    with pytest.raises(ValidationError, match=message):
        RuleDraft.model_validate(body)


def test_the_condition_in_words() -> None:
    assert condition_label(Anomaly(direction="down", sensitivity="low"), "day") == (
        "below its expected band (low sensitivity)"
    )


def test_a_preview_asks_one_question_and_reads_what_each_bucket_alone_reads(analytics: Analytics) -> None:
    from belvedere.alerts.evaluate import backtest, config_of

    _history(analytics)
    rule, draft = _rule()
    morning = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
    asked: list[Any] = []

    def ask(spec: Any) -> Any:
        asked.append(spec)
        return analytics.service.run(
            spec, project_id=1, timezone="Europe/Paris", now=morning.replace(tzinfo=None)
        )

    points = backtest(draft.series, config_of(rule), "day", PARIS, Meter(ask, draft.series), morning, 5)
    assert len(asked) == 1 and asked[0].kind == "anomalies"
    assert [(p.value, p.compared, p.breaching) for p in points] == [
        (4, 4, False),
        (10, 10, False),
        (10, 10, False),
        (40, 10, True),
        (10, 10, False),
    ]
    assert [p.fired for p in points] == [False, False, False, True, False]
    alone = Meter(ask, draft.series)
    buckets = [(p.start, p.end) for p in points]
    assert [alone.judge(b, Anomaly()).band for b in buckets] == [
        Meter(ask, draft.series).judge(b, Anomaly()).band for b in buckets
    ]
    readings = [alone.judge(b, Anomaly()) for b in buckets]
    assert [(r.value, r.compared) for r in readings] == [(p.value, p.compared) for p in points]
