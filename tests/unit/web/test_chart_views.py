"""Issue #27: what charts show people — bucket labels read as dates and times in the project's zone (not raw
ISO), compared periods named by their dates, a line under way stopped at now, and each step of a path in
its own column."""

from __future__ import annotations

import json

from belvedere.query.kinds.paths import PathEdge, PathNode, PathsResult
from belvedere.query.kinds.retention import Cohort, RetentionResult
from belvedere.query.kinds.trends import SeriesResult, TrendsResult
from belvedere.web.pages.views import retention_average, span_label, time_labels, under_way, view_of


def test_bucket_labels_are_read_as_people_read_dates() -> None:
    assert time_labels(["2026-12-06T04:00", "2026-12-06T05:00"], "hour") == ["04:00", "05:00"]
    assert time_labels(["2026-12-06T23:00", "2026-12-07T00:00"], "hour") == ["6 Dec 23:00", "7 Dec 00:00"]
    assert time_labels(["2026-11-30", "2026-12-01"], "day") == ["30 Nov", "1 Dec"]
    assert time_labels(["2026-12-31", "2027-01-01"], "day") == ["31 Dec 2026", "1 Jan 2027"]
    assert time_labels(["2026-11-30", "2026-12-07"], "week") == ["30 Nov", "7 Dec"]
    assert time_labels(["2026-11-01", "2026-12-01"], "month") == ["Nov 2026", "Dec 2026"]


def test_a_compared_period_is_named_by_its_dates() -> None:
    assert span_label("2025-03-23T00:00:00", "2025-03-30T00:00:00") == "23 Mar \u2013 29 Mar 2025"
    assert span_label("2025-03-30T00:00:00", "2025-03-31T00:00:00") == "30 Mar 2025"
    assert span_label("2025-03-30T00:00:00", "2025-03-30T14:05:00") == "30 Mar 2025, 00:00 \u2013 14:05"
    assert span_label("2024-12-30T00:00:00", "2025-01-02T00:00:00") == "30 Dec 2024 \u2013 1 Jan 2025"
    assert span_label("2025-01-29T00:00:00", "2025-02-28T14:00:00") == "29 Jan 00:00 \u2013 28 Feb 2025 14:00"


def _trend(current: int | None) -> TrendsResult:
    series = [SeriesResult(label="A", event="$pageview", math="total", data=[3, 5, 1, 0])]
    result = TrendsResult(
        interval="day", labels=["2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"], series=series
    )
    if current is not None:
        result.current = current
    return result


def test_a_trend_under_way_tells_the_chart_which_bucket_holds_now() -> None:
    drawn = json.loads(view_of(_trend(2), "line")["chart"])
    assert drawn["labels"] == ["3 Dec", "4 Dec", "5 Dec", "6 Dec"] and drawn["current"] == 2
    assert "current" not in json.loads(view_of(_trend(None), "line")["chart"])
    table = view_of(_trend(None), "table")
    assert table["columns"] == ["Series", "3 Dec", "4 Dec", "5 Dec", "6 Dec"]


def test_each_step_of_a_path_stands_in_its_own_column() -> None:
    """A step-2 page that no step-1 page leads to (``2_/``) still stands in the second column."""
    nodes = [PathNode(id="1_/a", step=1, name="/a", visits=2), PathNode(id="2_/", step=2, name="/", visits=1)]
    nodes.append(PathNode(id="3_/b", step=3, name="/b", visits=1))
    result = PathsResult(
        direction="after", nodes=nodes, edges=[PathEdge(source="2_/", target="3_/b", visits=1)]
    )
    drawn = json.loads(view_of(result, "sankey")["chart"])
    assert [(n["name"], n["depth"]) for n in drawn["nodes"]] == [("1. /a", 0), ("2. /", 1), ("3. /b", 2)]


def test_a_funnel_step_keeps_its_conditions_in_its_label() -> None:
    from belvedere.query.kinds.funnel import FunnelResult, StepResult

    def step(n: int, event: str, users: int) -> StepResult:
        return StepResult(
            step=n,
            event=event,
            users=users,
            conversion_rate=100.0,
            step_conversion_rate=None,
            drop_off=0,
            avg_time_to_convert=None,
            median_time_to_convert=None,
        )

    result = FunnelResult(
        steps=[step(1, "$pageview", 4), step(2, "signup", 1)], order="ordered", window=86400
    )
    asked = {
        "kind": "funnel",
        "steps": [
            {"event": "$pageview", "filters": [{"property": "path", "operator": "eq", "value": "/pricing"}]},
            {
                "event": "signup",
                "filters": [{"property": "properties.plan", "operator": "in", "value": ["pro", "team"]}],
            },
        ],
    }
    drawn = view_of(result, "funnel", asked)
    assert [row[0] for row in drawn["rows"]] == [
        "1. Page view (path is /pricing)",
        "2. signup (properties.plan is one of pro, team)",
    ]
    assert json.loads(drawn["chart"])["labels"] == [row[0] for row in drawn["rows"]]
    assert view_of(result, "table")["rows"][0][0] == "1. Page view"  # no question: the event alone


def test_a_retention_period_under_way_is_marked_and_left_out_of_the_mean() -> None:
    """Now is in the week of 7 December: week 2 of the cohort of 23 November and week 1 of the cohort of
    30 November are not over. Their zeros are marked, and the mean of week 1 is the cohort of 23 November's
    alone (1 of 2 came back), not pulled down to 1 of 6 by a week that has just begun."""
    result = RetentionResult(
        period="week",
        retention_type="first_time",
        current="2026-12-07",
        cohorts=[
            Cohort(cohort="2026-11-23", size=2, values=[2, 1, 0], percentages=[100.0, 50.0, 0.0]),
            Cohort(cohort="2026-11-30", size=4, values=[4, 0, None], percentages=[100.0, 0.0, None]),
            Cohort(cohort="2026-12-07", size=1, values=[1, None, None], percentages=[100.0, None, None]),
        ],
    )
    assert [under_way(result, c.cohort) for c in result.cohorts] == [2, 1, 0]
    assert retention_average(result) == [100.0, 50.0, None]
    view = view_of(result, "retention")
    shares = [[share for _, share, _ in row["cells"]] for row in view["rows"]]
    assert shares == [["100.0%", "50.0%", "0.0% *"], ["100.0%", "0.0% *", ""], ["100.0%", "", ""]]
    assert view["so_far"] is True
