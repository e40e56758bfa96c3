"""Plain-Python references of the funnel kinds (``funnel``, ``funnel_people``), for the property tests: every
chain of step events is enumerated (nothing like the SQL's "latest start" trick), exclusions are checked on
each chain as documented, and the people are grouped, bucketed and binned by hand."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from tests.integration.query.reference import (
    Ev,
    bucket_of,
    buckets,
    in_dates,
    label_text,
    local,
    mean,
    passes,
    quantile,
    resolved,
    rnd,
    text_of,
)

NONE = "$none"


def _step_matches(e: Ev, step: dict[str, Any]) -> bool:
    return e.name == step["event"] and passes(e, step.get("filters", []))


def _spoiled(chain: list[Ev], excluded: list[tuple[dict[str, Any], list[Ev]]]) -> bool:
    """Whether an excluded event lies strictly between the chain's step-a event and its step-b event (or its
    last event, when it stops before step b), for an exclusion from a to b that the chain goes past."""
    k = len(chain)
    for x, events in excluded:
        a, b = x["from_step"], x["to_step"]
        if k <= a:
            continue
        lo, hi = chain[a - 1].ms, chain[min(k, b) - 1].ms
        if any(lo < e.ms < hi for e in events):
            return True
    return False


def _ordered_chains(events: list[Ev], spec: dict[str, Any]) -> list[list[tuple[int, int]]]:
    """For each k, the (t1, tk) of every chain of events e1..ek with e_i a step-i event, t1 < … < tk,
    tk - t1 ≤ window, not spoiled by an exclusion; strict chains are also consecutive in ``events`` (the
    person's events, by time). Brute force: every chain is enumerated."""
    steps, strict = spec["steps"], spec.get("order", "ordered") == "strict"
    window_ms = spec.get("window", 14 * 86400) * 1000
    excluded = [(x, [e for e in events if _step_matches(e, x)]) for x in spec.get("exclusions", [])]
    found: list[set[tuple[int, int]]] = [set() for _ in steps]

    def extend(chain: list[int]) -> None:
        if _spoiled([events[i] for i in chain], excluded):
            return  # every longer chain holds the same span
        k = len(chain)
        t1, tk = events[chain[0]].ms, events[chain[-1]].ms
        found[k - 1].add((t1, tk))
        if k == len(steps):
            return
        for j in [chain[-1] + 1] if strict else range(len(events)):
            if j < len(events):
                e = events[j]
                if e.ms > tk and e.ms - t1 <= window_ms and _step_matches(e, steps[k]):
                    extend([*chain, j])

    for i, e in enumerate(events):
        if _step_matches(e, steps[0]):
            extend([i])
    return [sorted(ends) for ends in found]


@dataclass
class Person:
    who: str
    reached: int  # the furthest step
    times: list[int | None]  # per step: the shortest chain reaching it (ms from step 1), None if not reached
    value: str | None = None  # breakdown value of the first step-1 event
    entered: datetime | None = None  # the first step-1 event's time (UTC)


def _person(who: str, person_events: list[Ev], spec: dict[str, Any]) -> Person:
    steps = spec["steps"]
    window_ms = spec.get("window", 14 * 86400) * 1000
    person_events = sorted(person_events, key=lambda e: e.ms)
    starts = [e for e in person_events if _step_matches(e, steps[0])]
    entered = starts[0].at if starts else None
    value = None
    if spec.get("breakdown") is not None and starts:
        earliest = starts[0].ms
        value = min(_or_none(text_of(e, spec["breakdown"])) for e in starts if e.ms == earliest)
    if spec.get("order", "ordered") == "unordered":
        best = 0
        for e in person_events:
            if any(_step_matches(e, s) for s in steps):
                inside = [x for x in person_events if e.ms <= x.ms <= e.ms + window_ms]
                best = max(best, sum(any(_step_matches(x, s) for x in inside) for s in steps))
        return Person(who, best, [None] * len(steps), value, entered)
    chains = _ordered_chains(person_events, spec)
    times = [min((tk - t1 for t1, tk in ends), default=None) for ends in chains]
    return Person(who, sum(1 for t in times if t is not None), times, value, entered)


def _or_none(text: str | None) -> str:
    return NONE if text is None else text


def people(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> list[Person]:
    """Every person with an event in the range that passes the filters, read through the alias links."""
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    by_person: dict[str, list[Ev]] = defaultdict(list)
    for e in in_dates(resolved(events), tz, first, last):
        if e.person is not None and passes(e, spec.get("filters", [])):
            by_person[e.person].append(e)
    return [_person(who, evs, spec) for who, evs in sorted(by_person.items())]


def _steps(group: list[Person], spec: dict[str, Any]) -> list[dict[str, Any]]:
    steps, unordered = spec["steps"], spec.get("order", "ordered") == "unordered"
    out = []
    first = previous = sum(p.reached >= 1 for p in group)
    for k, step in enumerate(steps):
        users = sum(p.reached >= k + 1 for p in group)
        times = [Fraction(t) for p in group if (t := p.times[k]) is not None]
        timed = k > 0 and not unordered and bool(times)
        out.append(
            {
                "step": k + 1,
                "event": step["event"],
                "users": users,
                "conversion_rate": round(users * 100 / first, 2) if first else None,
                "step_conversion_rate": round(users * 100 / previous, 2) if previous else None,
                "drop_off": previous - users if k else 0,
                "avg_time_to_convert": rnd(mean(times) / 1000, 3) if timed else None,
                "median_time_to_convert": rnd(quantile(times, Fraction(1, 2)) / 1000, 3) if timed else None,
            }
        )
        previous = users
    return out


def _over_time(group: list[Person], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    interval = spec.get("interval", "day")
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    labels = buckets(tz, first, last, interval)
    entered, converted = [0] * len(labels), [0] * len(labels)
    for p in group:
        if p.entered is not None:
            i = labels.index(bucket_of(local(p.entered, tz), interval))
            entered[i] += 1
            converted[i] += p.reached == len(spec["steps"])
    return {
        "interval": interval,
        "labels": [label_text(label, interval) for label in labels],
        "entered": entered,
        "converted": converted,
        "conversion_rate": [
            round(c * 100 / e, 2) if e else None for e, c in zip(entered, converted, strict=True)
        ],
    }


def _width(lo: int, hi: int, bins: int) -> int:
    """The first width (seconds) of 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, then
    whole days, whose bins from lo's to hi's number at most ``bins``."""
    named = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200]
    width = 0
    for width in [*named, *(86400 * d for d in range(1, 400))]:
        if hi // width - lo // width + 1 <= bins:
            return width
    raise AssertionError(width)


def _histogram(group: list[Person], spec: dict[str, Any]) -> dict[str, Any]:
    asked = spec["time_to_convert"]
    a, b = asked.get("from_step", 1), asked.get("to_step") or len(spec["steps"])
    spans = [p.times[b - 1] - p.times[a - 1] for p in group if p.reached >= b]  # type: ignore[operator]
    if not spans:
        return {"from_step": a, "to_step": b, "bin_seconds": 1, "bins": []}
    lo, hi = min(spans) // 1000, max(spans) // 1000
    width = _width(lo, hi, asked.get("bins", 10))
    bins = [
        {"start": i * width, "end": (i + 1) * width, "people": sum(s // 1000 // width == i for s in spans)}
        for i in range(lo // width, hi // width + 1)
    ]
    return {"from_step": a, "to_step": b, "bin_seconds": width, "bins": bins}


def funnel(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    """Ordered: a person reaches step k with events of steps 1..k at t1 < … < tk, tk - t1 ≤ window, and no
    excluded event strictly between the chain's step a and step min(k, b) for an exclusion (a, b) with
    k > a; strict: the chain's events are also consecutive among all the person's events in the range;
    unordered: the most distinct steps done within a window [t, t + window] starting at one of the person's
    step events. Each person counts once, at the furthest step. A breakdown groups the people who entered
    the funnel by the value on their first step-1 event (ties in time: the smallest value); over time, by
    the bucket of that event; the time from step a to b is the shortest time from step 1 to b less the
    shortest from step 1 to a."""
    group = people(events, tz, spec)
    result: dict[str, Any] = {"steps": _steps(group, spec)}
    if spec.get("breakdown") is not None:
        groups: dict[str, list[Person]] = defaultdict(list)
        for p in group:
            if p.reached >= 1:
                assert p.value is not None
                groups[p.value].append(p)
        # Most people at step 1 first, ties by value; only people who entered the funnel make a group.
        rows = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: spec.get("breakdown_limit", 10)]
        result["breakdown"] = [
            {"value": None if value == NONE else value, "steps": _steps(members, spec)}
            for value, members in rows
        ]
    if spec.get("over_time"):
        result["over_time"] = _over_time(group, tz, spec)
    if spec.get("time_to_convert") is not None:
        result["time_to_convert"] = _histogram(group, spec)
    return result


def funnel_people(events: Sequence[Ev], tz: ZoneInfo, spec: dict[str, Any]) -> dict[str, Any]:
    """The people who reached step k (converted) or step k - 1 and not k (dropped), by id, paged; a converted
    person's time is the shortest from step 1 to step k (ordered and strict, k > 1)."""
    k, status = spec["step"], spec.get("status", "converted")
    timed = spec.get("order", "ordered") != "unordered" and status == "converted" and k > 1
    chosen = [
        p
        for p in people(events, tz, spec)
        if (p.reached >= k if status == "converted" else p.reached == k - 1)
    ]
    offset, limit = spec.get("offset", 0), spec.get("limit", 100)
    return {
        "kind": "funnel_people",
        "step": k,
        "status": status,
        "total": len(chosen),
        "people": [
            {
                "person_id": p.who,
                "time_to_convert": rnd(Fraction(p.times[k - 1] or 0, 1000), 3) if timed else None,
            }
            for p in sorted(chosen, key=lambda p: p.who)[offset : offset + limit]
        ],
    }
