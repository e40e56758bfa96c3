"""The alert state machine, transition by transition: pending periods, hysteresis, reminders, escalation,
acknowledgement, readings without a value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from belvedere.alerts.machine import (
    Reading,
    RuleConfig,
    RuleState,
    acknowledge,
    advance,
    breaching,
    change_percent,
    escalate,
    recovered,
)
from belvedere.alerts.rules import Change, Threshold

T0 = datetime(2026, 12, 1, tzinfo=UTC)
ABOVE_10 = Threshold(operator="above", value=10)


def reading(value: float | None, i: int = 0, compared: float | None = None) -> Reading:
    start = T0 + timedelta(hours=i)
    return Reading(start, start + timedelta(hours=1), value, compared)


def run(config: RuleConfig, values: list[float | None]) -> list[tuple[str, list[str]]]:
    """The state after each value, and the steps it took (kind:from>to, + when it notifies)."""
    state, out = RuleState(), []
    for i, value in enumerate(values):
        state, steps = advance(config, state, reading(value, i), T0 + timedelta(hours=i + 1))
        marks = [f"{s.kind}:{s.from_state}>{s.to_state}{'+' if s.notify else ''}" for s in steps]
        out.append((state.state, marks))
    return out


def test_one_breach_fires_at_once_and_recovery_resolves() -> None:
    assert run(RuleConfig(ABOVE_10), [5, 11, 12, 10, 3]) == [
        ("ok", []),
        ("firing", ["transition:ok>firing+"]),
        ("firing", []),
        ("resolved", ["transition:firing>resolved+"]),  # 10 is not above 10
        ("resolved", []),
    ]


def test_pending_periods_need_consecutive_breaches_and_a_gap_starts_over() -> None:
    config = RuleConfig(ABOVE_10, pending_periods=3)
    assert run(config, [11, 12, 9, 11, 11, 11, 11]) == [
        ("pending", ["transition:ok>pending"]),
        ("pending", []),
        ("ok", ["transition:pending>ok"]),
        ("pending", ["transition:ok>pending"]),
        ("pending", []),
        ("firing", ["transition:pending>firing+"]),
        ("firing", []),
    ]


def test_hysteresis_holds_the_alert_until_the_value_passes_the_resolve_value() -> None:
    config = RuleConfig(ABOVE_10, resolve_value=7)
    assert [s for s, _ in run(config, [11, 9, 8, 7.5, 7, 11])] == [
        "firing",
        "firing",  # back under 10, not yet under 7: still firing
        "firing",
        "firing",
        "resolved",  # 7 <= 7
        "firing",
    ]
    below = RuleConfig(Threshold(operator="below", value=2), resolve_value=3)
    assert [s for s, _ in run(below, [1.5, 2.5, 3.1])] == ["firing", "firing", "resolved"]


def test_no_value_decides_nothing() -> None:
    config = RuleConfig(ABOVE_10, pending_periods=2)
    assert [s for s, _ in run(config, [11, None, 11, None, 5])] == [
        "pending",
        "pending",
        "firing",
        "firing",
        "resolved",
    ]


def test_reminders_every_cooldown_while_firing_but_not_once_acknowledged() -> None:
    config = RuleConfig(ABOVE_10, cooldown_minutes=120)
    marks = run(config, [11, 11, 11, 11, 11])
    assert [m for _, m in marks] == [
        ["transition:ok>firing+"],
        [],  # an hour after: not yet
        ["reminder:firing>firing+"],  # two hours after the firing
        [],
        ["reminder:firing>firing+"],
    ]
    state, _ = advance(config, RuleState(), reading(11), T0)
    state, step = acknowledge(state, 7, T0 + timedelta(minutes=5))
    assert (state.state, state.acknowledged_by, step.notify) == ("acknowledged", 7, None)
    state, steps = advance(config, state, reading(11, 5), T0 + timedelta(hours=6))
    assert state.state == "acknowledged" and steps == []
    state, steps = advance(config, state, reading(1, 6), T0 + timedelta(hours=7))
    assert state.state == "resolved" and steps[0].notify == "channels"
    assert state.acknowledged_by is None and state.fired_at is None


def test_escalation_once_when_not_acknowledged_in_time() -> None:
    config = RuleConfig(ABOVE_10, escalate_after_minutes=30)
    state, _ = advance(config, RuleState(), reading(11), T0)
    assert escalate(config, state, T0 + timedelta(minutes=29)) == (state, None)
    escalated, step = escalate(config, state, T0 + timedelta(minutes=30))
    assert step is not None and step.notify == "escalation" and escalated.escalated_at is not None
    assert escalate(config, escalated, T0 + timedelta(hours=5))[1] is None  # once per firing
    acked, _ = acknowledge(state, 1, T0 + timedelta(minutes=10))
    assert escalate(config, acked, T0 + timedelta(hours=1))[1] is None
    assert escalate(RuleConfig(ABOVE_10), state, T0 + timedelta(days=1))[1] is None  # none configured


def test_only_a_firing_alert_can_be_acknowledged() -> None:
    with pytest.raises(ValueError, match="only a firing alert can be acknowledged; this one is pending"):
        acknowledge(RuleState(state="pending"), 1, T0)


def test_change_conditions_against_the_compared_bucket() -> None:
    down_20 = Change(direction="down", percent=20)
    assert change_percent(reading(80, compared=100)) == -20
    assert breaching(down_20, reading(80, compared=100)) is True
    assert breaching(down_20, reading(81, compared=100)) is False
    assert breaching(down_20, reading(80, compared=0)) is None  # no basis for a percent
    assert breaching(down_20, reading(None, compared=100)) is None
    up_50 = Change(direction="up", percent=50)
    assert breaching(up_50, reading(150, compared=100)) is True
    assert breaching(up_50, reading(-50, compared=-100)) is True  # from -100 to -50 is up 50 %
    config = RuleConfig(down_20, resolve_value=5)
    assert recovered(config, reading(90, compared=100)) is False  # -10 %: not yet within 5 %
    assert recovered(config, reading(96, compared=100)) is True


def test_anomaly_conditions_read_the_band_on_the_watched_side() -> None:
    from belvedere.alerts.rules import Anomaly

    def judged(value: float | None, band: tuple[float, float] | None) -> Reading:
        return Reading(T0, T0 + timedelta(days=1), value, 10.0, band)

    band = (2.0, 18.0)
    both, up, down = Anomaly(), Anomaly(direction="up"), Anomaly(direction="down")
    assert [breaching(both, judged(v, band)) for v in (1, 2, 18, 19)] == [True, False, False, True]
    assert [breaching(up, judged(v, band)) for v in (1, 19)] == [False, True]
    assert [breaching(down, judged(v, band)) for v in (1, 19)] == [True, False]
    assert breaching(both, judged(5, None)) is None  # too little history: decides nothing
    assert breaching(both, judged(None, band)) is None
    config = RuleConfig(condition=both)
    fired, steps = advance(config, RuleState(), judged(30, band), T0)
    assert fired.state == "firing" and [s.to_state for s in steps] == ["firing"]
    assert recovered(config, judged(19, band)) is False
    assert recovered(config, judged(12, band)) is True
    still, steps = advance(config, fired, judged(12, None), T0)
    assert still.state == "firing" and steps == []
