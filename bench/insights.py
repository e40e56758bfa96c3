"""Latency of the insight kinds that answer "why" and "with what": ``root_cause`` and ``correlations``, on
bench/query.py's store (10 M events in project 1, history ending 1 November 2026; build it with
``bench/query.py`` first). A benchmark, not a test.

    .venv/bin/python bench/insights.py
    .venv/bin/python bench/insights.py --runs 5 --store bench/results/query-store/events.duckdb

Each question runs ``--runs`` times, each through a new QueryService (nothing cached; the statements'
compiled text is kept by the process after the first run, as in the server): the first run and the median
of the others are reported, in ms. Results: the console and ``bench/results/insights-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from belvedere.query import QueryService, parse_query
from belvedere.store.duckdb import DuckDBEventStore

RESULTS = Path(__file__).resolve().parent / "results"
END = "2026-11-01"

VISITORS = {"event": "$pageview", "math": "unique_users"}
ROOT_CAUSE = {"kind": "root_cause", "series": {"event": "$pageview"}, "date_to": END}
CORRELATIONS = {"kind": "correlations", "target": VISITORS, "date_to": END}


def _listed(count: int) -> list[dict[str, Any]]:
    """``count`` candidate series: page views and visitors from each channel, country, device and browser."""
    values = {
        "channel": ["Direct", "Organic Search", "Referral", "Organic Social", "Email", "Paid Search"],
        "country": ["FR", "US", "DE", "GB", "IN", "ES", "IT", "CA", "BR", "NL"],
        "device_type": ["desktop", "mobile", "tablet"],
        "browser": ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera"],
    }
    found = []
    for math in ("total", "unique_users"):
        for field, names in values.items():
            for name in names:
                found.append(
                    {
                        "event": "$pageview",
                        "math": math,
                        "filters": [{"property": field, "operator": "eq", "value": name}],
                    }
                )
    return found[:count]


QUESTIONS: dict[str, dict[str, Any]] = {
    # The history ends at noon on 1 November: the last whole day is the 31st of October.
    "root_cause, a day against the same weekday, 10 dimensions": {
        **ROOT_CAUSE,
        "date_from": "2026-10-31",
        "date_to": "2026-10-31",
        "baseline": "previous_week",
    },
    "root_cause, 7 days against the 7 before, 10 dimensions": {**ROOT_CAUSE, "date_from": "2026-10-26"},
    "root_cause, 30 days against the 30 before, 10 dimensions": {**ROOT_CAUSE, "date_from": "2026-10-03"},
    "root_cause, 30 days, visitors": {
        **ROOT_CAUSE,
        "series": VISITORS,
        "date_from": "2026-10-03",
    },
    "root_cause, 30 days, visits": {
        **ROOT_CAUSE,
        "series": {"event": "$pageview", "math": "unique_sessions"},
        "date_from": "2026-10-03",
    },
    "correlations, 30 days, auto, lags to 7": {**CORRELATIONS, "date_from": "2026-10-03", "max_lag": 7},
    "correlations, 90 days, auto, lags to 7": {**CORRELATIONS, "date_from": "2026-08-04", "max_lag": 7},
    "correlations, 30 days, 50 listed, lags to 7": {
        **CORRELATIONS,
        "date_from": "2026-10-03",
        "max_lag": 7,
        "candidates": _listed(50),
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=RESULTS / "query-store" / "events.duckdb")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    console = Console(highlight=False)
    store = DuckDBEventStore(args.store)
    store.open()
    lines = [
        f"# Insight latency, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{args.store}; {platform.machine()}, {args.runs} runs, each with a new cache.",
        "",
        "| question | answer | first ms | median ms of the others |",
        "|---|---|---|---|",
    ]
    try:
        for name, body in QUESTIONS.items():
            times, summary = [], ""
            for _ in range(args.runs):
                started = time.perf_counter()
                answer = QueryService(store).run(parse_query(body), project_id=1, timezone="Europe/Paris")
                times.append((time.perf_counter() - started) * 1000)
                summary = _summary(answer.as_dict())
            rest = statistics.median(times[1:]) if len(times) > 1 else times[0]
            line = f"| {name} | {summary} | {times[0]:,.0f} | {rest:,.0f} |"
            console.print(line)
            lines.append(line)
    finally:
        store.close()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"insights-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.write_text("\n".join(lines) + "\n")
    console.print(f"Written to {out}")


def _summary(answer: dict[str, Any]) -> str:
    if answer["kind"] == "root_cause":
        top = ", ".join(f"{t['dimension']} {t['value']} {t['change']:+,}" for t in answer["top"][:2])
        return f"{answer['before']:,} → {answer['after']:,}; {top or 'no significant value'}"
    results = answer["results"]
    significant = sum(r["significant"] for r in results)
    return f"{len(results)} candidates, {significant} significant"


if __name__ == "__main__":
    main()
