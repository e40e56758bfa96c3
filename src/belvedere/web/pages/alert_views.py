"""How the alert pages say things: a rule's metric and condition in words, its buckets in the project's
time zone, its state as a badge, and the data of its charts (the sparkline of its last readings, the
preview's backtest with the threshold and the buckets where it would have fired)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from belvedere.alerts.evaluate import PreviewPoint

STATES = {
    "ok": "OK",
    "pending": "Pending",
    "firing": "Firing",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
}
INTERVALS = {"5m": "5 minutes", "hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}
EVERY = {
    "5m": "every 5 minutes",
    "hour": "every hour",
    "day": "every day",
    "week": "every week",
    "month": "every month",
}
BUCKET = {"5m": "5-minute bucket", "hour": "hour", "day": "day", "week": "week", "month": "month"}
MATHS = {
    "total": "Count of",
    "unique_users": "People doing",
    "unique_sessions": "Visits with",
    "sum": "Sum of {p} in",
    "avg": "Average {p} in",
    "min": "Minimum {p} in",
    "max": "Maximum {p} in",
    "median": "Median {p} in",
    "p90": "90th percentile of {p} in",
    "p95": "95th percentile of {p} in",
    "p99": "99th percentile of {p} in",
}
STAT_LABELS = {  # how the pages name the key figures of ``alerts.rules.STATS``
    "visitors": "Visitors",
    "visits": "Visits",
    "pageviews": "Pageviews",
    "views_per_visit": "Views per visit",
    "bounce_rate": "Bounce rate (%)",
    "visit_duration": "Visit duration (seconds)",
    "events": "Events",
    "revenue": "Revenue",
    "conversion_rate": "Conversion rate (%)",
}
COMPARED = {"previous": "the {bucket} before", "week_before": "the same {bucket} a week before"}
DELIVERY = {"pending": "Queued", "sent": "Sent", "failed": "Failed, retrying", "dead": "Failed for good"}


def stat_label(stat: str) -> str:
    return STAT_LABELS.get(stat, stat.replace("_", " ").capitalize())


def number(value: float | None) -> str:
    """A reading as people read it: no value is said, not shown as 0."""
    if value is None:
        return "no value"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def series_words(series: dict[str, Any]) -> str:
    event = series.get("event") or "any event"
    words = MATHS.get(series.get("math", "total"), "Count of").format(p=series.get("math_property", ""))
    return f"{words} {event}"


def metric_words(metric: dict[str, Any]) -> str:
    """``{"event": "signup", "math": "unique_users"}`` → "People doing signup"."""
    if "stat" in metric:
        goal = metric.get("goal")
        name = stat_label(str(metric["stat"]))
        if goal:
            target = goal if isinstance(goal, str) else goal.get("event") or goal.get("page", "")
            return f"{name} to {target}"
        return name
    if "formula" in metric:
        letters = ", ".join(
            f"{chr(65 + i)} = {series_words(s).lower()}" for i, s in enumerate(metric["series"])
        )
        return f"{metric['formula']} (where {letters})"
    return series_words(metric)


def condition_words(condition: dict[str, Any], interval: str) -> str:
    """``{"type": "threshold", "operator": "above", "value": 0}`` → "above 0"."""
    if condition.get("type") == "change":
        against = COMPARED[condition.get("compare_to", "previous")].format(bucket=BUCKET[interval])
        return f"{condition['direction']} by more than {number(condition['percent'])} % against {against}"
    if condition.get("type") == "anomaly":
        side = {"up": "above", "down": "below"}.get(condition.get("direction", "both"), "outside")
        sensitivity = condition.get("sensitivity", "medium")
        return f"{side} the band its own past gives the {BUCKET[interval]} ({sensitivity} sensitivity)"
    return f"{condition['operator']} {number(condition['value'])}"


def rule_words(rule: dict[str, Any]) -> str:
    """The whole rule in one sentence, saying that only complete buckets count."""
    bucket = BUCKET[rule["interval"]]
    pending = rule.get("pending_periods", 1)
    after = f", {pending} {bucket}s in a row" if pending > 1 else ""
    return (
        f"{metric_words(rule['series'])} per {bucket}, checked {EVERY[rule['interval']]} on the last "
        f"complete {bucket}: fires when {condition_words(rule['condition'], rule['interval'])}{after}."
    )


def local(at: datetime | str | None, timezone: str) -> datetime | None:
    if at is None:
        return None
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is None:  # SQLite gives instants back naive; they are UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone))


def when(at: datetime | str | None, timezone: str) -> str:
    """An instant in the project's time zone: "7 Dec 2026, 14:05"."""
    moment = local(at, timezone)
    return moment.strftime("%-d %b %Y, %H:%M") if moment else ""


def bucket_words(start: datetime | str | None, interval: str, timezone: str) -> str:
    """A bucket by its start, in the project's time zone: "6 Dec 2026", "6 Dec 2026, 14:00\u201315:00"."""
    begin = local(start, timezone)
    if begin is None:
        return ""
    if interval == "day":
        return begin.strftime("%-d %b %Y")
    if interval == "week":
        return "week of " + begin.strftime("%-d %b %Y")
    if interval == "month":
        return begin.strftime("%B %Y")
    step = timedelta(minutes=5) if interval == "5m" else timedelta(hours=1)
    return f"{begin.strftime('%-d %b %Y, %H:%M')}\u2013{(begin + step).strftime('%H:%M')}"


def short_bucket(start: datetime, interval: str, timezone: str) -> str:
    """An axis label: "6 Dec", "14:00"."""
    begin = local(start, timezone)
    assert begin is not None
    return begin.strftime("%H:%M" if interval in ("5m", "hour") else "%-d %b")


def sparkline(rule: dict[str, Any], timezone: str) -> dict[str, Any] | None:
    """The rule's last readings (``rule.recent``: [start, value, breaching]) as a small line, None before its
    first one."""
    recent = rule.get("recent") or []
    if not recent:
        return None
    return {
        "type": "spark",
        "labels": [bucket_words(start, rule["interval"], timezone) for start, *_ in recent],
        "series": [{"name": metric_words(rule["series"]), "data": [reading[1] for reading in recent]}],
    }


def recent_chart(rule: dict[str, Any], timezone: str) -> dict[str, Any] | None:
    """The rule's last readings with axes, and its threshold drawn (the alert's page)."""
    recent = rule.get("recent") or []
    if not recent:
        return None
    labels = [short_bucket(datetime.fromisoformat(start), rule["interval"], timezone) for start, *_ in recent]
    chart: dict[str, Any] = {
        "type": "line",
        "labels": labels,
        "series": [{"name": "Value", "data": [reading[1] for reading in recent]}],
    }
    condition = rule["condition"]
    if condition.get("type") == "threshold":
        chart["threshold"] = {
            "value": condition["value"],
            "name": f"Threshold ({number(condition['value'])})",
        }
    return chart


def preview_chart(
    points: list[PreviewPoint], condition: dict[str, Any], interval: str, timezone: str
) -> dict[str, Any]:
    """The backtest as a line: the threshold drawn across it (a change condition: the compared buckets'
    values, dashed), and a marker on each bucket where the rule would have fired."""
    labels = [short_bucket(p.start, interval, timezone) for p in points]
    series: list[dict[str, Any]] = [{"name": "Value", "data": [p.value for p in points], "point": True}]
    chart: dict[str, Any] = {"type": "line", "labels": labels, "series": series}
    if condition.get("type") == "change":
        series.append({"name": "Compared with", "data": [p.compared for p in points], "dashed": True})
    elif condition.get("type") == "anomaly":
        series.append({"name": "Expected", "data": [p.compared for p in points], "dashed": True})
    else:
        limit = condition["value"]
        chart["threshold"] = {"value": limit, "name": f"Threshold ({number(limit)})"}
    chart["fired"] = [
        {"at": i, "value": p.value if p.value is not None else 0} for i, p in enumerate(points) if p.fired
    ]
    return chart
