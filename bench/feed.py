"""How long the insight feed takes for one project: every finder of ``insights.feed`` (anomalies of
visitors and page views, the week's movers over six dimensions, new referrers) for the last whole day of
bench/query.py's store (10 M events in project 1, history ending 1 November 2026; build it with
``bench/query.py --only stats --no-pg`` first). A benchmark, not a test; the target is 30 s per project.

    .venv/bin/python bench/feed.py --runs 3

Each run uses a new QueryService (nothing cached): the first run and the median of the others, in ms, and
the findings. Results: the console and ``bench/results/feed-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from belvedere.insights.feed.finders import FINDERS
from belvedere.query import QueryService, parse_query
from belvedere.query.runner import QueryResult
from belvedere.store.duckdb import DuckDBEventStore

RESULTS = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 11, 1, 12, 0)
LAST = date(2026, 10, 31)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=RESULTS / "query-store" / "events.duckdb")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    console = Console(highlight=False)
    store = DuckDBEventStore(args.store)
    store.open()
    lines = [
        f"# Insight feed, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{args.store}; {platform.machine()}, {args.runs} runs, each with a new cache; last day {LAST}.",
        "",
        "| finder | findings | first ms | median ms of the others |",
        "|---|---|---|---|",
    ]
    totals: list[float] = []
    try:
        per_finder: dict[str, list[float]] = {f.__name__: [] for f in FINDERS}
        found: dict[str, list[str]] = {}
        for _ in range(args.runs):
            service = QueryService(store)

            def ask(spec: dict[str, Any], service: QueryService = service) -> QueryResult:
                return service.run(parse_query(spec), project_id=1, timezone="Europe/Paris", now=NOW)

            run_total = 0.0
            for finder in FINDERS:
                started = time.perf_counter()
                result = finder(ask, 1, LAST)
                took = (time.perf_counter() - started) * 1000
                per_finder[finder.__name__].append(took)
                run_total += took
                found[finder.__name__] = [f.title for f in result]
            totals.append(run_total)
        for name, times in per_finder.items():
            rest = statistics.median(times[1:]) if len(times) > 1 else times[0]
            titles = "; ".join(found[name][:3]) or "none"
            line = f"| {name} | {len(found[name])}: {titles} | {times[0]:,.0f} | {rest:,.0f} |"
            console.print(line)
            lines.append(line)
        rest = statistics.median(totals[1:]) if len(totals) > 1 else totals[0]
        line = (
            f"| **the whole feed** | {sum(len(v) for v in found.values())} | {totals[0]:,.0f} | {rest:,.0f} |"
        )
        console.print(line)
        lines.append(line)
    finally:
        store.close()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"feed-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.write_text("\n".join(lines) + "\n")
    console.print(f"Written to {out}")


if __name__ == "__main__":
    main()
