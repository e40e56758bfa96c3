"""Plain-Python reference implementations of the insight kinds, for the property tests (no SQL).

Each function answers a query from a list of ``Ev`` the slow, obvious way: filter the events, group them
by hand, count. The property tests (``test_properties_*.py``) load the same events into the real store and
compare. The reference follows the documented semantics, not the SQL: where the two disagree the property
test fails and the disagreement is reported.

Conventions the generators keep to (so that every answer below is well defined):
- numbers in properties are ints or floats with at most two decimals (never integral floats such as 5.0);
  numeric strings are plain decimals (``"5"``, ``"-2.25"``); other strings hold no digits;
- ``revenue`` is the only typed float column used: with numbers, never with text operators;
- "rounded to n decimals" means Python's ``round(float(exact value), n)``.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from hypothesis import strategies as st

EPOCH = datetime(1970, 1, 1)
PROPERTY_PREFIX = "properties."
NUMERIC_COLUMNS = {"revenue", "cost"}
_PLAIN_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")

# A fresh project per hypothesis example: the compiler scopes every query by project, so the events of
# earlier examples (same store, other projects) cannot disturb the answer.
_projects = itertools.count(100_000)


def fresh_project() -> int:
    return next(_projects)


# ---------------------------------------------------------------------------------------------- events


@dataclass
class Ev:
    """One event. ``at`` is naive UTC with millisecond precision."""

    name: str
    at: datetime
    person: str | None = "u1"
    session: str | None = "s1"
    columns: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] | None = None

    @property
    def ms(self) -> int:
        return (self.at - EPOCH) // timedelta(milliseconds=1)

    def row(self, project_id: int) -> dict[str, Any]:
        """The spool row ``Analytics.add`` takes (the shape of ``events_kit.event``)."""
        row: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "project_id": project_id,
            "timestamp": self.ms,
            "received_at": self.ms,
            "event": self.name,
            "distinct_id": self.person,
            "person_id": self.person,
            "session_id": self.session,
        }
        if self.properties is not None:
            row["properties"] = orjson.dumps(self.properties).decode()
        row.update(self.columns)
        return row


def load(analytics: Any, events: Sequence[Ev], *, batches: int = 1, marks: Collection[int] = ()) -> int:
    """Add the events to a fresh project of the ``analytics`` fixture, in ``batches`` written one after the
    other (a visit's events then reach the store in several, some late); returns the project id. After
    each batch whose index is in ``marks``, the store marks the visits' pages (``store.page_marks``)."""
    project_id = fresh_project()
    rows = [e.row(project_id) for e in events]
    size = -(-len(rows) // batches) if rows else 0
    for index, start in enumerate(range(0, len(rows), size or 1)):
        analytics.add(*rows[start : start + size])
        if index in marks:
            analytics.store.mark_pages()
    return project_id


# ---------------------------------------------------------------------------------------------- time


def local(at: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC → naive local wall-clock time."""
    return at.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def utc_of_local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time()).replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def in_dates(events: Iterable[Ev], tz: ZoneInfo, first: date, last: date) -> list[Ev]:
    """Events whose local date lies in [first, last]."""
    return [e for e in events if first <= local(e.at, tz).date() <= last]


def previous_dates(first: date, last: date) -> tuple[date, date]:
    """The period of the same number of days just before [first, last]."""
    n = (last - first).days + 1
    return first - timedelta(days=n), last - timedelta(days=n)


# ---------------------------------------------------------------------------------------------- fields


def _json_text(value: Any) -> str | None:
    """A property's value as the text a JSON document spells it (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    assert isinstance(value, str), value
    return value


def text_of(e: Ev, name: str) -> str | None:
    """A field (typed column or ``properties.<key>``) as text; None when absent."""
    if name.startswith(PROPERTY_PREFIX):
        return _json_text((e.properties or {}).get(name[len(PROPERTY_PREFIX) :]))
    builtin = {"event": e.name, "person_id": e.person, "distinct_id": e.person, "session_id": e.session}
    if name in builtin:
        return builtin[name]
    value = e.columns.get(name)
    assert value is None or isinstance(value, str), (name, value)
    return value


def number_of(e: Ev, name: str) -> Fraction | None:
    """A field as an exact number; None when absent or not numeric."""
    if name in NUMERIC_COLUMNS:
        value = e.columns.get(name)
        return None if value is None else Fraction(value)
    text = text_of(e, name)
    if text is None:
        return None
    if _PLAIN_DECIMAL.match(text):
        return Fraction(float(text))  # the engine holds a double; its exact value
    assert not any(c.isdigit() for c in text), f"ambiguous numeric text {text!r}"
    return None


def value_text(value: Any) -> str:
    """A filter's value as text: JSON spelling for booleans, integral numbers without a fraction."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def matches(e: Ev, flt: dict[str, Any]) -> bool:
    """One filter. neq / not_in / not_contains also hold when the field is missing; the numeric
    comparisons skip values that are missing or not numbers."""
    name, op, value = flt["property"], flt.get("operator", "eq"), flt.get("value")
    if op in ("gt", "gte", "lt", "lte"):
        number = number_of(e, name)
        if number is None:
            return False
        bound = Fraction(float(value))
        return {
            "gt": number > bound,
            "gte": number >= bound,
            "lt": number < bound,
            "lte": number <= bound,
        }[op]
    if name in NUMERIC_COLUMNS:  # a number: equality is numeric, text operators are refused
        number = number_of(e, name)
        if op in ("is_set", "is_not_set"):
            return (number is not None) == (op == "is_set")
        assert op in ("eq", "neq", "in", "not_in"), op
        wanted = {Fraction(float(v)) for v in (value if isinstance(value, list) else [value])}
        hit = number is not None and number in wanted
        return hit if op in ("eq", "in") else not hit
    text = text_of(e, name)
    if op == "is_set":
        return text is not None
    if op == "is_not_set":
        return text is None
    if op in ("eq", "neq"):
        hit = text is not None and text == value_text(value)
    elif op in ("in", "not_in"):
        hit = text is not None and text in {value_text(v) for v in value}
    elif op in ("contains", "not_contains"):
        hit = text is not None and value_text(value) in text
    else:
        assert op == "regex", op
        hit = text is not None and re.search(value_text(value), text) is not None
    if op in ("neq", "not_in", "not_contains"):
        return not hit
    return hit


def passes(e: Ev, filters: Iterable[dict[str, Any]]) -> bool:
    return all(matches(e, f) for f in filters)


# ---------------------------------------------------------------------------------------------- numbers


def rnd(value: Fraction | float | int, digits: int) -> float:
    return round(float(value), digits)


def quantile(values: Sequence[Fraction], q: Fraction) -> Fraction:
    """Linear interpolation between closest ranks (numpy's default ``percentile``)."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean(values: Sequence[Fraction | int]) -> Fraction:
    return Fraction(sum(values)) / len(values)


# ---------------------------------------------------------------------------------------------- stats


def _stats_values(events: list[Ev], goal: str | dict[str, str] | None = None) -> dict[str, Any]:
    visits: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        if e.session is not None:
            visits[e.session].append(e)
    n_visits = len(visits)
    pageviews = sum(e.name == "$pageview" for e in events)
    bounces = sum(len(v) == 1 and v[0].name == "$pageview" for v in visits.values())
    durations = [max(x.ms for x in v) - min(x.ms for x in v) for v in visits.values()]
    return {
        "visitors": len({e.person for e in events if e.person is not None}),
        "visits": n_visits,
        "pageviews": pageviews,
        "views_per_visit": rnd(Fraction(pageviews, n_visits), 2) if n_visits else None,
        "bounce_rate": rnd(Fraction(100 * bounces, n_visits), 2) if n_visits else None,
        "visit_duration": rnd(mean(durations) / 1000, 1) if n_visits else None,
        "events": len(events),
        "revenue": rnd(sum((number_of(e, "revenue") or Fraction(0)) for e in events), 2),
        **(_conversion(events, goal) if goal is not None else {}),
    }


def path_matches(pattern: str, path: str) -> bool:
    """A page goal's pattern against a path, matched segment by segment (not through a regular expression,
    as the engine does): ``*`` any characters within a segment, ``**`` any characters at all."""
    if not pattern:
        return not path
    if pattern.startswith("**"):
        return any(path_matches(pattern[2:], path[i:]) for i in range(len(path) + 1))
    if pattern[0] == "*":
        rest = pattern[1:]
        i = 0
        while True:
            if path_matches(rest, path[i:]):
                return True
            if i >= len(path) or path[i] == "/":
                return False
            i += 1
    return bool(path) and path[0] == pattern[0] and path_matches(pattern[1:], path[1:])


def reaches(e: Ev, goal: str | dict[str, str]) -> bool:
    """Whether an event reaches a goal: an event name, or {"page": pattern} over page views."""
    if isinstance(goal, str):
        return e.name == goal
    path = text_of(e, "path")
    return e.name == "$pageview" and path is not None and path_matches(goal["page"], path)


def _conversion(events: list[Ev], goal: str | dict[str, str]) -> dict[str, Any]:
    visitors = {e.person for e in events if e.person is not None}
    converted = {e.person for e in events if e.person is not None and reaches(e, goal)}
    rate = rnd(Fraction(100 * len(converted), len(visitors)), 2) if visitors else None
    return {"conversions": len(converted), "conversion_rate": rate}


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change of the displayed values, in percent."""
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous * 100, 2)


def stats(
    events: Sequence[Ev],
    tz: ZoneInfo,
    first: date,
    last: date,
    filters: Sequence[dict[str, Any]] = (),
    goal: str | dict[str, str] | None = None,
):
    events = resolved(events)  # people through their alias links
    chosen = [e for e in events if passes(e, filters)]
    now = _stats_values(in_dates(chosen, tz, first, last), goal)
    before = _stats_values(in_dates(chosen, tz, *previous_dates(first, last)), goal)
    return {
        name: {"value": now[name], "previous": before[name], "change": change(now[name], before[name])}
        for name in now
    }


# ---------------------------------------------------------------------------------------------- trends


def bucket_of(at_local: datetime, interval: str) -> datetime:
    if interval == "hour":
        return at_local.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(at_local.date(), time())
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    assert interval == "month"
    return day.replace(day=1)


def label_text(bucket: datetime, interval: str) -> str:
    return bucket.isoformat(timespec="minutes") if interval == "hour" else bucket.date().isoformat()


@functools.cache
def buckets(tz: ZoneInfo, first: date, last: date, interval: str) -> list[datetime]:
    """Every local bucket that some instant of the range falls in, in order. The zones tested change
    their offset by multiples of 15 minutes, so probing every quarter hour meets every local hour."""
    start, end = utc_of_local_midnight(first, tz), utc_of_local_midnight(last + timedelta(days=1), tz)
    seen: dict[datetime, None] = {}
    probe = start
    while probe < end:
        seen[bucket_of(local(probe, tz), interval)] = None
        probe += timedelta(minutes=15)
    return list(seen)


_QUANTILES = {
    "median": Fraction(1, 2),
    "p90": Fraction(9, 10),
    "p95": Fraction(95, 100),
    "p99": Fraction(99, 100),
}
_OTHER = "$other"
_NONE = "$none"


def _aggregate(math_: str, events: list[Ev], prop: str | None) -> Fraction | int | None:
    if math_ == "total":
        return len(events)
    if math_ == "unique_users":
        return len({e.person for e in events if e.person is not None})
    if math_ == "unique_sessions":
        return len({e.session for e in events if e.session is not None})
    assert prop is not None
    values = [v for v in (number_of(e, prop) for e in events) if v is not None]
    if not values:
        return None
    if math_ == "sum":
        return sum(values, Fraction(0))
    if math_ == "avg":
        return mean(values)
    if math_ == "min":
        return min(values)
    if math_ == "max":
        return max(values)
    return quantile(values, _QUANTILES[math_])


def _or_none_label(text: str | None) -> str:
    return _NONE if text is None else text


def _shown(value: Fraction | int | None) -> float | int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return rnd(value, 6)


def _series_entries(
    events: list[Ev],
    tz: ZoneInfo,
    spec: dict[str, Any],
    series: dict[str, Any],
    letter: str,
    first: date,
    last: date,
) -> list[dict[str, Any]]:
    interval = spec.get("interval", "day")
    labels = buckets(tz, first, last, interval)
    chosen = [
        e
        for e in in_dates(events, tz, first, last)
        if passes(e, spec.get("filters", []))
        and (series.get("event") is None or e.name == series["event"])
        and passes(e, series.get("filters", []))
    ]
    math_ = series.get("math", "total")
    prop = series.get("math_property")
    breakdown = spec.get("breakdown")
    cumulative = spec.get("cumulative", False)

    groups: dict[str | None, list[Ev]] = defaultdict(list)
    if breakdown is None:
        groups[None] = chosen
    else:
        value_of = {id(e): _or_none_label(text_of(e, breakdown)) for e in chosen}
        counts: dict[str, int] = defaultdict(int)
        for e in chosen:
            counts[value_of[id(e)]] += 1
        top = sorted(counts, key=lambda v: (-counts[v], v))[: spec.get("breakdown_limit", 10)]
        for e in chosen:
            value = value_of[id(e)]
            groups[value if value in top else _OTHER].append(e)

    entries = []
    for group, members in groups.items():
        by_bucket: dict[datetime, list[Ev]] = defaultdict(list)
        for e in members:
            by_bucket[bucket_of(local(e.at, tz), interval)].append(e)
        if cumulative and math_ in ("unique_users", "unique_sessions"):
            # Each user (or visit) counts from the bucket it was first seen in.
            key = (lambda e: e.person) if math_ == "unique_users" else (lambda e: e.session)
            first_seen: dict[str, datetime] = {}
            for e in members:
                who = key(e)
                if who is not None:
                    b = bucket_of(local(e.at, tz), interval)
                    first_seen[who] = min(b, first_seen.get(who, b))
            raw: list[Fraction | int | None] = [
                sum(1 for b in first_seen.values() if b == label) for label in labels
            ]
        else:
            raw = [
                _aggregate(math_, by_bucket[label], prop) if by_bucket.get(label) else None
                for label in labels
            ]
        if cumulative:
            exact = list(itertools.accumulate(v or 0 for v in raw))
            data = [_shown(v) for v in exact]
        else:
            data = [_shown(v) for v in raw]
        entry: dict[str, Any] = {"label": letter, "event": series.get("event"), "math": math_, "data": data}
        if math_ in ("total", "sum") and not cumulative:
            entry["total"] = _shown(
                sum((v or 0 for v in raw), Fraction(0)) if math_ == "sum" else sum(v or 0 for v in raw)
            )
        if breakdown is not None:
            entry["breakdown_value"] = None if group == _NONE else group
        order_name = group if group is not None else ""
        entries.append(((group == _OTHER, -sum((v or 0 for v in raw), Fraction(0)), order_name), entry))
    return [entry for _, entry in sorted(entries, key=lambda kv: kv[0])]


FORMULAS: dict[str, Callable[[dict[str, float]], float]] = {
    "A + B": lambda v: v["A"] + v["B"],
    "A / B": lambda v: v["A"] / v["B"],
    "(A - B) * 100 / A": lambda v: (v["A"] - v["B"]) * 100 / v["A"],
    "A * 2 - B / 4": lambda v: v["A"] * 2 - v["B"] / 4,
}


def _formula(text: str, series: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    data = {s["label"]: s["data"] for s in series}
    out = []
    for i in range(n):
        try:
            out.append(round(FORMULAS[text]({k: float(v[i] or 0) for k, v in data.items()}), 6))
        except ZeroDivisionError:
            out.append(None)
    return [{"formula": text, "data": out}]


def _trends_period(events: list[Ev], tz: ZoneInfo, spec: dict[str, Any], first: date, last: date):
    interval = spec.get("interval", "day")
    labels = [label_text(b, interval) for b in buckets(tz, first, last, interval)]
    series: list[dict[str, Any]] = []
    for letter, s in zip("ABCDEFGHIJ", spec["series"], strict=False):
        series += _series_entries(events, tz, spec, s, letter, first, last)
    return labels, series


def trends(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    events = resolved(events)  # people through their alias links
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    labels, series = _trends_period(list(events), tz, spec, first, last)
    result: dict[str, Any] = {"labels": labels, "series": series}
    if spec.get("formula"):
        assert spec.get("breakdown") is None
        result["formula"] = _formula(spec["formula"], series, len(labels))
    if spec.get("compare"):
        prev_labels, prev_series = _trends_period(list(events), tz, spec, *previous_dates(first, last))
        result["previous"] = {"labels": prev_labels, "series": prev_series}
    return result


# ---------------------------------------------------------------------------------------------- breakdown

VISIT_LEVEL = {
    "referrer_domain", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "country", "region", "city", "browser", "browser_version", "os", "os_version", "device_type", "screen",
    "locale",
}  # fmt: skip


@dataclass
class _Visit:
    events: list[Ev]  # in time order

    @property
    def person(self) -> str | None:
        return self.events[0].person

    @property
    def pageviews(self) -> list[Ev]:
        return [e for e in self.events if e.name == "$pageview"]

    @property
    def bounce(self) -> bool:
        return len(self.events) == 1 and self.events[0].name == "$pageview"

    @property
    def duration_ms(self) -> int:
        return self.events[-1].ms - self.events[0].ms


def breakdown(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    """Visit-level dimension: a visit counts under the first value its events carry (entry / exit page: of
    its first / last page view; None when it has none). Event-level: a visit counts under every value its
    events carry (None for events without one; ``page`` looks at page views only, by path), and its page
    views there are those of the value."""
    events = resolved(events)  # people through their alias links
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    chosen = [e for e in in_dates(events, tz, first, last) if passes(e, spec.get("filters", []))]
    by_session: dict[str, list[Ev]] = defaultdict(list)
    for e in chosen:
        if e.session is not None:
            by_session[e.session].append(e)
    visits = [_Visit(sorted(v, key=lambda e: e.at)) for v in by_session.values()]
    dimension = spec["dimension"]
    goal = spec.get("goal")

    # value → [(visit, page views counted under the value)]
    groups: dict[str | None, list[tuple[_Visit, int]]] = defaultdict(list)
    for v in visits:
        if dimension in VISIT_LEVEL:
            carried = (text_of(e, dimension) for e in v.events)
            groups[next((x for x in carried if x is not None), None)].append((v, len(v.pageviews)))
        elif dimension in ("entry_page", "exit_page"):
            pages = v.pageviews
            page = None if not pages else (pages[0] if dimension == "entry_page" else pages[-1])
            groups[None if page is None else text_of(page, "path")].append((v, len(pages)))
        else:
            carried = v.pageviews if dimension == "page" else v.events
            name = "path" if dimension == "page" else dimension
            per_value: dict[str | None, int] = defaultdict(int)
            for e in carried:
                per_value[text_of(e, name)] += e.name == "$pageview"
            for value, pv in per_value.items():
                groups[value].append((v, pv))

    rows = []
    for value, members in groups.items():
        persons = {v.person for v, _ in members if v.person is not None}
        converted = {
            v.person
            for v, _ in members
            if v.person is not None and goal is not None and any(reaches(e, goal) for e in v.events)
        }
        n = len(members)
        row = {
            "value": value,
            "visitors": len(persons),
            "visits": n,
            "pageviews": sum(pv for _, pv in members),
            "bounce_rate": rnd(Fraction(100 * sum(v.bounce for v, _ in members), n), 2),
            "visit_duration": rnd(mean([v.duration_ms for v, _ in members]) / 1000, 1),
            "conversion_rate": rnd(Fraction(100 * len(converted), len(persons)), 2) if persons else None,
        }
        rows.append(row)
    sort_by = spec.get("sort_by", "visitors")
    # Biggest first; ties by value, the missing value last.
    rows.sort(key=lambda r: (r["value"] is None, r["value"] or ""))
    rows.sort(key=lambda r: -(r[sort_by] or 0))
    if goal is None:
        for r in rows:
            del r["conversion_rate"]
    offset, limit = spec.get("offset", 0), spec.get("limit", 20)
    return {"results": rows[offset : offset + limit], "total_values": len(rows)}


# ---------------------------------------------------------------------------------------------- lifecycle


def _utc_of_local(at_local: datetime, tz: ZoneInfo) -> datetime:
    return at_local.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def _bucket_before(label: datetime, tz: ZoneInfo, interval: str) -> datetime:
    """The local bucket just before the one starting at ``label``."""
    return bucket_of(local(_utc_of_local(label, tz) - timedelta(seconds=1), tz), interval)


def lifecycle(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Per bucket of the range, over the activity events (``event`` or any, the filters, a known person):
    new = active in it and its first-ever activity falls in it; returning = active in it and in the bucket
    before; resurrecting = active in it, not in the bucket before, active earlier; dormant = active in the
    bucket before, not in this one, as a negative number (0 for a bucket that has not started yet).
    Activity counts whole buckets, as far as the range's end."""
    events = resolved(events)  # people through their alias links
    interval = spec.get("interval", "day")
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    labels = buckets(tz, first, last, interval)
    end = utc_of_local_midnight(last + timedelta(days=1), tz)
    activity = [
        e
        for e in events
        if e.person is not None
        and e.at < end
        and (spec.get("event") is None or e.name == spec["event"])
        and passes(e, spec.get("filters", []))
    ]
    active: dict[str, set[datetime]] = defaultdict(set)
    for e in activity:
        active[e.person].add(bucket_of(local(e.at, tz), interval))  # type: ignore[index]
    first_seen = {who: min(bs) for who, bs in active.items()}
    current = bucket_of(local(now, tz), interval)
    series: dict[str, list[int]] = {"new": [], "returning": [], "resurrecting": [], "dormant": []}
    for i, b in enumerate(labels):
        before = labels[i - 1] if i else _bucket_before(b, tz, interval)
        now_active = {who for who, bs in active.items() if b in bs}
        was_active = {who for who, bs in active.items() if before in bs}
        series["new"].append(sum(first_seen[w] == b for w in now_active))
        series["returning"].append(sum(first_seen[w] < b and w in was_active for w in now_active))
        series["resurrecting"].append(sum(first_seen[w] < b and w not in was_active for w in now_active))
        series["dormant"].append(-len(was_active - now_active) if b <= current else 0)
    return {"labels": [label_text(b, interval) for b in labels], "series": series}


def usage(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Per bucket of the range, over the same activity as ``lifecycle``: total = people whose first-ever
    activity falls in the bucket or before it; active; new (first-ever activity in it); returning (active,
    not new); retained (active in it and in the bucket before); churned (active in the bucket before, not
    in this one; 0 for a bucket that has not started yet)."""
    events = resolved(events)
    interval = spec.get("interval", "day")
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    labels = buckets(tz, first, last, interval)
    end = utc_of_local_midnight(last + timedelta(days=1), tz)
    active: dict[str, set[datetime]] = defaultdict(set)
    for e in events:
        if (
            e.person is not None
            and e.at < end
            and (spec.get("event") is None or e.name == spec["event"])
            and passes(e, spec.get("filters", []))
        ):
            active[e.person].add(bucket_of(local(e.at, tz), interval))
    first_seen = {who: min(bs) for who, bs in active.items()}
    current = bucket_of(local(now, tz), interval)
    periods = []
    for i, b in enumerate(labels):
        before = labels[i - 1] if i else _bucket_before(b, tz, interval)
        here = {who for who, bs in active.items() if b in bs}
        was = {who for who, bs in active.items() if before in bs}
        new = sum(first_seen[w] == b for w in here)
        periods.append(
            {
                "period": label_text(b, interval),
                "total": sum(f <= b for f in first_seen.values()),
                "active": len(here),
                "new": new,
                "returning": len(here) - new,
                "retained": len(here & was),
                "churned": len(was - here) if b <= current else 0,
            }
        )
    return {"interval": interval, "periods": periods}


# ---------------------------------------------------------------------------------------------- retention


def _shift(label: datetime, period: str, n: int) -> datetime:
    if period == "day":
        return label + timedelta(days=n)
    if period == "week":
        return label + timedelta(weeks=n)
    index = label.year * 12 + label.month - 1 + n
    return label.replace(year=index // 12, month=index % 12 + 1)


def retention(
    events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """Cohorts by the period of the start event: first_time = the first-ever one (people who started
    before the range belong to no cohort), recurring = every period with one in the range. Column j counts
    the cohort's people who did the return event in period cohort + j; periods not begun yet are None.
    LTV: the cohort's revenue per person over its periods 0..j, from every event carrying a value."""
    events = resolved(events)  # people through their alias links
    period, periods = spec.get("period", "week"), spec.get("periods", 12)
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    filters = spec.get("filters", [])
    cohorts = buckets(tz, first, last, period)

    def is_(e: Ev, name: str | None) -> bool:
        return e.person is not None and (name is None or e.name == name) and passes(e, filters)

    def period_of(e: Ev) -> datetime:
        return bucket_of(local(e.at, tz), period)

    starts = [e for e in events if is_(e, spec.get("start_event"))]
    members: dict[datetime, set[str]] = defaultdict(set)
    if spec.get("retention_type", "first_time") == "first_time":
        earliest: dict[str, Ev] = {}
        for e in starts:
            if e.person not in earliest or e.at < earliest[e.person].at:  # type: ignore[index]
                earliest[e.person] = e  # type: ignore[index]
        for who, e in earliest.items():
            if first <= local(e.at, tz).date() <= last:
                members[period_of(e)].add(who)
    else:
        for e in in_dates(starts, tz, first, last):
            members[period_of(e)].add(e.person)  # type: ignore[arg-type]
    returns: dict[str, set[datetime]] = defaultdict(set)
    for e in events:
        if is_(e, spec.get("return_event")):
            returns[e.person].add(period_of(e))  # type: ignore[index]
    revenue: dict[tuple[str, datetime], Fraction] = defaultdict(Fraction)
    prop = spec.get("revenue_property")
    if prop is not None:
        for e in events:
            value = number_of(e, prop)
            if e.person is not None and value is not None:
                revenue[(e.person, period_of(e))] += value
    current = bucket_of(local(now, tz), period)
    rows = []
    for label in cohorts:
        people = members.get(label, set())
        size = len(people)
        values: list[int | None] = [size]
        percentages: list[float | None] = [100.0 if size else None]
        ltv: list[float | None] = []
        total = Fraction(0)
        for k in range(periods + 1):
            at = _shift(label, period, k)
            happened = at <= current
            total += sum((revenue.get((w, at), Fraction(0)) for w in people), Fraction(0))
            ltv.append(rnd(total / size, 4) if size and happened else None)
            if k == 0:
                continue
            n = sum(at in returns[w] for w in people) if happened else None
            values.append(n)
            percentages.append(round(n * 100 / size, 2) if n is not None and size else None)
        row: dict[str, Any] = {
            "cohort": label_text(label, period),
            "size": size,
            "values": values,
            "percentages": percentages,
        }
        if prop is not None:
            row["ltv"] = ltv
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------- paths


def paths(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    """A visit's items: its page paths (or event names) in time order, immediate repeats folded. Step 1
    is the first item, or the first occurrence of ``start``; with ``end``, steps count backwards from its
    last occurrence. An edge joins step k to step k + 1 of one visit, weighted by visits; the heaviest
    ``limit`` edges are kept, with their nodes (and every step-1 node when anchored)."""
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    pages = spec.get("path_type", "pages") == "pages"
    depth, limit = spec.get("depth", 5), spec.get("limit", 50)
    start, end = spec.get("start"), spec.get("end")
    visits: dict[str, list[Ev]] = defaultdict(list)
    for e in in_dates(events, tz, first, last):
        if e.session is None or not passes(e, spec.get("filters", [])):
            continue
        if pages and (e.name != "$pageview" or e.columns.get("path") is None):
            continue
        visits[e.session].append(e)
    node_visits: dict[tuple[int, str], int] = defaultdict(int)
    edge_visits: dict[tuple[tuple[int, str], tuple[int, str]], int] = defaultdict(int)
    for visit in visits.values():
        items: list[str] = []
        for e in sorted(visit, key=lambda e: e.at):
            item = e.columns["path"] if pages else e.name
            if not items or items[-1] != item:
                items.append(item)
        if end is not None:
            if end not in items:
                continue
            anchor = len(items) - 1 - items[::-1].index(end)
            steps = items[anchor::-1][:depth]  # backwards from the end
        elif start is not None:
            if start not in items:
                continue
            steps = items[items.index(start) :][:depth]
        else:
            steps = items[:depth]
        for k, item in enumerate(steps, start=1):
            node_visits[(k, item)] += 1
            if k < len(steps):
                edge_visits[((k, item), (k + 1, steps[k]))] += 1
    edges = sorted(edge_visits.items(), key=lambda kv: (-kv[1], kv[0][0][0], kv[0][0][1], kv[0][1][1]))[
        :limit
    ]
    anchored = start is not None or end is not None
    used = {n for n in node_visits if n[0] == 1} if anchored else set()
    for (a, b), _ in edges:
        used.update((a, b))
    nodes = [
        {"id": f"{k}_{item}", "step": k, "name": item, "visits": node_visits[(k, item)]}
        for k, item in sorted(used, key=lambda n: (n[0], -node_visits[n], n[1]))
    ]
    return {
        "direction": "before" if end is not None else "after",
        "nodes": nodes,
        "edges": [
            {"source": f"{a[0]}_{a[1]}", "target": f"{b[0]}_{b[1]}", "visits": v} for (a, b), v in edges
        ],
    }


# ------------------------------------------------------------------------------------------ event_properties


def event_properties(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """How many events of the range (of ``event``, or any; through the filters) carry each top-level
    property key, most first, ties by key; ``limit`` keys."""
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    counts: dict[str, int] = defaultdict(int)
    for e in in_dates(events, tz, first, last):
        if spec.get("event") in (None, e.name) and passes(e, spec.get("filters", [])):
            for key in e.properties or {}:
                counts[key] += 1
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: spec.get("limit", 50)]
    return [{"key": key, "events": n} for key, n in rows]


# ------------------------------------------------------------------------------------------------ users, user


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds") + "Z"


def traits(events: Sequence[Ev], who: str) -> dict[str, Any]:
    """The traits ``identify`` gave the id itself (not its aliases), later values over earlier ones."""
    merged: dict[str, Any] = {}
    for e in sorted(events, key=lambda e: e.at):
        if e.name == "$identify" and e.person == who:
            merged.update(e.properties or {})
    return merged


def users(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    """People (through their alias links) with events of the range passing the filters, whose id contains
    ``search``: first and last seen, events and visits there, and their traits; latest activity first,
    ties by id; ``limit`` from ``offset``; ``total`` people."""
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    theirs: dict[str, list[Ev]] = defaultdict(list)
    search = spec.get("search") or ""
    for e in in_dates(resolved(events), tz, first, last):
        if e.person is not None and search in e.person and passes(e, spec.get("filters", [])):
            theirs[e.person].append(e)
    rows = [
        {
            "person_id": who,
            "first_seen": _iso(min(e.at for e in evs)),
            "last_seen": _iso(max(e.at for e in evs)),
            "events": len(evs),
            "sessions": len({e.session for e in evs if e.session is not None}),
            "properties": traits(events, who),
        }
        for who, evs in theirs.items()
    ]
    rows.sort(key=lambda r: r["person_id"])
    rows.sort(key=lambda r: r["last_seen"], reverse=True)
    offset, limit = spec.get("offset", 0), spec.get("limit", 50)
    return {"results": rows[offset : offset + limit], "total": len(rows)}


def user(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    """One person's profile over all their history, the ids aliased to them included."""
    who = spec["person_id"]
    evs = sorted((e for e in resolved(events) if e.person == who), key=lambda e: e.at)
    if not evs:
        return {"person_id": who, "found": False}
    visits: dict[str, list[Ev]] = defaultdict(list)
    for e in evs:
        if e.session is not None:
            visits[e.session].append(e)
    durations = [v[-1].ms - v[0].ms for v in visits.values()]
    hours: dict[int, int] = defaultdict(int)
    for e in evs:
        hours[local(e.at, tz).hour] += 1
    features: dict[str, int] = defaultdict(int)
    for e in evs:
        if not e.name.startswith("$"):
            features[e.name] += 1
    return {
        "person_id": who,
        "found": True,
        "first_seen": _iso(evs[0].at),
        "last_seen": _iso(evs[-1].at),
        "events": len(evs),
        "sessions": len(visits),
        "days_active": len({local(e.at, tz).date() for e in evs}),
        "total_visit_duration": rnd(Fraction(sum(durations), 1000), 1),
        "avg_visit_duration": rnd(mean(durations) / 1000, 1) if durations else None,
        "revenue": sum((number_of(e, "revenue") or Fraction(0)) for e in evs),
        "cost": sum((number_of(e, "cost") or Fraction(0)) for e in evs),
        "peak_hours": [
            {"hour": h, "events": n} for h, n in sorted(hours.items(), key=lambda hn: (-hn[1], hn[0]))[:3]
        ],
        "top_events": [
            {"event": name, "count": n}
            for name, n in sorted(features.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        ],
        "properties": traits(events, who),
        "recent_events": [
            {
                "timestamp": _iso(e.at),
                "local_time": local(e.at, tz).isoformat(),
                "event": e.name,
                "path": e.columns.get("path"),
                "session_id": e.session,
            }
            for e in reversed(evs[-spec.get("recent", 20) :] if spec.get("recent", 20) else [])
        ],
    }


# ---------------------------------------------------------------------------------------------- realtime


def realtime(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The last 30 minutes (to a minute past ``now``): people in the last 5 and 30, the 30 whole minutes'
    event counts up to ``now``'s, the top pages and referrer domains by people; visits (sessions) today
    and yesterday until the same time of day, days in the project's zone."""
    chosen = [e for e in resolved(events) if passes(e, spec.get("filters", []))]
    end = now + timedelta(minutes=1)
    recent = [e for e in chosen if now - timedelta(minutes=30) <= e.at < end]

    def people(evs: Iterable[Ev]) -> int:
        return len({e.person for e in evs if e.person is not None})

    first_minute = now.replace(second=0, microsecond=0) - timedelta(minutes=29)
    counts = [0] * 30
    for e in recent:
        index = (e.at - first_minute) // timedelta(minutes=1)
        if 0 <= index < 30:
            counts[index] += 1

    def top(evs: list[Ev], name: str) -> list[dict[str, Any]]:
        by_value: dict[str, list[Ev]] = defaultdict(list)
        for e in evs:
            value = text_of(e, name)
            if value is not None:
                by_value[value].append(e)
        rows = [{"value": v, "visitors": people(group)} for v, group in by_value.items()]
        rows.sort(key=lambda r: (-r["visitors"], r["value"]))
        return rows[: spec.get("top", 10)]

    midnight = local(now, tz).date()
    today = utc_of_local_midnight(midnight, tz)
    yesterday = utc_of_local_midnight(midnight - timedelta(days=1), tz)
    elapsed = now - today + timedelta(microseconds=1)

    def visits(start: datetime) -> int:
        return len({e.session for e in chosen if start <= e.at < start + elapsed and e.session is not None})

    return {
        "visitors_5m": people(e for e in recent if e.at >= now - timedelta(minutes=5)),
        "visitors_30m": people(recent),
        "top_pages": top([e for e in recent if e.name == "$pageview"], "path"),
        "top_sources": top(recent, "referrer_domain"),
        "events_per_minute": [
            {"minute": (first_minute + timedelta(minutes=i)).isoformat(timespec="minutes") + "Z", "events": n}
            for i, n in enumerate(counts)
        ],
        "visits_today": visits(today),
        "visits_yesterday_same_time": visits(yesterday),
    }


# ---------------------------------------------------------------------------------------------- generators
# Hypothesis strategies shared by the property tests: small event sets in the zones and around the dates
# where local time misbehaves (DST changes, month and ISO-week boundaries).

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
ANCHORS = (
    date(2025, 3, 30),  # Europe: clocks go forward
    date(2025, 10, 26),  # Europe: clocks go back
    date(2025, 3, 9),  # New York: forward
    date(2025, 11, 2),  # New York: back
    date(2025, 4, 6),  # Lord Howe: back by 30 minutes
    date(2025, 10, 5),  # Lord Howe: forward by 30 minutes
    date(2024, 12, 30),  # a year and ISO-week boundary
    date(2025, 6, 30),  # a month end
)
PERSONS = ("p1", "p2", "p3", "p4")


# The zones' own clock changes, so that a range crosses them often.
ZONE_ANCHORS = {
    "Europe/Paris": (date(2025, 3, 30), date(2025, 10, 26)),
    "America/New_York": (date(2025, 3, 9), date(2025, 11, 2)),
    "Australia/Lord_Howe": (date(2025, 4, 6), date(2025, 10, 5)),
}


@st.composite
def date_ranges(draw: st.DrawFn, max_days: int = 10, zone: str | None = None) -> tuple[date, date]:
    """A range of 1 to ``max_days`` days around one of the anchors (often the zone's own clock change)."""
    own = ZONE_ANCHORS.get(zone or "", ())
    anchor = draw(st.sampled_from(own) if own and draw(st.booleans()) else st.sampled_from(ANCHORS))
    first = anchor + timedelta(days=draw(st.integers(-max_days, 2)))
    return first, first + timedelta(days=draw(st.integers(1, max_days)) - 1)


# Strategies are built once: building one per drawn event (its validation above all) cost most of the time
# the property tests spent making examples.
_SECONDS = st.one_of(
    st.integers(0, 86399),
    st.integers(0, 3599),  # the first local hour of a day
    st.integers(82800, 86399),  # the last
    st.integers(3600, 3 * 3600),  # when clocks change
)
# Multiples of 50 ms make averages that end in 5 at the digit where results are rounded.
_MILLIS = st.one_of(st.integers(0, 999), st.integers(0, 19).map(lambda k: 50 * k))
_FOLD = st.integers(0, 1)
_DAYS = [st.integers(0, n) for n in range(64)]


def draw_instant(draw: st.DrawFn, tz: ZoneInfo, first: date, last: date, *, with_ms: bool = True) -> datetime:
    """A naive UTC instant whose local date is about [first, last], often near a local midnight or in
    the small hours when clocks change (either side of a repeated hour, via ``fold``)."""
    span = (last - first).days
    day = first + timedelta(days=draw(_DAYS[span] if span < len(_DAYS) else st.integers(0, span)))
    second = draw(_SECONDS)
    millis = draw(_MILLIS) if with_ms else 0
    at = datetime.combine(day, time()) + timedelta(seconds=second, milliseconds=millis)
    return at.replace(tzinfo=tz, fold=draw(_FOLD)).astimezone(UTC).replace(tzinfo=None)


@st.composite
def instants(draw: st.DrawFn, tz: ZoneInfo, first: date, last: date, *, with_ms: bool = True) -> datetime:
    """``draw_instant`` as a strategy."""
    return draw_instant(draw, tz, first, last, with_ms=with_ms)


def cents(low: int = -5000, high: int = 50000) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda c: c / 100)


def _non_integral(x: float) -> float | int:
    return int(x) if x.is_integer() else x


AMOUNTS = st.one_of(
    st.integers(-50, 500),
    cents().map(_non_integral),
    cents().map(_non_integral),
    st.integers(-5000, 50000).map(lambda c: str(c // 100) if c % 100 == 0 else f"{c / 100:.2f}"),
    st.sampled_from(["n/a", "lots", ""]),
    st.booleans(),
    st.none(),
)
PROPERTIES = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "plan": st.sampled_from(["pro", "free", "team", "", "Pro plan"]),
            "amount": AMOUNTS,
            "flag": st.booleans(),
        },
    ),
)
COLUMNS = st.fixed_dictionaries(
    {},
    optional={
        "browser": st.sampled_from(["Chrome", "Firefox", "Safari", "Edge"]),
        "channel": st.sampled_from(["Direct", "Organic Search", "Referral"]),
        "country": st.sampled_from(["FR", "US", "IN"]),
        "browser_version": st.sampled_from(["120", "17.1", "-3", "beta"]),
    },
)
REVENUE = st.one_of(st.none(), cents(), cents())
PATHS = st.sampled_from(["/", "/pricing", "/blog", "/blog/post-1"])
# Page goals over those paths: within a segment, across segments, every top-level page, one page.
PAGE_GOALS = [{"page": "/blog/*"}, {"page": "/blog**"}, {"page": "/*"}, {"page": "/pricing"}]
_BOOL = st.booleans()
_PERSON = st.sampled_from(PERSONS)
_SESSION_OF = {p: st.sampled_from([f"{p}.a", f"{p}.b", f"{p}.c", None]) for p in PERSONS}
_FIRST_SESSION_OF = {p: st.sampled_from([f"{p}.a", None]) for p in PERSONS}
_OTHER_THAN = {p: st.sampled_from([q for q in PERSONS if q != p]) for p in PERSONS}


@st.composite
def events(
    draw: st.DrawFn,
    tz: ZoneInfo,
    first: date,
    last: date,
    *,
    names: Sequence[str] = ("$pageview", "$pageview", "clicked", "signed_up"),
    max_size: int = 25,
    with_ms: bool = True,
    sessions: bool = True,
    aliases: bool = True,
) -> list[Ev]:
    """Events of a few people, each person's visits (sessions) their own; page views carry a path. With
    ``aliases``, up to two ``$alias`` events link one person's id to another's (each id aliased once)."""

    named = st.sampled_from(names)

    @st.composite
    def one(draw: st.DrawFn) -> Ev:
        person = draw(_PERSON)
        session = draw(_SESSION_OF[person]) if sessions else None
        name = draw(named)
        columns = draw(COLUMNS)
        revenue = draw(REVENUE)
        if revenue is not None:
            columns["revenue"] = revenue
        if name == "$pageview" or draw(_BOOL):
            columns["path"] = draw(PATHS)
        at = draw_instant(draw, tz, first, last, with_ms=with_ms)
        return Ev(name, at, person, session, columns, draw(PROPERTIES))

    @st.composite
    def alias(draw: st.DrawFn, linked: str) -> Ev:
        person = draw(_OTHER_THAN[linked])
        session = draw(_FIRST_SESSION_OF[person]) if sessions else None
        at = draw_instant(draw, tz, first, last, with_ms=with_ms)
        return Ev("$alias", at, person, session, {}, {"alias": linked})

    # Three short lists rather than one long: as many events on average, and each shrinks to nothing.
    drawn = [e for _ in range(3) for e in draw(st.lists(one(), max_size=max_size // 3))]
    if aliases:
        linked = draw(st.lists(st.sampled_from(PERSONS), max_size=2, unique=True))
        drawn += [draw(alias(who)) for who in linked]
    return drawn


def one_per_instant(events: Iterable[Ev]) -> list[Ev]:
    """The first event of each instant: two events at one instant have no first between them, so a
    "first value" answer is only defined without such ties."""
    seen: set[datetime] = set()
    kept = []
    for e in events:
        if e.at not in seen:
            seen.add(e.at)
            kept.append(e)
    return kept


def resolved(events: Iterable[Ev]) -> list[Ev]:
    """The events with each person read through the ``$alias`` links (one level, as documented): the
    events of an id aliased to a person — before the alias too — are that person's."""
    events = list(events)
    person_of = {
        e.properties["alias"]: e.person for e in events if e.name == "$alias" and e.properties is not None
    }
    return [replace(e, person=person_of.get(e.person, e.person)) if e.person else e for e in events]


TEXT_FIELDS = ("browser", "channel", "path", "browser_version", "properties.plan", "properties.amount")
NUMERIC_FIELDS = ("revenue", "properties.amount", "browser_version")
_TEXT_VALUES = st.one_of(
    st.sampled_from(["Chrome", "Firefox", "Direct", "/", "/blog", "pro", "free", "", "beta", "n/a", "lots"]),
    st.sampled_from(["120", "17.1", "-3", "true", "false"]),
    st.integers(-50, 500),
    cents().map(_non_integral),
    st.booleans(),
)
_SUBSTRINGS = st.sampled_from(["", "r", "o", "/blog", "Fire", "ro", "1", ".", "-", "a"])
_PATTERNS = st.sampled_from(
    ["^Fi", "ox$", "o.e", "[CS]", "^$", "a|e", "\\d", "^/b", "^-?\\d+$", "\\.", "^pro$"]
)


@st.composite
def filters(draw: st.DrawFn, text_fields: Sequence[str] = TEXT_FIELDS) -> dict[str, Any]:
    """One filter with any operator: text operators on text fields and properties, numeric comparisons
    on ``revenue``, properties and a typed text column holding numbers."""
    op = draw(
        st.sampled_from(
            ["eq", "neq", "in", "not_in", "contains", "not_contains", "regex", "gt", "gte", "lt", "lte",
             "is_set", "is_not_set"]
        )
    )  # fmt: skip
    if op in ("gt", "gte", "lt", "lte"):
        number = draw(st.one_of(st.integers(-50, 500), cents().map(_non_integral)))
        return {"property": draw(st.sampled_from(NUMERIC_FIELDS)), "operator": op, "value": number}
    if op in ("is_set", "is_not_set"):
        return {
            "property": draw(st.sampled_from([*text_fields, "revenue", "properties.flag"])),
            "operator": op,
        }
    if op in ("eq", "neq", "in", "not_in") and draw(st.integers(0, 4)) == 0:  # a float column: numbers
        numbers = st.one_of(cents().map(_non_integral), st.integers(-50, 500))
        value = draw(st.lists(numbers, min_size=1, max_size=3)) if op in ("in", "not_in") else draw(numbers)
        return {"property": "revenue", "operator": op, "value": value}
    prop = draw(st.sampled_from(text_fields))
    if op in ("in", "not_in"):
        return {
            "property": prop,
            "operator": op,
            "value": draw(st.lists(_TEXT_VALUES, min_size=1, max_size=3)),
        }
    if op in ("contains", "not_contains"):
        return {"property": prop, "operator": op, "value": draw(_SUBSTRINGS)}
    if op == "regex":
        return {"property": prop, "operator": op, "value": draw(_PATTERNS)}
    return {"property": prop, "operator": op, "value": draw(_TEXT_VALUES)}
