"""Property: filters keep exactly the events the reference keeps, for every operator, on typed columns
and properties (missing fields, JSON null, numbers, numeric and non-numeric text, booleans)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

from belvedere.query import parse_query

__all__ = ["analytics"]

SETTINGS = property_settings(50)
FIRST, LAST = date(2025, 3, 3), date(2025, 3, 9)


@dataclass
class Scenario:
    filters: list[dict[str, Any]]
    on_series: bool  # the filters on the series rather than on the whole query
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    events = draw(ref.events(ZoneInfo("UTC"), FIRST, LAST, max_size=30))
    for i, e in enumerate(events):
        e.columns["title"] = f"e{i:02d}"  # which events a query kept: break it down by title
    filters = draw(st.lists(ref.filters(), min_size=1, max_size=3))
    return Scenario(filters, draw(st.booleans()), events)


@SETTINGS
@given(scenario=scenarios())
def test_filters_keep_what_the_reference_keeps(analytics: Analytics, scenario: Scenario) -> None:
    project_id = ref.load(analytics, scenario.events)
    series: dict[str, Any] = {"event": None}
    spec: dict[str, Any] = {
        "kind": "trends",
        "date_from": FIRST.isoformat(),
        "date_to": LAST.isoformat(),
        "interval": "month",
        "series": [series],
        "breakdown": "title",
        "breakdown_limit": 100,
    }
    if scenario.on_series:
        series["filters"] = scenario.filters
    else:
        spec["filters"] = scenario.filters
    got = analytics.query(spec, project_id=project_id)
    kept = {e.columns["title"] for e in scenario.events if ref.passes(e, scenario.filters)}
    assert {s["breakdown_value"] for s in got["series"]} == kept
    assert all(s["data"] == [1] for s in got["series"])
    stats = {"kind": "stats", "date_from": FIRST.isoformat(), "date_to": LAST.isoformat()}
    counted = analytics.query({**stats, "filters": scenario.filters}, project_id=project_id)
    assert counted["results"]["events"]["value"] == len(kept)


@pytest.mark.parametrize("column", ["revenue", "cost"])
@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("contains", "5"),
        ("not_contains", "5"),
        ("regex", "^5"),
        ("eq", "abc"),
        ("neq", "abc"),
        ("in", ["abc"]),
        ("not_in", ["5", "x"]),
    ],
)
def test_text_operators_on_a_number_column_are_refused(column: str, operator: str, value: object) -> None:
    """A filter the engines cannot run is a validation error (422), not a failing query (500)."""
    with pytest.raises(ValidationError, match=column):
        parse_query(
            {"kind": "stats", "filters": [{"property": column, "operator": operator, "value": value}]}
        )
