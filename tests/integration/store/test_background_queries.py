"""Background queries (alert evaluations) on a real DuckDB store yield to interactive ones: a dashboard's
query that finds the store busy with background work interrupts it and runs at once; the background query
runs again from the start afterwards and still answers, within its own time limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from belvedere.store.base import CompiledQuery, QueryTimedOut
from belvedere.store.duckdb import DuckDBEventStore

SLOW = "SELECT count(*) FROM range(0, 1000000000) t(i) WHERE i % 7 = 3"  # a few seconds of work


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBEventStore]:
    made = DuckDBEventStore(tmp_path / "events.duckdb", memory_limit="256MB", threads=2)
    made.open()
    yield made
    made.close()


def _slow_seconds(store: DuckDBEventStore) -> float:
    began = time.monotonic()
    store.fetch(CompiledQuery("SELECT count(*) FROM range(0, 100000000) t(i) WHERE i % 7 = 3", {}, "duckdb"))
    return (time.monotonic() - began) * 10  # SLOW is ten times that


def test_an_interactive_query_interrupts_background_work_and_both_answer(store: DuckDBEventStore) -> None:
    expected = _slow_seconds(store)
    assert expected > 0.5, "the background query must outlast the interactive one by far"
    answers: list[object] = []

    def background() -> None:
        answers.append(store.fetch(CompiledQuery(SLOW, {}, "duckdb", timeout_seconds=120, background=True)))

    worker = threading.Thread(target=background)
    worker.start()
    time.sleep(0.3)  # the background query holds the only turn
    began = time.monotonic()
    quick = store.fetch(CompiledQuery("SELECT 41 + 1", {}, "duckdb"))
    waited = time.monotonic() - began
    assert quick == [(42,)]
    assert waited < expected / 3, f"the interactive query waited {waited:.2f} s behind background work"
    worker.join(120)
    assert answers == [[(142857143,)]]  # run again from the start, and right


def test_background_work_keeps_its_time_limit_across_tries(store: DuckDBEventStore) -> None:
    with pytest.raises(QueryTimedOut):
        store.fetch(CompiledQuery(SLOW, {}, "duckdb", timeout_seconds=0.3, background=True))
