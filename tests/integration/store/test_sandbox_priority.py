"""The user SQL sandbox process takes the CPU priority it is given (``query.sql_cpu_priority``): by
default the idle class, below every other process; niced to 19; or the server's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from belvedere.query import QueryService, parse_query
from belvedere.store.duckdb import DuckDBEventStore
from belvedere.store.sandbox.pool import CpuPriority

EXPECTED = {"idle": (os.SCHED_IDLE, 19), "low": (os.SCHED_OTHER, 19), "normal": (os.SCHED_OTHER, 0)}


@pytest.mark.parametrize("priority", ["idle", "low", "normal"])
def test_the_sandbox_runs_at_its_priority(tmp_path: Path, priority: CpuPriority) -> None:
    store = DuckDBEventStore(
        tmp_path / "events.duckdb", memory_limit="256MB", threads=1, sql_cpu_priority=priority
    )
    store.open()
    try:
        answer = QueryService(store).run(
            parse_query({"kind": "sql", "query": "SELECT 41 + 1 AS n"}), project_id=1, timezone="UTC"
        )
        assert answer.as_dict()["rows"] == [[42]]
        (worker,) = store._sandbox._idle
        pid = worker.process.pid
        base = os.getpriority(os.PRIO_PROCESS, os.getpid())
        assert (os.sched_getscheduler(pid), os.getpriority(os.PRIO_PROCESS, pid)) == (
            EXPECTED[priority][0],
            max(base, EXPECTED[priority][1]),
        )
    finally:
        store.close()
