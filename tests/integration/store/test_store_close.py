"""Closing the DuckDB store while other threads start queries (a server shutting down with a page's queries
still arriving): the close always succeeds, and a query that comes too late is refused with a clear error.
Before the fix, DuckDB refused the close 58 times in 100 ("connection is busy with another call") — a
teardown failure CI met once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb

from belvedere.store.base import CompiledQuery
from belvedere.store.duckdb import DuckDBEventStore


def _ask(
    store: DuckDBEventStore, go: threading.Event, unexpected: list[BaseException], *, timed: bool
) -> None:
    go.wait()
    try:
        if timed:  # a query with a time limit: a connection of its own for the one query
            store.fetch(CompiledQuery(sql="SELECT 1", params={}, dialect="duckdb", timeout_seconds=5))
        else:  # the thread's own connection
            store.ping()
    except RuntimeError as exc:  # the store was closed first: said plainly
        if "not open" not in str(exc):
            unexpected.append(exc)
    except (duckdb.ConnectionException, duckdb.InvalidInputException):  # begun just before the close
        pass
    except BaseException as exc:
        unexpected.append(exc)


def test_closing_while_queries_start_always_closes(tmp_path: Path) -> None:
    for _ in range(15):
        store = DuckDBEventStore(tmp_path / "events.duckdb")
        store.open()
        go = threading.Event()
        unexpected: list[BaseException] = []
        threads = [
            threading.Thread(target=_ask, args=(store, go, unexpected), kwargs={"timed": n % 2 == 0})
            for n in range(8)
        ]
        for thread in threads:
            thread.start()
        go.set()
        store.close()  # never "busy with another call"
        for thread in threads:
            thread.join()
        assert not unexpected


def test_closing_while_a_query_runs_waits_for_it(tmp_path: Path) -> None:
    """A query that began before the close (on another thread) keeps the database busy: the close waits
    for it to end, and the query's answer is whole."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    store.open()
    answers: list[object] = []
    running = threading.Event()

    def long_query() -> None:
        running.set()
        sql = "SELECT count(*) FROM range(200000000) t(i) WHERE i % 7 = 3"
        answers.append(store.fetch(CompiledQuery(sql=sql, params={}, dialect="duckdb")))

    thread = threading.Thread(target=long_query)
    thread.start()
    running.wait()
    time.sleep(0.1)  # the query is under way
    store.close()
    thread.join()
    assert answers == [[(28571429,)]]  # every i below 200,000,000 with i % 7 == 3
