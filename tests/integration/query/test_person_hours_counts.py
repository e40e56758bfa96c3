"""The people that the person hours count (``query.person_hours``) against the same questions answered from
the events, around clock changes, with alias links: literal numbers, and the proof that each way ran."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.integration.query.events_kit import event, open_store, record_sql

from belvedere.query import QueryService, parse_query
from belvedere.query import person_hours as hours_module
from belvedere.store.duckdb import DuckDBEventStore

PARIS = ZoneInfo("Europe/Paris")


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


# Around Paris's clock change of 26 October 2025 (03:00 back to 02:00): events half an hour before and after
# local midnights, where an offset off by an hour puts them on the wrong day.
EVENTS = [
    event("$pageview", _local("2025-10-25T23:30"), person="a"),  # the 25th (21:30 UTC)
    event("$pageview", _local("2025-10-26T00:30"), person="a"),  # the 26th (22:30 UTC on the 25th)
    event("$pageview", _local("2025-10-26T23:30"), person="b"),  # the 26th (22:30 UTC), after the change
    event("$pageview", _local("2025-10-27T00:30"), person="b"),  # the 27th (23:30 UTC on the 26th)
    event("$pageview", _local("2025-10-27T00:30"), person="c"),  # the 27th
    event("signup", _local("2025-10-27T12:00"), person="c"),
    event("$pageview", _local("2025-10-28T09:00"), person="d"),  # d becomes c: one person on the 28th…
    event("$pageview", _local("2025-10-28T10:00"), person="c"),
    event("$alias", _local("2025-10-28T11:00"), person="c", properties={"alias": "d"}),
    event("$pageview", _local("2025-11-02T23:30"), person="e"),  # a Sunday: the week of 27 October
    event("$pageview", _local("2025-11-03T00:30"), person="e"),  # a Monday: the next week
]
CHART = {
    "kind": "trends",
    "date_from": "2025-10-25",
    "date_to": "2025-10-28",
    "interval": "day",
    "series": [{"event": "$pageview", "math": "unique_users"}],
    "totals": True,
}
WEEKS = {**CHART, "date_from": "2025-10-20", "date_to": "2025-11-09", "interval": "week", "series": [{}]}
WEEKS["series"] = [{"math": "unique_users"}]
STATS = {"kind": "stats", "date_from": "2025-10-25", "date_to": "2025-10-28"}
GOALS = {"kind": "goals", "date_from": "2025-10-25", "date_to": "2025-10-28"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[QueryService, list[str]]]:
    store = open_store("duckdb", tmp_path)
    assert isinstance(store, DuckDBEventStore)
    ran = record_sql(store)
    store.write_batch(b"".join(_line(r) for r in EVENTS), checkpoint=(0, 1), dedupe=False)
    try:
        yield QueryService(store), ran
    finally:
        store.close()


def _line(row: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(row) + b"\n"


def _ask(service: QueryService, spec: dict[str, Any]) -> dict[str, Any]:
    answer = service.run(parse_query(spec), project_id=1, timezone="Europe/Paris", now=datetime(2026, 1, 1))
    out = answer.as_dict()
    out.pop("meta")
    return out


def _both(
    service: tuple[QueryService, list[str]], spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The answer from the person hours, checked equal to the one from the events."""
    query, ran = service
    counted = _ask(query, spec)
    assert any("person_hours" in sql for sql in ran), "the person hours were not read"
    with monkeypatch.context() as patched:
        patched.setattr(hours_module.HourRange, "of", classmethod(lambda cls, *a, **k: None))
        ran.clear()
        grouped = _ask(QueryService(query.store), spec)  # a new service: no cached answer
        assert not any("person_hours" in sql for sql in ran)
    assert counted == grouped
    return counted


def test_people_per_day_across_a_clock_change(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _both(service, CHART, monkeypatch)
    series = answer["series"][0]
    # 25th: a; 26th: a, b; 27th: b, c; 28th: c (and d, now c).
    assert series["data"] == [1, 2, 2, 1]
    assert series["total"] == 3  # a, b, c


def test_people_per_week_across_a_clock_change(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _both(service, WEEKS, monkeypatch)
    # Weeks of 20 October (a, b), 27 October (b, c, e), 3 November (e).
    assert answer["series"][0]["data"] == [2, 3, 1]
    assert answer["series"][0]["total"] == 4  # a, b, c (d is c now), e


def test_visitors_and_goals(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stats = _both(service, STATS, monkeypatch)
    assert stats["results"]["visitors"]["value"] == 3
    goals = _both(service, GOALS, monkeypatch)
    assert [(g["goal"], g["people"]) for g in goals["results"]] == [("$pageview", 3), ("signup", 1)]
    assert goals["visitors"] == 3


def test_a_range_off_the_hour_reads_the_events(service: Any) -> None:
    """India is five and a half hours from UTC: its days do not begin on whole UTC hours."""
    query, ran = service
    answer = query.run(parse_query(STATS), project_id=1, timezone="Asia/Kolkata", now=datetime(2026, 1, 1))
    assert answer.as_dict()["results"]["visitors"]["value"] == 3
    assert not any("person_hours" in sql for sql in ran)


def test_the_compared_period_cut_off_the_hour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today until 12:30 (Paris) is compared with yesterday until 12:30 — 11:30 UTC on the 26th, off the
    hour: the person hours count yesterday's people until 11:00 UTC, and its events after that add those not
    seen before (f), not again those seen (a), and not those after the cut (g)."""
    store = open_store("duckdb", tmp_path)
    ran = record_sql(store)
    later = [
        event("$pageview", _local("2025-10-26T12:10"), person="f"),
        event("$pageview", _local("2025-10-26T12:20"), person="a"),
        event("$pageview", _local("2025-10-26T12:40"), person="g"),
    ]
    store.write_batch(b"".join(_line(r) for r in [*EVENTS, *later]), checkpoint=(0, 1), dedupe=False)
    spec = {"kind": "stats", "date_from": "2025-10-27", "date_to": "2025-10-27"}
    now = datetime(2025, 10, 27, 11, 30)  # 12:30 in Paris

    def visitors() -> tuple[int, int]:
        answer = QueryService(store).run(parse_query(spec), project_id=1, timezone="Europe/Paris", now=now)
        figure = answer.as_dict()["results"]["visitors"]
        return figure["value"], figure["previous"]

    try:
        assert visitors() == (2, 2)  # b and c today; a and f yesterday until 12:30
        # Each period's statement reads the person hours; yesterday's, cut, reads its last events too.
        assert [("person_hours" in sql, "MAKE_TIMESTAMP" in sql.upper()) for sql in ran] == [
            (True, False),
            (True, True),
        ]
        with monkeypatch.context() as patched:
            patched.setattr(hours_module.HourRange, "of", classmethod(lambda cls, *a, **k: None))
            assert visitors() == (2, 2)
    finally:
        store.close()
