"""The rule editor's form: its fields as the page shows them, read from a rule (or a template's draft) and
turned back into the ``RuleDraft`` the API takes. Nothing is checked here: ``RuleDraft`` checks everything,
and the page shows its reason next to the form."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from belvedere.alerts.rules import RuleDraft

METRIC_KINDS = {"event": "An event", "stat": "A key figure", "formula": "A formula over series (JSON)"}
FORMULA_EXAMPLE = '{"series": [{"event": "$exception"}, {}], "formula": "A / B * 100"}'


@dataclass
class RuleForm:
    name: str = ""
    metric: str = "event"  # event, stat, formula
    event: str = ""
    math: str = "total"
    math_property: str = ""
    stat: str = "visitors"
    goal: str = ""
    formula: str = FORMULA_EXAMPLE
    interval: str = "hour"
    condition: str = "threshold"  # threshold, change, anomaly
    operator: str = "above"
    value: str = ""
    direction: str = "down"
    percent: str = "20"
    compare_to: str = "previous"
    sensitivity: str = "medium"
    side: str = "both"  # an anomaly condition's direction
    pending_periods: str = "1"
    resolve_value: str = ""
    cooldown_minutes: str = "0"
    channels: list[int] = field(default_factory=list)
    escalate_after: str = ""
    escalation_channels: list[int] = field(default_factory=list)
    enabled: bool = True
    buckets: int = 24

    @classmethod
    def read(cls, form: FormData) -> RuleForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip()[:20_000] if isinstance(value, str) else ""

        def ids(name: str) -> list[int]:
            return [int(v) for v in form.getlist(name) if isinstance(v, str) and v.isdigit()][:20]

        strings = {
            f: text(f) for f, kind in cls.__annotations__.items() if kind == "str" and form.get(f) is not None
        }
        buckets = text("buckets")
        return cls(
            **strings,
            channels=ids("channels"),
            escalation_channels=ids("escalation_channels"),
            enabled=form.get("enabled") is not None,
            buckets=min(max(int(buckets), 2), 100) if buckets.isdigit() else 24,
        )

    @classmethod
    def of(cls, rule: dict[str, Any]) -> RuleForm:
        """The form of a saved rule (``rule_json``) or of a template's draft."""
        series, condition = rule["series"], rule["condition"]
        form = cls(
            name=rule["name"],
            interval=rule.get("interval", "hour"),
            condition=condition["type"],
            pending_periods=str(rule.get("pending_periods", 1)),
            resolve_value=_text(rule.get("resolve_value")),
            cooldown_minutes=str(rule.get("cooldown_minutes", 0)),
            channels=list(rule.get("channels", [])),
            enabled=rule.get("enabled", True),
        )
        if "stat" in series:
            goal = series.get("goal")
            form.metric, form.stat = "stat", series["stat"]
            form.goal = goal if isinstance(goal, str) else (goal or {}).get("event", "")
        elif "formula" in series:
            form.metric, form.formula = "formula", json.dumps(series)
        else:
            form.metric, form.event = "event", series.get("event") or ""
            form.math, form.math_property = series.get("math", "total"), series.get("math_property") or ""
        if condition["type"] == "threshold":
            form.operator, form.value = condition["operator"], _text(condition["value"])
        elif condition["type"] == "anomaly":
            form.sensitivity = condition.get("sensitivity", "medium")
            form.side = condition.get("direction", "both")
        else:
            form.direction, form.percent = condition["direction"], _text(condition["percent"])
            form.compare_to = condition.get("compare_to", "previous")
        escalation = rule.get("escalation") or {}
        if escalation:
            form.escalate_after = str(escalation["after_minutes"])
            form.escalation_channels = list(escalation["channels"])
        return form

    def series(self) -> dict[str, Any]:
        if self.metric == "stat":
            stat: dict[str, Any] = {"stat": self.stat}
            if self.stat == "conversion_rate" and self.goal:
                stat["goal"] = self.goal
            return stat
        if self.metric == "formula":
            try:
                found = json.loads(self.formula)
            except json.JSONDecodeError as exc:
                raise ValueError(f"the formula is not JSON ({exc.msg}); e.g. {FORMULA_EXAMPLE}") from None
            if not isinstance(found, dict):
                raise ValueError(f"the formula is a JSON object, for example {FORMULA_EXAMPLE}")
            return found
        series: dict[str, Any] = {"math": self.math}
        if self.event:
            series["event"] = self.event
        if self.math_property:
            series["math_property"] = self.math_property
        return series

    def draft(self) -> RuleDraft:
        """The rule this form describes; ``ValueError`` (or ``ValidationError``) says what is wrong."""
        condition: dict[str, Any]
        if self.condition == "threshold":
            condition = {
                "type": "threshold",
                "operator": self.operator,
                "value": _number(self.value, "The threshold"),
            }
        elif self.condition == "anomaly":
            condition = {"type": "anomaly", "sensitivity": self.sensitivity, "direction": self.side}
        else:
            condition = {
                "type": "change",
                "direction": self.direction,
                "percent": _number(self.percent, "The change (%)"),
                "compare_to": self.compare_to,
            }
        body: dict[str, Any] = {
            "name": self.name or "Untitled rule",
            "series": self.series(),
            "interval": self.interval,
            "condition": condition,
            "pending_periods": _number(self.pending_periods, "Buckets in a row"),
            "resolve_value": _number(self.resolve_value, "Resolve at") if self.resolve_value else None,
            "cooldown_minutes": _number(self.cooldown_minutes or "0", "Repeat every"),
            "channels": self.channels,
            "enabled": self.enabled,
        }
        if self.escalate_after:
            body["escalation"] = {
                "after_minutes": _number(self.escalate_after, "Escalate after"),
                "channels": self.escalation_channels,
            }
        return RuleDraft.model_validate(body)

    def values(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _number(text: str, label: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        raise ValueError(f"{label} must be a number (it is {text!r})") from None


def problem(exc: Exception) -> str:
    """Why a form does not make a rule, in one line that names the field."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        parts = [str(p) for p in first["loc"] if not str(p).startswith(("function-", "tagged"))]
        where = " \u203a ".join(parts)
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)
