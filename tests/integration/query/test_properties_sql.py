"""Property: the ``sql`` kind answers over this project's rows only, with people read through this
project's alias links — the same numbers as plain Python over the project's own events, whatever another
project (with the same person ids) holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(40)


@dataclass
class Scenario:
    mine: list[ref.Ev]
    theirs: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    first, last = draw(ref.date_ranges(max_days=3))
    events = ref.events(ZoneInfo("UTC"), first - timedelta(days=1), last)
    return Scenario(draw(events), draw(events))


def _expected(events: list[ref.Ev]) -> dict[str, list[list[Any]]]:
    """What each query of ``QUERIES`` returns, computed in Python over one project's events."""
    people = [e.person for e in ref.resolved(events) if e.person is not None]
    pages = Counter(e.columns["path"] for e in events if e.name == "$pageview" and e.columns.get("path"))
    return {
        "per_event": [[name, n] for name, n in sorted(Counter(e.name for e in events).items())],
        "people": [[len(set(people))]],
        "per_person": [[who, n] for who, n in sorted(Counter(people).items())],
        "pages": [[path, n] for path, n in sorted(pages.items())],
        "visits": [[len({e.session for e in events if e.session is not None})]],
        "elsewhere": [[0]],
    }


QUERIES = {
    "per_event": "SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event",
    "people": "SELECT count(DISTINCT person_id) AS people FROM events",
    "per_person": (
        "SELECT person_id, count(*) AS n FROM events WHERE person_id IS NOT NULL"
        " GROUP BY person_id ORDER BY person_id"
    ),
    "pages": (
        "SELECT path, count(*) AS n FROM events WHERE event = '$pageview' AND path IS NOT NULL"
        " GROUP BY path ORDER BY path"
    ),
    "visits": "SELECT count(*) AS visits FROM visits",
    "elsewhere": "SELECT count(*) AS n FROM events WHERE project_id <> {project}",
}


@SETTINGS
@given(scenario=scenarios())
def test_user_sql_sees_this_project_s_rows_only(analytics: Analytics, scenario: Scenario) -> None:
    mine = ref.load(analytics, scenario.mine)
    ref.load(analytics, scenario.theirs)
    expected = _expected(scenario.mine)
    for name, text in QUERIES.items():
        got = analytics.query({"kind": "sql", "query": text.format(project=mine)}, project_id=mine)
        assert [list(row) for row in got["rows"]] == expected[name], name
