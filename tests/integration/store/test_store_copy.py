"""Issue #29: an embedded DuckDB store copied into ClickHouse (``store.copy``, `belvedere migrate-store`)
answers every query kind as the DuckDB store did, and a copy stopped halfway — between days or in the
middle of one — starts again without losing or doubling an event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import property_settings
from tests.integration.store.test_clickhouse_store import _answer, kind_scenarios, ndjson

from belvedere.query import QueryService
from belvedere.store import copy
from belvedere.store.clickhouse import ClickHouseEventStore
from belvedere.store.duckdb import DuckDBEventStore

pytest.importorskip("clickhouse_connect")


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[DuckDBEventStore, ClickHouseEventStore, copy.Progress]]:
    duck = DuckDBEventStore(tmp_path / "events.duckdb", memory_limit="256MB", threads=1)
    house = ClickHouseEventStore(tmp_path / "events.clickhouse")
    duck.open()
    house.open()
    try:
        yield duck, house, copy.Progress(tmp_path / "progress.json")
    finally:
        duck.close()
        house.close()


@property_settings(25)
@given(scenario=kind_scenarios())
def test_a_copied_store_answers_every_kind_as_the_original(
    stores: tuple[DuckDBEventStore, ClickHouseEventStore, copy.Progress],
    scenario: tuple[str, dict[str, Any], list[ref.Ev]],
) -> None:
    duck, house, progress = stores
    zone, spec, events = scenario
    project_id = ref.fresh_project()
    if events:
        duck.write_batch(
            ndjson(*[e.row(project_id) for e in events]), checkpoint=(3, project_id), dedupe=False
        )
    source = copy.Source(duck._cursor())
    copy.copy_days(source, house, progress, batch_rows=7)  # several batches a day, identities across them
    assert copy.compare(source, house) == []
    if events:
        assert house.checkpoint() == (3, project_id)  # the spool goes on from where DuckDB stopped
    assert _answer(QueryService(house), spec, project_id, zone) == _answer(
        QueryService(duck), spec, project_id, zone
    )


def _day_of_events(project_id: int, day: date, n: int) -> bytes:
    start = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    events = [
        ref.Ev("$pageview", start + timedelta(minutes=i), f"p{i % 4}", f"s{i % 6}", {"path": f"/{i % 3}"})
        for i in range(n)
    ]
    return ndjson(*[e.row(project_id) for e in events])


class Stop(Exception):
    pass


def test_a_copy_stopped_between_or_inside_days_resumes_without_loss_or_repeats(
    stores: tuple[DuckDBEventStore, ClickHouseEventStore, copy.Progress], tmp_path: Path
) -> None:
    duck, house, progress = stores
    days = [date(2025, 3, 10) + timedelta(days=d) for d in range(4)]
    for project_id in (1, 2):
        for day in days:
            duck.write_batch(_day_of_events(project_id, day, 30), checkpoint=(0, 1), dedupe=False)
    source = copy.Source(duck._cursor())
    total = 2 * 4 * 30

    def stop_after(copied: int) -> Any:
        seen: list[copy.Day] = []

        def on_day(day: copy.Day) -> None:
            seen.append(day)
            if len(seen) == copied:
                raise Stop

        return on_day

    with pytest.raises(Stop):  # stopped between days: two whole days copied
        copy.copy_days(source, house, progress, batch_rows=8, on_day=stop_after(2))
    assert len(progress.done) == 2

    writes = 0
    real_write = house.write_batch

    def failing_write(rows: bytes, **kwargs: Any) -> int:  # stopped inside a day, after its first batches
        nonlocal writes
        writes += 1
        if writes == 3:
            raise Stop
        return real_write(rows, **kwargs)

    house.write_batch = failing_write  # type: ignore[method-assign]
    with pytest.raises(Stop):
        copy.copy_days(copy.Source(duck._cursor()), house, copy.Progress(progress.path), batch_rows=8)
    house.write_batch = real_write  # type: ignore[method-assign]
    partial = sum(house.count_events(project_id=p) for p in (1, 2))
    assert 2 * 30 < partial < 3 * 30  # two days, and part of the third
    assert copy.compare(source, house) != []

    resumed = copy.Progress(progress.path)  # as a new run reads it
    written = copy.copy_days(source, house, resumed, batch_rows=8)
    assert written == total - partial
    assert copy.compare(source, house) == []
    assert sum(house.count_events(project_id=p) for p in (1, 2)) == total
    assert len(resumed.done) == 8
    assert copy.copy_days(source, house, resumed) == 0  # a run after the end copies nothing


def test_a_copy_stopped_inside_its_very_first_day_resumes_without_repeats(
    stores: tuple[DuckDBEventStore, ClickHouseEventStore, copy.Progress],
) -> None:
    duck, house, progress = stores
    duck.write_batch(_day_of_events(1, date(2025, 3, 10), 30), checkpoint=(0, 1), dedupe=False)
    source = copy.Source(duck._cursor())
    real_write = house.write_batch
    calls = 0

    def failing_write(rows: bytes, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Stop
        return real_write(rows, **kwargs)

    house.write_batch = failing_write  # type: ignore[method-assign]
    with pytest.raises(Stop):
        copy.copy_days(source, house, progress, batch_rows=8)
    house.write_batch = real_write  # type: ignore[method-assign]
    assert progress.done == set() and house.count_events(project_id=1) == 8  # nothing recorded, one batch in
    copy.copy_days(source, house, copy.Progress(progress.path), batch_rows=8)
    assert house.count_events(project_id=1) == 30
    assert copy.compare(source, house) == []
