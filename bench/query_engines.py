"""The query benchmark's questions on both event stores side by side: DuckDB (the embedded store) and
ClickHouse through chDB (the same engine as a ClickHouse server, in-process), over the same 10 M events.

    .venv/bin/python bench/query_engines.py                 # copy the store into chDB once, then measure
    .venv/bin/python bench/query_engines.py --runs 5

The data is bench/query.py's store (built if missing). It is copied once into a chDB store under
``bench/results/query-clickhouse/`` with the code of ``belvedere migrate-store --to clickhouse`` (resumable;
the copy's time is reported the first time) and verified day by day. Each of bench/query.py's questions is
then asked through a ``QueryService`` with no answer cache on each store, ``--runs`` times, alternating the
stores run after run; the table gives the median on each, and whether the two answers are equal (the same
numbers: the test suite asks this of every query kind on small data; here it is 10 M events).

Both stores get 2 threads. What this does not measure: a ClickHouse *server* (its own process, its network
protocol, other hardware) — chDB runs the same engine inside this process. Results go to
``bench/results/query-engines-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress as Bar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from belvedere.query import QueryService, parse_query
from belvedere.query.cache import QueryCache
from belvedere.store import copy
from belvedere.store.clickhouse import ClickHouseEventStore
from belvedere.store.duckdb import DuckDBEventStore
from bench.dashboard import machine
from bench.query import NOW, QUESTIONS, TIMEZONE
from bench.query_data import MAIN_PROJECT, DataSpec, ensure_store

RESULTS = Path(__file__).resolve().parent / "results"


def copied(source_path: Path, folder: Path, console: Console) -> tuple[ClickHouseEventStore, float | None]:
    """The chDB copy of the store, made now if it is missing or incomplete (with how long that took)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = copy.Source.open(source_path)
    target = ClickHouseEventStore(folder / "events.chdb")
    target.open()
    progress = copy.Progress(folder / "copied.json")
    seconds: float | None = None
    try:
        days = source.days()
        left = [d for d in days if d.key not in progress.done]
        if left:
            started = time.perf_counter()
            with Bar(console=console) as bar:
                task = bar.add_task("copying into chDB", total=sum(d.events for d in left))
                copy.copy_days(source, target, progress, on_day=lambda d: bar.advance(task, d.events))
            seconds = time.perf_counter() - started
        mismatches = copy.compare(source, target)
    finally:
        source.close()
    if mismatches:
        raise SystemExit(
            f"{len(mismatches)} project-days differ between the stores; delete {folder} and retry"
        )
    return target, seconds


def ask(store: Any, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    service = QueryService(store, QueryCache(0))
    started = time.perf_counter()
    answer = service.run(parse_query(body), project_id=MAIN_PROJECT, timezone=TIMEZONE, now=NOW).as_dict()
    elapsed = (time.perf_counter() - started) * 1000
    answer.pop("meta", None)
    return elapsed, answer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=RESULTS / "query-store", help="bench/query.py's store")
    parser.add_argument("--clickhouse", type=Path, default=RESULTS / "query-clickhouse", help="the chDB copy")
    parser.add_argument("--runs", type=int, default=3, help="runs of each question on each store")
    args = parser.parse_args()
    console = Console(highlight=False)
    info = ensure_store(args.data, DataSpec(events=10_000_000, second_events=200_000), console)
    clickhouse, copy_seconds = copied(info.path, args.clickhouse, console)
    duck = DuckDBEventStore(info.path, memory_limit="2GB", threads=2)
    duck.open()
    stores = {"DuckDB": duck, "ClickHouse (chDB)": clickhouse}
    rows = []
    try:
        for question in QUESTIONS:
            times: dict[str, list[float]] = {name: [] for name in stores}
            answers: dict[str, dict[str, Any]] = {}
            order = list(stores)
            for _ in range(args.runs):
                for name in order:
                    ms, answers[name] = ask(stores[name], question.body)
                    times[name].append(ms)
                order.reverse()
            same = answers["DuckDB"] == answers["ClickHouse (chDB)"]
            medians = {name: statistics.median(t) for name, t in times.items()}
            rows.append((question.name, medians["DuckDB"], medians["ClickHouse (chDB)"], same))
            duck_ms, ch_ms = medians["DuckDB"], medians["ClickHouse (chDB)"]
            verdict = "same answer" if same else "[red]answers differ[/]"
            console.print(f"{question.name}: DuckDB {duck_ms:,.0f} ms, chDB {ch_ms:,.0f} ms, {verdict}")
    finally:
        duck.close()
        clickhouse.close()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"# Query questions on DuckDB and ClickHouse (chDB) — {when}",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        f"- Events: {sum(info.stored.values()):,} ({info.stored.get(MAIN_PROJECT, 0):,} in the one asked)",
        f"- chDB copy: {'made now in ' + format(copy_seconds, ',.0f') + ' s' if copy_seconds else 'reused'}",
        f"- Median of {args.runs} uncached runs per store, alternated; ms",
        "",
        "| Question | DuckDB | ClickHouse (chDB) | chDB / DuckDB | Same answer |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {d:,.0f} | {c:,.0f} | {c / d:.1f}x | {'yes' if same else '**no**'} |"
            for name, d, c, same in rows
        ),
    ]
    out = RESULTS / f"query-engines-{time.strftime('%Y%m%d-%H%M')}.md"
    out.write_text("\n".join(lines) + "\n")
    console.print("\n".join(lines[-len(rows) - 2 :]))
    console.print(f"Results written to {out}")


if __name__ == "__main__":
    main()
