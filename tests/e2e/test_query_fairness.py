"""One tenant's slow SQL never stalls another's dashboards (issue #25, finding 5), on a real server process:
SQL waits in a lane of its own, each organisation may have only a few queries in flight, and a waiting
request holds no thread (health keeps answering)."""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx
import orjson
import pytest
from tests.e2e.server_kit import Server, cli
from tests.waiting import eventually

pytestmark = pytest.mark.slow

# Hours of constant-memory work on a few hundred events (300^4 rows, none kept): stopped by its time limit.
SLOW_SQL = (
    "SELECT count(*) FROM events a, events b, events c, events d"
    " WHERE md5(a.event || b.event || c.event || d.event) = 'x'"
)


def _project(data: Path, org: str) -> dict[str, object]:
    made = cli(data, "project", "create", "--name", f"Site {org}", "--org", org, "--json")
    assert made.returncode == 0, made.stderr
    answer: dict[str, object] = orjson.loads(made.stdout)
    return answer


def _send(server: Server, write_key: object, count: int) -> None:
    for start in range(0, count, 1000):
        batch = [
            {
                "type": "page",
                "distinct_id": f"p{i % 40}",
                "context": {"page": {"url": f"https://shop.example/p/{i % 9}"}},
            }
            for i in range(start, min(start + 1000, count))
        ]
        r = httpx.post(
            f"{server.url}/api/v1/capture",
            json={"batch": batch},
            headers={"Authorization": f"Bearer {write_key}"},
        )
        assert r.status_code in (200, 202), r.text


def _stats_ms(client: httpx.Client, project: dict[str, object]) -> float:
    # A filter value never asked before: each answer is computed, not taken from the cache.
    body = {
        "kind": "breakdown",
        "date_from": "-2d",
        "dimension": "path",
        "filters": [{"property": "browser", "operator": "neq", "value": uuid.uuid4().hex}],
    }
    started = time.perf_counter()
    r = client.post(
        f"/api/v1/projects/{project['project_id']}/query",
        json=body,
        headers={"Authorization": f"Bearer {project['api_key']}"},
    )
    assert r.status_code == 200, r.text
    return (time.perf_counter() - started) * 1000


@pytest.mark.alone
def test_a_flood_of_slow_sql_leaves_other_tenants_dashboards_at_speed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    a, b = _project(data, "Flooder"), _project(data, "Neighbour")
    server = Server(data, BELVEDERE_QUERY__PER_TENANT="3").start()
    try:
        _send(server, a["write_key"], 300)
        _send(server, b["write_key"], 2000)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            assert eventually(
                lambda: _stats_ms(client, b) > 0 and _count(client, b) >= 2000, timeout=20, interval=0.1
            )
            idle = statistics.median(_stats_ms(client, b) for _ in range(25))

            # The flood comes from another process, as it would: in this one, its threads would hold the
            # interpreter lock that the neighbour's client needs to time its own requests.
            spawn = multiprocessing.get_context("spawn")
            stop, statuses = spawn.Event(), spawn.Queue()
            flooder = spawn.Process(target=_flood, args=(server.url, a, stop, statuses))
            flooder.start()
            try:
                # The flood is on: the flooder's organisation is at its bound (its next SQL is refused).
                assert eventually(lambda: _refused(client, a), timeout=30, interval=0.1)
                busy = [_stats_ms(client, b) for _ in range(25)]
                health = time.perf_counter()
                assert client.get("/health").status_code == 200
                health_ms = (time.perf_counter() - health) * 1000
            finally:
                stop.set()
                seen = statuses.get(timeout=60)
                flooder.join(10)
    finally:
        server.stop()
    during = statistics.median(busy)
    print(f"idle {idle:.1f} ms, during the flood {during:.1f} ms, health {health_ms:.1f} ms")
    print(f"flood answers: {dict(seen)}")
    assert seen[429] > 0  # the flooder was held to its bound rather than queued without end
    # Before the lanes, the neighbour queued behind every slow statement (4 s each, 131 s in the review).
    # Now the statements run in the sandbox process at the lowest CPU priority, and refusals are answered
    # at the door, before authentication: issue #25's target, 2x the idle latency. (The test command runs
    # this test on its own, after the others: `alone`.)
    assert during <= 2 * idle, (idle, during, busy)
    assert health_ms < 500


def _flood(
    url: str, project: dict[str, object], stop: Event, statuses: Queue[Counter[int]], pause: float = 0.05
) -> None:
    """Twelve clients sending slow SQL as fast as they are answered (one that is refused waits ``pause``
    seconds: by default 50 ms, ignoring Retry-After).

    An attacker's clients run on their own machines; here they share the server's two cores, so they run at
    the lowest CPU priority: what is measured is what the flood costs the server, not what it costs to send.
    """
    os.nice(19)
    seen: Counter[int] = Counter()

    def one() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                r = client.post(
                    f"/api/v1/projects/{project['project_id']}/query",
                    json={"kind": "sql", "query": SLOW_SQL, "timeout_seconds": 4},
                    headers={"Authorization": f"Bearer {project['api_key']}"},
                )
                seen[r.status_code] += 1
                if r.status_code == 429:
                    time.sleep(pause)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses.put(seen)


def _refused(client: httpx.Client, project: dict[str, object]) -> bool:
    """Whether the project's organisation has no room left in the SQL lane: a trivial statement gets 429."""
    r = client.post(
        f"/api/v1/projects/{project['project_id']}/query",
        json={"kind": "sql", "query": "SELECT 1", "timeout_seconds": 1},
        headers={"Authorization": f"Bearer {project['api_key']}"},
    )
    return r.status_code == 429


def _count(client: httpx.Client, project: dict[str, object]) -> int:
    r = client.post(
        f"/api/v1/projects/{project['project_id']}/query",
        json={"kind": "sql", "query": f"SELECT count(*) AS n, '{uuid.uuid4().hex}' AS k FROM events"},
        headers={"Authorization": f"Bearer {project['api_key']}"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["rows"][0][0])
