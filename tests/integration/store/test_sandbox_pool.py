"""The sandbox's worker pool: a worker that died while idle (after a statement that reached its memory
cap, say) is not the next statement's fault — the statement runs on a new worker instead of being told it
needed too much memory (seen in the suite: the 'endless' statement of tests/e2e/test_sql_memory.py
answered 'memory' under load, reaching a worker that was exiting)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from belvedere.store.sandbox.pool import SandboxFailed, SqlSandbox


def _request() -> dict[str, Any]:
    return {"sql": "SELECT 41 + 1 AS n", "params": [], "tables": [], "max_answer_bytes": 1 << 20}


def test_a_worker_that_died_idle_is_replaced(tmp_path: Path) -> None:
    sandbox = SqlSandbox(tmp_path, memory_bytes=256 << 20, priority="normal")
    try:
        first = sandbox.run(_request(), time.monotonic() + 30)
        assert first["ok"]
        (idle,) = sandbox._idle
        idle.process.kill()
        idle.process.wait()
        idle.process.poll = lambda: None  # type: ignore[method-assign]  # it died after the pool looked
        answer = sandbox.run(_request(), time.monotonic() + 30)
        assert answer["ok"] and answer["rows"] == first["rows"] == [[42]]
    finally:
        sandbox.close()


def test_a_new_worker_that_dies_is_the_statement_s_doing(tmp_path: Path) -> None:
    sandbox = SqlSandbox(tmp_path, memory_bytes=256 << 20, priority="normal")
    try:
        with pytest.raises(SandboxFailed) as failed:
            # Without its tables the worker's engine fails outside what it answers for, and the worker dies.
            sandbox.run({"sql": "SELECT 1"}, time.monotonic() + 30)
        assert failed.value.reason == "memory"
    finally:
        sandbox.close()


def test_a_worker_that_reached_its_memory_cap_is_retired(tmp_path: Path) -> None:
    sandbox = SqlSandbox(tmp_path, memory_bytes=64 << 20, priority="normal")
    try:
        bomb = {
            **_request(),
            "sql": "SELECT count(DISTINCT repeat('x', 200) || i::VARCHAR) FROM range(5000000) t(i)",
        }
        with pytest.raises(SandboxFailed) as failed:
            sandbox.run(bomb, time.monotonic() + 60)
        assert failed.value.reason == "memory"
        assert sandbox._idle == []  # not kept for the next statement
        assert sandbox.run(_request(), time.monotonic() + 30)["rows"] == [[42]]
    finally:
        sandbox.close()
