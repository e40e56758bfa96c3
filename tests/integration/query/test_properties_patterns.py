"""Property: ``patterns`` equals the plain-Python reference: each person's (through their alias links)
active days in the range, in the project's zone, with the first and the last, give the power users and
the people at risk of churning, counted and listed in the same order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

from belvedere.insights.patterns import churn_score, power_threshold

__all__ = ["analytics"]

SETTINGS = property_settings(30)


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    tz = ZoneInfo(zone)
    first, last = draw(ref.date_ranges(max_days=12, zone=zone))
    spec = {
        "kind": "patterns",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "pattern": draw(
            st.sampled_from(["power_users", "churn_risk", "conversion_opportunities", "feature_adoption"])
        ),
        "event": draw(st.sampled_from([None, "$pageview"])),
        "key_event": draw(st.sampled_from([None, "clicked", "$pageview"])),
        "top_share": draw(st.sampled_from([0.1, 0.25, 0.5])),
        "min_active_days": draw(st.integers(2, 3)),
        "threshold": draw(st.sampled_from([0.5, 0.8, 0.95])),
        "filters": draw(st.one_of(st.just([]), st.lists(ref.filters(), min_size=1, max_size=1))),
    }
    if spec["pattern"] == "conversion_opportunities":
        spec.update(
            event=None,
            goal=draw(st.sampled_from(["signed_up", {"page": "/blog/*"}])),
            lead_events=["clicked", "$pageview"],
            min_times=draw(st.integers(1, 3)),
        )
    if spec["pattern"] == "feature_adoption":
        spec.update(
            features=draw(st.sampled_from([[], ["clicked", "signed_up", "nothing"]])),
            max_share=draw(st.sampled_from([0.2, 0.5, 1.0])),
            by=draw(st.sampled_from([None, "browser", "properties.plan"])),
        )
    events = draw(ref.events(tz, first - timedelta(days=1), last + timedelta(days=1), max_size=60))
    events = ref.one_per_instant(events)
    return Scenario(zone, spec, events)


def reference(scenario: Scenario) -> dict[str, Any]:
    spec, tz = scenario.spec, ZoneInfo(scenario.zone)
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    stored = {id(e): e.person for e in scenario.events}
    days: dict[str, set[int]] = defaultdict(set)
    names: dict[str, set[str]] = defaultdict(set)
    actions: dict[str, int] = defaultdict(int)
    reached: set[str] = set()
    used: dict[str, set[str]] = defaultdict(set)
    originals = list(scenario.events)
    for original, e in zip(originals, ref.resolved(originals), strict=True):
        if e.person is None or not first <= ref.local(e.at, tz).date() <= last:
            continue
        if not ref.passes(e, spec["filters"]) or spec["event"] not in (None, e.name):
            continue
        days[e.person].add((ref.local(e.at, tz).date() - first).days)
        used[e.name].add(e.person)
        names[e.person].add(str(stored[id(original)]))
        if spec["pattern"] == "conversion_opportunities":
            actions[e.person] += e.name in spec["lead_events"]
            if ref.reaches(e, spec["goal"]):
                reached.add(e.person)
        else:
            actions[e.person] += e.name == spec["key_event"]
    span = (last - first).days + 1
    if spec["pattern"] == "power_users":
        histogram: dict[int, int] = defaultdict(int)
        for seen in days.values():
            histogram[len(seen)] += 1
        threshold = power_threshold(histogram, spec["top_share"])
        chosen = [p for p, seen in days.items() if threshold is not None and len(seen) >= threshold]
        ordered = sorted(chosen, key=lambda p: (-len(days[p]), -actions[p], min(names[p])))
        listed = [(min(names[p]), len(days[p]), actions[p] if spec["key_event"] else None) for p in ordered]
        return {"count": len(chosen), "min_active_days": threshold, "people": listed[:20]}
    if spec["pattern"] == "feature_adoption":
        return _adoption(scenario, spec, days, used)
    if spec["pattern"] == "conversion_opportunities":
        engaged = [p for p in days if actions[p] >= spec["min_times"]]
        chosen = sorted(
            (p for p in engaged if p not in reached),
            key=lambda p: (-actions[p], -len(days[p]), min(names[p])),
        )
        listed = [(min(names[p]), len(days[p]), actions[p]) for p in chosen]
        converted = sum(p in reached for p in engaged)
        return {"count": len(chosen), "min_active_days": None, "people": listed[:20], "converted": converted}
    flagged = []
    for p, seen in days.items():
        if len(seen) < spec["min_active_days"]:
            continue
        score = churn_score(len(seen), max(seen) - min(seen) + 1, span - 1 - max(seen))
        if score >= spec["threshold"]:
            flagged.append((score, len(seen), min(names[p]), span - 1 - max(seen)))
    flagged.sort(key=lambda f: (-f[0], -f[1], f[2]))
    listed = [(name, n, gap) for _, n, name, gap in flagged]
    return {"count": len(flagged), "min_active_days": spec["min_active_days"], "people": listed[:20]}


def _adoption(
    scenario: Scenario, spec: dict[str, Any], days: dict[str, set[int]], used: dict[str, set[str]]
) -> dict[str, Any]:
    tz = ZoneInfo(scenario.zone)
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    active = len(days)
    # Each active person's first value of ``by`` (their events of the range in time order).
    value_of: dict[str, Any] = {}
    for e in sorted(ref.resolved(scenario.events), key=lambda e: e.at):
        chosen = e.person in days and spec["event"] in (None, e.name) and ref.passes(e, spec["filters"])
        if chosen and first <= ref.local(e.at, tz).date() <= last and value_of.get(e.person) is None:
            value_of[e.person] = ref.text_of(e, spec["by"]) if spec["by"] else None
    names = (
        spec["features"]
        or sorted(
            (n for n in used if n not in ("$pageview", "$pageleave", "$alias", "$identify")),
            key=lambda n: (-len(used[n]), n),
        )[:30]
    )
    features = []
    for name in names:
        users = used.get(name, set())
        share = 100 * len(users) / active if active else 0.0
        counts: dict[Any, int] = defaultdict(int)
        for person in users:
            counts[value_of.get(person)] += 1
        top = (
            sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, str(kv[0])))[:3]
            if spec["by"]
            else []
        )
        features.append((name, len(users), round(share, 2), share < 100 * spec["max_share"], top))
    features.sort(key=lambda f: (f[1], f[0]))
    return {"count": sum(f[3] for f in features), "active": active, "features": features}


@SETTINGS
@given(scenario=scenarios())
def test_patterns_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    analytics.now = datetime(2030, 1, 1)
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    expected = reference(scenario)
    if scenario.spec["pattern"] == "feature_adoption":
        features = [
            (f["event"], f["people"], f["share"], f["gap"], [(b["value"], b["people"]) for b in f["by"]])
            for f in got["features"]
        ]
        assert (got["count"], got["active"], features) == (
            expected["count"],
            expected["active"],
            expected["features"],
        )
        return
    if scenario.spec["pattern"] != "churn_risk":
        listed = [(p["person"], p["active_days"], p["actions"]) for p in got["people"]]
    else:
        listed = [(p["person"], p["active_days"], p["absent_days"]) for p in got["people"]]
    assert (got["count"], got.get("min_active_days"), listed) == (
        expected["count"],
        expected["min_active_days"],
        expected["people"],
    )
    assert got.get("converted") == expected.get("converted")
