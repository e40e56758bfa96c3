"""Built-in rules from the product seeds, each a draft with parameters: created in one click, then tuned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from belvedere.alerts.rules import ChannelId, RuleDraft


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    label: str
    default: str | float
    kind: str = "number"  # number, text (an event name, a goal)


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    draft: dict[str, Any]  # with "{name}" placeholders for the parameters

    def build(self, values: dict[str, Any], channels: list[int]) -> RuleDraft:
        given = {p.name: values.get(p.name, p.default) for p in self.parameters}
        for p in self.parameters:
            if p.kind == "number":
                try:
                    given[p.name] = float(given[p.name])
                except (TypeError, ValueError):
                    raise ValueError(f"{p.label} must be a number") from None
            elif not str(given[p.name]).strip():
                raise ValueError(f"{p.label} must not be empty")
        return RuleDraft.model_validate({**_fill(self.draft, given), "channels": channels})

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "parameters": [
                {"name": p.name, "label": p.label, "default": p.default, "kind": p.kind}
                for p in self.parameters
            ],
        }


def _fill(value: Any, given: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in given:
        return given[value[1:-1]]
    if isinstance(value, str):
        return value.format(**given) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, given) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, given) for v in value]
    return value


TEMPLATES: tuple[Template, ...] = (
    Template(
        "traffic_drop",
        "Traffic drop",
        "Visitors down by more than a share against the same day a week before.",
        (Parameter("percent", "Drop (%)", 20),),
        {
            "name": "Visitors down {percent:g} % on the same day last week",
            "series": {"stat": "visitors"},
            "interval": "day",
            "condition": {
                "type": "change",
                "direction": "down",
                "percent": "{percent}",
                "compare_to": "week_before",
            },
        },
    ),
    Template(
        "unusual_traffic",
        "Unusual traffic",
        "An hour with far more or far fewer events than its weekday and hour make usual (anomaly detection).",
        (Parameter("event", "Event", "$pageview", "text"),),
        {
            "name": "Unusual {event} traffic",
            "series": {"event": "{event}"},
            "interval": "hour",
            "condition": {"type": "anomaly", "sensitivity": "medium", "direction": "both"},
        },
    ),
    Template(
        "goal_conversion",
        "Low conversion rate",
        "The share of visitors who reach a goal falls under a rate.",
        (Parameter("goal", "Goal event", "signup", "text"), Parameter("rate", "Rate (%)", 2)),
        {
            "name": "Conversion to {goal} under {rate:g} %",
            "series": {"stat": "conversion_rate", "goal": "{goal}"},
            "interval": "day",
            "condition": {"type": "threshold", "operator": "below", "value": "{rate}"},
        },
    ),
    Template(
        "error_rate",
        "Error rate",
        "Error events ($exception) are more than a share of all events.",
        (Parameter("percent", "Share (%)", 5),),
        {
            "name": "Errors above {percent:g} % of events",
            "series": {"series": [{"event": "$exception"}, {}], "formula": "A / B * 100"},
            "interval": "hour",
            "condition": {"type": "threshold", "operator": "above", "value": "{percent}"},
        },
    ),
    Template(
        "occupancy",
        "Occupancy (PropManager)",
        "The average occupancy rate reported falls under a level.",
        (
            Parameter("event", "Event", "occupancy_reported", "text"),
            Parameter("property", "Rate property", "properties.rate", "text"),
            Parameter("rate", "Occupancy (%)", 80),
        ),
        {
            "name": "Occupancy under {rate:g} %",
            "series": {"event": "{event}", "math": "avg", "math_property": "{property}"},
            "interval": "day",
            "condition": {"type": "threshold", "operator": "below", "value": "{rate}"},
        },
    ),
    Template(
        "overdue_payments",
        "Overdue payments (PropManager)",
        "Any overdue payment reported in a day.",
        (Parameter("event", "Event", "payment_overdue", "text"),),
        {
            "name": "Overdue payments",
            "series": {"event": "{event}"},
            "interval": "day",
            "condition": {"type": "threshold", "operator": "above", "value": 0},
        },
    ),
    Template(
        "revenue_drop",
        "Revenue down on last month",
        "This month's revenue (events' `revenue`) down by more than a share on the month before.",
        (Parameter("percent", "Drop (%)", 10),),
        {
            "name": "Revenue down {percent:g} % on last month",
            "series": {"stat": "revenue"},
            "interval": "month",
            "condition": {
                "type": "change",
                "direction": "down",
                "percent": "{percent}",
                "compare_to": "previous",
            },
        },
    ),
    Template(
        "llm_cost",
        "Daily LLM cost (AI)",
        "The day's cost of model calls (the sum of a cost property) goes over a budget.",
        (
            Parameter("event", "Event", "message_sent", "text"),
            Parameter("property", "Cost property", "properties.cost", "text"),
            Parameter("budget", "Budget (USD)", 50),
        ),
        {
            "name": "LLM cost over {budget:g} USD a day",
            "series": {"event": "{event}", "math": "sum", "math_property": "{property}"},
            "interval": "day",
            "condition": {"type": "threshold", "operator": "above", "value": "{budget}"},
        },
    ),
)
TEMPLATES += (
    Template(
        "event_quota",
        "Event quota",
        "The organisation has used a share of its monthly event quota (make one at 80 % and one at 100 %).",
        (Parameter("percent", "Share used (%)", 80),),
        {
            "name": "Event quota over {percent:g} % used",
            "series": {"quota": "events"},
            "interval": "hour",
            "condition": {"type": "threshold", "operator": "above", "value": "{percent}"},
        },
    ),
)
BY_ID = {t.id: t for t in TEMPLATES}


class FromTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = Field(description=f"One of {', '.join(BY_ID)}.")
    parameters: dict[str, str | float] = Field(default_factory=dict, max_length=10)
    channels: list[ChannelId] = Field(default_factory=list, max_length=10)
