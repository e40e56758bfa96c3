"""The state machine of one rule, without any I/O: given its state and a new reading, the next state and
what happened (each step is one line of history; some notify).

    ok / resolved --breach--> pending --(pending_periods breaching buckets in a row)--> firing
    pending --no breach--> ok
    firing --acknowledge--> acknowledged
    firing / acknowledged --recovered (past resolve_value: hysteresis)--> resolved

While firing (not acknowledged), a reminder goes out every ``cooldown_minutes`` and, once, the escalation
after ``escalation.after_minutes``. A reading without a value (a rate over no visits, a change against an
empty bucket) decides nothing: the state stays as it is. A muted rule moves as usual and notifies no one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from belvedere.alerts.rules import Anomaly, AnyCondition, Threshold

ACTIVE = ("firing", "acknowledged")


@dataclass(frozen=True, slots=True)
class Reading:
    start: datetime
    end: datetime
    value: float | None
    # Change conditions: the value of the bucket compared with; anomaly conditions: the expected value.
    compared: float | None = None
    band: tuple[float, float] | None = None  # anomaly conditions: (lower, upper); None: too little history


@dataclass(frozen=True, slots=True)
class RuleConfig:
    condition: AnyCondition
    pending_periods: int = 1
    resolve_value: float | None = None
    cooldown_minutes: int = 0
    escalate_after_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class RuleState:
    state: str = "ok"
    breaches: int = 0
    fired_at: datetime | None = None
    notified_at: datetime | None = None
    escalated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # transition, reminder, escalation
    from_state: str
    to_state: str
    notify: str | None  # None, "channels" (the rule's), "escalation" (the escalation's)


def change_percent(reading: Reading) -> float | None:
    if reading.value is None or reading.compared is None or reading.compared == 0:
        return None
    return (reading.value - reading.compared) / abs(reading.compared) * 100


def threshold_of(condition: AnyCondition) -> float | None:
    if isinstance(condition, Anomaly):
        return None  # each bucket has its own band
    return condition.value if isinstance(condition, Threshold) else condition.percent


def outside(condition: Anomaly, reading: Reading) -> bool | None:
    """Whether the reading lies outside its band on the watched side; None without a band or a value."""
    if reading.band is None or reading.value is None:
        return None
    lower, upper = reading.band
    above, below = reading.value > upper, reading.value < lower
    return {"up": above, "down": below, "both": above or below}[condition.direction]


def breaching(condition: AnyCondition, reading: Reading) -> bool | None:
    """Whether the reading breaches the condition; None when it cannot tell (no value)."""
    if isinstance(condition, Anomaly):
        return outside(condition, reading)
    if isinstance(condition, Threshold):
        if reading.value is None:
            return None
        return (
            reading.value > condition.value
            if condition.operator == "above"
            else reading.value < condition.value
        )
    pct = change_percent(reading)
    if pct is None:
        return None
    return pct >= condition.percent if condition.direction == "up" else pct <= -condition.percent


def recovered(config: RuleConfig, reading: Reading) -> bool | None:
    """Whether a firing rule's reading is back past the resolve value (the condition's own by default)."""
    c = config.condition
    if isinstance(c, Anomaly):
        out = outside(c, reading)
        return None if out is None else not out
    if isinstance(c, Threshold):
        if reading.value is None:
            return None
        limit = config.resolve_value if config.resolve_value is not None else c.value
        return reading.value <= limit if c.operator == "above" else reading.value >= limit
    pct = change_percent(reading)
    if pct is None:
        return None
    limit = config.resolve_value if config.resolve_value is not None else c.percent
    return pct < limit if c.direction == "up" else pct > -limit


def advance(
    config: RuleConfig, state: RuleState, reading: Reading, now: datetime
) -> tuple[RuleState, list[Step]]:
    """The state after ``reading`` (a newly complete bucket), evaluated at ``now``."""
    current = state.state
    if current in ACTIVE:
        back = recovered(config, reading)
        if back:
            done = RuleState(state="resolved", notified_at=now)
            return done, [Step("transition", current, "resolved", "channels")]
        last = state.notified_at
        every = timedelta(minutes=config.cooldown_minutes)
        if current == "firing" and config.cooldown_minutes and last is not None and now - last >= every:
            return replace(state, notified_at=now), [Step("reminder", current, current, "channels")]
        return state, []
    breach = breaching(config.condition, reading)
    if breach is None:
        return state, []
    if not breach:
        if current == "pending":
            return RuleState(state="ok"), [Step("transition", "pending", "ok", None)]
        return replace(state, breaches=0), []
    count = state.breaches + 1
    if count >= config.pending_periods:
        fired = RuleState(state="firing", breaches=count, fired_at=now, notified_at=now)
        return fired, [Step("transition", current, "firing", "channels")]
    if current == "pending":
        return replace(state, breaches=count), []
    return RuleState(state="pending", breaches=count), [Step("transition", current, "pending", None)]


def escalate(config: RuleConfig, state: RuleState, now: datetime) -> tuple[RuleState, Step | None]:
    """The escalation of a firing rule nobody acknowledged in time (once per firing)."""
    after = config.escalate_after_minutes
    if state.state != "firing" or after is None or state.escalated_at is not None or state.fired_at is None:
        return state, None
    if now - state.fired_at < timedelta(minutes=after):
        return state, None
    return replace(state, escalated_at=now), Step("escalation", "firing", "firing", "escalation")


def acknowledge(state: RuleState, user_id: int | None, now: datetime) -> tuple[RuleState, Step]:
    if state.state != "firing":
        raise ValueError(f"only a firing alert can be acknowledged; this one is {state.state}")
    acked = replace(state, state="acknowledged", acknowledged_at=now, acknowledged_by=user_id)
    return acked, Step("transition", "firing", "acknowledged", None)
