"""Where the overview's and the builder's time goes in the engine: the SQL statements that the pages of
``bench/dashboard.py`` run, recorded once and replayed one after the other, each timed alone.

    .venv/bin/python bench/dashboard_sql.py --store bench/results/dashboard-data/events.duckdb
    .venv/bin/python bench/dashboard_sql.py --store … --rounds 5 --show-sql

The questions are the pages' own (``project_pages``' overview and panels, ``trends_pages``' builder), asked
through a ``QueryService`` on the store (the server must not be running on it: DuckDB allows one process).
Each statement is recorded with its bound values as it runs, then replayed ``--rounds`` times; the table
gives each statement's median and the sum per page. The store's own settings (threads 2, memory 1 GB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.query_data import END


@dataclass
class Recorded:
    page: str
    kind: str
    sql: str
    params: dict[str, Any]
    first_ms: float = 0.0  # as recorded: the first run in this process (DuckDB's buffers cold)


def questions(days: int) -> list[tuple[str, dict[str, Any]]]:
    """(what, query body) of the overview for the history's last ``days`` days: figures, chart, panels."""
    from belvedere.web.pages.project_pages import PANELS, View, _overview_questions, panel_query

    last = END.date()
    view = View(period="custom", start=(last - timedelta(days=days - 1)).isoformat(), end=last.isoformat())
    stats, chart = _overview_questions(view)
    found = [("stats", stats), ("chart", chart)]
    for tabs in PANELS.values():
        found.append((f"panel {tabs[0][0]}", panel_query(view, tabs[0][0], "")))
    return found


def builder(days: int) -> list[tuple[str, dict[str, Any]]]:
    from starlette.datastructures import QueryParams

    from belvedere.web.pages import conditions
    from belvedere.web.pages.trends_pages import BuilderForm, builder_query

    last = END.date()
    first = last - timedelta(days=days - 1)
    text = (
        "event=%24pageview&math=unique_users&prop=&sf=&so=eq&sv=&breakdown=browser&display=line"
        f"&period=custom&from={first.isoformat()}&to={last.isoformat()}"
    )
    params = QueryParams(text)
    return [("builder", builder_query(BuilderForm.of(params), conditions.parse(params)))]


def record(store: Any, pages: dict[str, list[tuple[str, dict[str, Any]]]]) -> list[Recorded]:
    from belvedere.query import QueryService, parse_query

    found: list[Recorded] = []
    fetch = store.fetch_table

    for page, asked in pages.items():
        service = QueryService(store)  # a new cache per page, as a new server would have
        for what, body in asked:

            def recording(query: Any, what: str = what, page: str = page) -> Any:
                started = time.perf_counter()
                rows = fetch(query)
                ms = (time.perf_counter() - started) * 1000
                found.append(Recorded(page, what, query.sql, dict(query.params), ms))
                return rows

            store.fetch_table = recording
            try:
                service.run(parse_query(body), project_id=1, timezone="Europe/Paris")
            finally:
                store.fetch_table = fetch
    return found


Timings = list[list[float]]


def replay(store: Any, statements: list[Recorded], rounds: int) -> tuple[Timings, Timings]:
    """Each statement's wall time and CPU time (this process's, every thread: DuckDB's work), ms."""
    cursor = store._cursor()
    times: list[list[float]] = [[] for _ in statements]
    cpu: list[list[float]] = [[] for _ in statements]
    for _ in range(rounds):
        for i, s in enumerate(statements):
            started, used = time.perf_counter(), time.process_time()
            cursor.execute(s.sql, s.params).fetchall()
            times[i].append((time.perf_counter() - started) * 1000)
            cpu[i].append((time.process_time() - used) * 1000)
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, required=True, help="an events.duckdb (not in use)")
    parser.add_argument("--rounds", type=int, default=3, help="replays of each statement")
    parser.add_argument("--pages", default="7,30,builder", help="which pages: 7, 30, builder")
    parser.add_argument("--show-sql", action="store_true", help="print each statement's text")
    args = parser.parse_args()

    from belvedere.store.duckdb import DuckDBEventStore

    wanted = args.pages.split(",")
    pages: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name in wanted:
        pages[name] = builder(90) if name == "builder" else questions(int(name))
    store = DuckDBEventStore(args.store)
    store.open()
    try:
        statements = record(store, pages)
        times, cpu = replay(store, statements, args.rounds)
    finally:
        store.close()
    print(
        f"load average {os.getloadavg()[0]:.2f}; first run in this process, then the median of"
        f" {args.rounds} replays (min to max), and the replays' median CPU time, ms"
    )
    totals: dict[str, list[float]] = {}
    for s, t, c in zip(statements, times, cpu, strict=True):
        median = statistics.median(t)
        page = totals.setdefault(s.page, [0.0, 0.0, 0.0])
        page[0] += s.first_ms
        page[1] += median
        page[2] += statistics.median(c)
        print(
            f"{s.page:>8} {s.kind:<18} {s.first_ms:8.1f} {median:8.1f} ({min(t):.1f} to {max(t):.1f})"
            f" cpu {statistics.median(c):8.1f}"
        )
        if args.show_sql:
            print(f"    {s.sql}\n    {s.params}")
    for name, (first, wall, used) in totals.items():
        print(f"{name:>8} {'sum':<18} {first:8.1f} {wall:8.1f} cpu {used:8.1f}")


if __name__ == "__main__":
    main()
