"""How fast this machine is right now, as two fixed workloads timed at the start of a benchmark.

The shared VMs these benchmarks run on have differed by a factor of 1.6 to 2 from one day (even one hour)
to the next on the same code, so a figure alone cannot say whether a change helped or the machine did.
Each result file therefore carries this yardstick: compare two runs' figures only after their yardsticks.
Best of several rounds (the least disturbed one), in milliseconds; lower is faster.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb


def _python_work() -> int:
    """Dicts, strings and integer arithmetic: the kind of work the capture path does per event."""
    total = 0
    for i in range(300_000):
        row = {"n": i, "text": f"event-{i % 977}", "flag": i % 3 == 0}
        total += len(row["text"]) + (row["n"] * 31 if row["flag"] else 7)
    return total


def _duckdb_work(con: duckdb.DuckDBPyConnection) -> Callable[[], object]:
    """A hash aggregate and a sort over 10 million generated rows, on the benchmarks' two threads."""
    sql = (
        "SELECT count(*), sum(c) FROM (SELECT i % 1000003 AS k, count(*) AS c FROM range(10000000) t(i)"
        " GROUP BY k ORDER BY c DESC, k LIMIT 1000)"
    )
    return lambda: con.execute(sql).fetchall()


def _best_ms(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(min(times), 1)


def calibrate(rounds: int = 5) -> dict[str, float]:
    con = duckdb.connect(config={"threads": 2, "memory_limit": "1GB"})
    try:
        return {
            "python_ms": _best_ms(_python_work, rounds),
            "duckdb_ms": _best_ms(_duckdb_work(con), rounds),
        }
    finally:
        con.close()


if __name__ == "__main__":
    print(calibrate())
