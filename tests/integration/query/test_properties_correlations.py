"""Property: ``correlations`` compares the series the plain-Python reference counts, day by day in the
project's zone, at every lag and in levels or changes: its coefficients are numpy's over those values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import Analytics, analytics, property_settings

__all__ = ["analytics"]

SETTINGS = property_settings(30)
NAMES = ("$pageview", "$pageview", "clicked", "signed_up")


@dataclass
class Scenario:
    zone: str
    spec: dict[str, Any]
    events: list[ref.Ev]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ref.ZONES))
    tz = ZoneInfo(zone)
    first, last = draw(ref.date_ranges(max_days=8, zone=zone))
    last = max(last, first + timedelta(days=2))
    max_lag = draw(st.integers(0, 2))
    spec = {
        "kind": "correlations",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "target": {
            "event": draw(st.sampled_from(NAMES)),
            "math": draw(st.sampled_from(["total", "unique_users"])),
        },
        "candidates": [
            {"event": name, "math": draw(st.sampled_from(["total", "unique_users", "unique_sessions"]))}
            for name in ("$pageview", "clicked", "signed_up")
        ],
        "max_lag": max_lag,
        "transform": draw(st.sampled_from(["levels", "changes"])),
    }
    events = draw(
        ref.events(tz, first - timedelta(days=4), last + timedelta(days=1), names=NAMES, max_size=60)
    )
    return Scenario(zone, spec, events)


def _daily(scenario: Scenario, series: dict[str, Any], days: list[date]) -> list[float]:
    tz = ZoneInfo(scenario.zone)
    out = []
    for day in days:
        chosen = [
            e for e in ref.in_dates(ref.resolved(scenario.events), tz, day, day) if e.name == series["event"]
        ]
        if series.get("math") == "unique_users":
            out.append(float(len({e.person for e in chosen if e.person is not None})))
        elif series.get("math") == "unique_sessions":
            out.append(float(len({e.session for e in chosen if e.session is not None})))
        else:
            out.append(float(len(chosen)))
    return out


@SETTINGS
@given(scenario=scenarios())
def test_correlations_match_the_reference(analytics: Analytics, scenario: Scenario) -> None:
    analytics.now = datetime(2030, 1, 1)
    project_id = ref.load(analytics, scenario.events)
    got = analytics.query(scenario.spec, project_id=project_id, timezone=scenario.zone)
    spec = scenario.spec
    first, last = date.fromisoformat(spec["date_from"]), date.fromisoformat(spec["date_to"])
    read = spec["max_lag"] + (spec["transform"] == "changes")
    days = [first + timedelta(days=i) for i in range(-read, (last - first).days + 1)]
    n = (last - first).days + 1
    assert got["labels"] == [d.isoformat() for d in days[read:]]
    target = _daily(scenario, spec["target"], days)
    assert got["target"] == target[read:]
    shape = np.diff if spec["transform"] == "changes" else np.asarray
    y = shape(np.array(target))[spec["max_lag"] :]
    by_event = {c["series"]["event"]: c for c in got["results"]}
    for candidate in spec["candidates"]:
        x = shape(np.array(_daily(scenario, candidate, days)))
        found = by_event[candidate["event"]]
        assert found["n"] == n
        coefficients = {}
        for lag in range(spec["max_lag"] + 1):
            shifted = x[spec["max_lag"] - lag : spec["max_lag"] - lag + n]
            if np.ptp(shifted) > 0 and np.ptp(y) > 0:
                coefficients[lag] = float(np.corrcoef(shifted, y)[0, 1])
        if not coefficients:
            assert found["pearson"] is None
            continue
        assert found["pearson"] is not None
        assert math.isclose(found["pearson"], coefficients[found["lag"]], abs_tol=1e-4)
        assert abs(found["pearson"]) >= max(abs(r) for r in coefficients.values()) - 1e-4
