"""Issue #25's fairness target, measured: while one tenant floods slow user SQL, another tenant's dashboard
queries answer within 2x their idle latency.

    .venv/bin/python bench/fairness.py                  # 100,000 events for the neighbour, 5 rounds
    .venv/bin/python bench/fairness.py --events 300000 --rounds 7

A real ``belvedere serve`` process on a fresh data directory; two organisations, each with a project. The
neighbour's events arrive through the capture API; its "dashboard query" is a page breakdown over the
last two days, with a filter value never asked before so that no answer comes from the cache. Each round
times 25 of them idle, then 25 while a separate, lowest-priority process runs twelve clients sending
slow SQL as the flooder (tests/e2e/test_query_fairness.py's flood: each statement would run for hours,
and is stopped by its 4 s limit; refused requests retry after 50 ms, ignoring Retry-After). The ratio of
the medians is the figure; results go to ``bench/results/fairness-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.server_kit import Server
from tests.e2e.test_query_fairness import _count, _flood, _project, _send, _stats_ms

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLES = 25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events of the neighbour's project")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pause", type=float, default=0.05, help="seconds a refused flooder waits (Retry-After says 2)"
    )
    args = parser.parse_args()
    console = Console()
    rows: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        flooder, neighbour = _project(data, "Flooder"), _project(data, "Neighbour")
        server = Server(data, BELVEDERE_QUERY__PER_TENANT="3").start()
        try:
            _send(server, flooder["write_key"], 300)
            with console.status(f"sending {args.events:,} events"):
                _send(server, neighbour["write_key"], args.events)
            with httpx.Client(base_url=server.url, timeout=60) as client:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and _count(client, neighbour) < args.events:
                    time.sleep(0.5)
                for round_ in range(1, args.rounds + 1):
                    idle = statistics.median(_stats_ms(client, neighbour) for _ in range(SAMPLES))
                    spawn = multiprocessing.get_context("spawn")
                    stop, statuses = spawn.Event(), spawn.Queue()
                    process = spawn.Process(
                        target=_flood, args=(server.url, flooder, stop, statuses, args.pause)
                    )
                    process.start()
                    time.sleep(2.5)
                    during = statistics.median(_stats_ms(client, neighbour) for _ in range(SAMPLES))
                    stop.set()
                    statuses.get(timeout=60)
                    process.join(10)
                    rows.append((idle, during))
                    console.print(
                        f"round {round_}: idle {idle:.1f} ms, flood {during:.1f} ms, {during / idle:.2f}x"
                    )
        finally:
            server.stop()
    ratios = [during / idle for idle, during in rows]
    lines = [
        f"# Fairness under a SQL flood — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"neighbour's project: {args.events:,} events; {SAMPLES} breakdowns per median; a refused flooder "
        f"retries after {args.pause:g} s.",
        "",
        "| round | idle median ms | during flood median ms | ratio |",
        "|---|---|---|---|",
        *(
            f"| {i} | {idle:.1f} | {during:.1f} | {during / idle:.2f} |"
            for i, (idle, during) in enumerate(rows, 1)
        ),
        "",
        f"Median ratio {statistics.median(ratios):.2f}, worst {max(ratios):.2f} (target: 2.00).",
    ]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"fairness-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.write_text("\n".join(lines) + "\n")
    console.print("\n".join(lines[-1:]), f"\nwritten to {out}")


if __name__ == "__main__":
    main()
