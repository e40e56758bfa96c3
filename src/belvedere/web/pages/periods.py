"""The periods every page offers, as query date ranges, and the chart interval that suits each."""

from __future__ import annotations

from datetime import date
from typing import Any

PERIODS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "12m": "12 months",
    "mtd": "Month to date",
    "ytd": "Year to date",
}
# "N days" is today and the N - 1 days before it, "12 months" this month and the eleven before it: as many
# buckets as the label says (docs/web.md).
_RANGES: dict[str, tuple[str, str | None]] = {
    "today": ("today", None),
    "yesterday": ("yesterday", "yesterday"),
    "7d": ("-6d", None),
    "30d": ("-29d", None),
    "90d": ("-89d", None),
    "12m": ("-11m", None),
    "mtd": ("mtd", None),
    "ytd": ("ytd", None),
}
INTERVAL = {
    "today": "hour",
    "yesterday": "hour",
    "7d": "day",
    "30d": "day",
    "90d": "week",
    "12m": "month",
    "mtd": "day",
    "ytd": "week",
}
MAX_CUSTOM_DAYS = 3 * 366
# The periods under way whose end the overview projects (pages/projection_pages.py), and how it says the end.
PROJECTED = {"today": "today", "mtd": "the month"}


def dates(period: str) -> dict[str, Any]:
    """The query's ``date_from`` (and ``date_to`` when the range does not end today) for a period key."""
    start, end = _RANGES[period]
    return {"date_from": start, **({"date_to": end} if end else {})}


def period_of(query: dict[str, Any]) -> str | None:
    """The period key whose range a query's dates are, if any (a saved question reopened in its page)."""
    asked = (query.get("date_from"), query.get("date_to"))
    return next((key for key, (start, end) in _RANGES.items() if asked == (start, end)), None)


def custom(start: str, end: str) -> tuple[date, date] | None:
    """A custom range from two ISO dates, in order and at most three years long; None when unusable."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return None
    if first > last:
        first, last = last, first
    return (first, last) if (last - first).days <= MAX_CUSTOM_DAYS else None


def interval_for_days(days: int) -> str:
    """Hours for a day or two, days up to two months, weeks up to half a year, then months."""
    if days <= 2:
        return "hour"
    if days <= 62:
        return "day"
    return "week" if days <= 186 else "month"
