"""Property: a behaviour cohort holds exactly the people a plain-Python reading of the events finds (people
through their alias links, the window, the event, the filters, the count), and a ``cohort`` filter then
keeps exactly those people's events — on both engines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

from belvedere.insights.cohorts.members import members
from belvedere.insights.cohorts.service import parse_definition

__all__ = ["analytics"]

SETTINGS = property_settings(40)
FIRST, LAST = date(2025, 3, 20), date(2025, 3, 30)
NOW = datetime(2025, 3, 31, 0, 0)


@dataclass
class Scenario:
    rule: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    events = draw(ref.events(ZoneInfo("UTC"), FIRST, LAST, max_size=30))
    rule: dict[str, Any] = {
        "type": "behaviour",
        "days": draw(st.integers(1, 12)),
        "min_count": draw(st.integers(1, 3)),
        "filters": draw(st.lists(ref.filters(), max_size=2)),
    }
    name = draw(st.sampled_from([None, "$pageview", "clicked", "signed_up"]))
    if name is not None:
        rule["event"] = name
    return Scenario(rule, events)


def _expected(scenario: Scenario) -> list[str]:
    rule = scenario.rule
    since = NOW - timedelta(days=rule["days"])
    counts: dict[str, int] = {}
    for e in ref.resolved(scenario.events):
        if e.person is None or not since <= e.at < NOW or not ref.passes(e, rule["filters"]):
            continue
        if rule.get("event") is not None and e.name != rule["event"]:
            continue
        counts[e.person] = counts.get(e.person, 0) + 1
    return sorted(p for p, n in counts.items() if n >= rule["min_count"])


@SETTINGS
@given(scenario=scenarios())
def test_a_behaviour_cohort_holds_the_reference_s_people(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    found = members(
        parse_definition(scenario.rule), store=analytics.store, project_id=project_id, timezone="UTC", now=NOW
    )
    expected = _expected(scenario)
    assert found == expected
    analytics.store.replace_cohort(project_id=project_id, cohort_id=1, people=found)
    kept = [e for e in ref.resolved(scenario.events) if e.person in set(expected)]
    stats = {"kind": "stats", "date_from": FIRST.isoformat(), "date_to": LAST.isoformat()}
    got = analytics.query({**stats, "filters": [{"property": "cohort", "value": 1}]}, project_id=project_id)
    assert got["results"]["events"]["value"] == len(kept)
    people = analytics.query(
        {
            **stats,
            "kind": "trends",
            "interval": "month",
            "series": [{"event": None, "math": "unique_users"}],
            "filters": [{"property": "cohort", "value": 1}],
        },
        project_id=project_id,
    )
    assert sum(people["series"][0]["data"]) == len({e.person for e in kept})
