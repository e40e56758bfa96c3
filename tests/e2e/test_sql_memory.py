"""User SQL cannot take the server's memory (issue #25, finding 3), on a real server process.

The review's bombs (`len(range(300000000))` took the server to 14.9 GB; `length(repeat(...))` to 3.4 GB)
and a few more that pass the allowlists — values that grow fourfold per nested subquery, a sort and a
distinct count over 300^3 rows, a cross product that never ends — each get a clear error while the server
stays under its bound and keeps answering another tenant. Statements run in the sandbox process, whose data
memory the kernel caps (``query.sql_memory_mb``), so the server never holds them."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import httpx
import pytest
from tests.e2e.server_kit import Server
from tests.e2e.test_query_fairness import _count, _project, _send, _stats_ms
from tests.waiting import eventually

pytestmark = pytest.mark.slow

SQL_MEMORY_MB = 256
# The server's own peak, whatever the statements do: its DuckDB buffers (256 MB here), the interpreter
# and libraries (~200 MB), and the answers it builds; a statement's memory is never among them.
SERVER_PEAK_MB = 700


def _growing(levels: int) -> str:
    inner = "SELECT event AS s FROM events"
    for level in range(levels):
        inner = f"SELECT s || s || s || s AS s FROM ({inner}) AS t{level}"
    return f"SELECT max(length(s)) FROM ({inner}) AS z"


BOMBS: dict[str, tuple[str, str]] = {
    # From the review: refused by the allowlists before anything runs.
    "range": ("SELECT len(range(300000000))", "not allowed"),
    "repeat": ("SELECT length(repeat('x', 1500000000))", "not allowed"),
    # Allowed functions, huge values: stopped by the sandbox's memory cap.
    "growing strings": (_growing(12), "memory"),
    "sorted cross product": (
        "SELECT max(n) FROM (SELECT row_number() OVER (ORDER BY md5(a.event || b.event || c.event)) AS n"
        " FROM events a, events b, events c) AS w",
        "memory",
    ),
    "distinct cross product": (
        "SELECT count(DISTINCT a.uuid::VARCHAR || b.uuid::VARCHAR || c.uuid::VARCHAR)"
        " FROM events a, events b, events c",
        "memory",
    ),
    # Constant memory, no end: stopped by its time limit.
    "endless": (
        "SELECT count(*) FROM events a, events b, events c, events d"
        " WHERE md5(a.event || b.event || c.event || d.event) = 'x'",
        "ran longer",
    ),
}


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0  # a process that has exited, not yet reaped


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_memory_bombs_get_a_clear_error_and_the_server_keeps_its_memory_and_its_other_tenants(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    a, b = _project(data, "Bomber"), _project(data, "Neighbour")
    server = Server(
        data,
        BELVEDERE_QUERY__SQL_MEMORY_MB=str(SQL_MEMORY_MB),
        BELVEDERE_STORE__MEMORY_LIMIT="256MB",
    ).start()
    try:
        _send(server, a["write_key"], 300)
        _send(server, b["write_key"], 1000)
        answers: dict[str, httpx.Response] = {}
        neighbour: list[float] = []
        with httpx.Client(base_url=server.url, timeout=60) as client:
            assert eventually(
                lambda: _count(client, a) >= 300 and _count(client, b) >= 1000, timeout=20, interval=0.1
            )
            done = threading.Event()

            def bomb() -> None:
                with httpx.Client(base_url=server.url, timeout=60) as bomber:
                    for name, (sql, _) in BOMBS.items():
                        answers[name] = bomber.post(
                            f"/api/v1/projects/{a['project_id']}/query",
                            json={"kind": "sql", "query": sql, "timeout_seconds": 5},
                            headers={"Authorization": f"Bearer {a['api_key']}"},
                        )
                done.set()

            bomber = threading.Thread(target=bomb)
            bomber.start()
            workers_peak = 0.0
            while not done.is_set():
                neighbour.append(_stats_ms(client, b))
                for child in _children(server.process.pid):
                    with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # killed meanwhile
                        workers_peak = max(workers_peak, _peak_mb(child))
            bomber.join()
            server_peak = _peak_mb(server.process.pid)
            after = client.post(
                f"/api/v1/projects/{a['project_id']}/query",
                json={"kind": "sql", "query": "SELECT count(*) FROM events"},
                headers={"Authorization": f"Bearer {a['api_key']}"},
            )
    finally:
        server.stop()
    print(
        f"server peak {server_peak:.0f} MB, sandbox worker peak {workers_peak:.0f} MB, neighbour "
        f"{len(neighbour)} answers, slowest {max(neighbour):.0f} ms"
    )
    for name, (_, expected) in BOMBS.items():
        answer = answers[name]
        assert answer.status_code == 422, (name, answer.text)
        assert expected in answer.text, (name, answer.text)
    assert server_peak < SERVER_PEAK_MB
    assert 0 < workers_peak < SQL_MEMORY_MB + 300  # the cap sits above what the worker needs idle
    assert after.status_code == 200 and after.json()["rows"] == [[300]]  # the sandbox serves on
    assert len(neighbour) >= 5 and max(neighbour) < 2000  # the other tenant was answered throughout
