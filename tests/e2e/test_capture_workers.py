"""`belvedere serve --capture-workers 2`: capture on two worker processes, the rest through the owner."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import orjson
import pytest
from tests.e2e.server_kit import Server, cli
from tests.waiting import eventually

from belvedere.ingest.relay import read_relayed

pytestmark = pytest.mark.slow

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _worker_pids(owner: int) -> list[int]:
    """The owner's worker processes (spawned by multiprocessing; not its resource tracker)."""
    pids = []
    for task in Path(f"/proc/{owner}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(int(pid))
            except FileNotFoundError:
                continue
    return pids


def _send(url: str, key: str, visitors: range, clients: int) -> int:
    """Page views of ``visitors`` over ``clients`` separate connections (spread over the workers)."""
    accepted = 0
    per_client = len(visitors) // clients
    for c in range(clients):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            for v in visitors[c * per_client : (c + 1) * per_client]:
                body = {
                    "type": "page",
                    "distinct_id": f"v{v}",
                    "properties": {"$current_url": f"https://shop.example/p/{v % 7}"},
                    "context": {"user_agent": UA, "ip": "81.2.69.160"},
                }
                response = client.post("/api/v1/capture", json=body)
                assert response.status_code == 202, response.text
                accepted += response.json()["accepted"]
    return accepted


def _metric(url: str, sample: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


def _stats(url: str, api_key: str, project_id: int) -> dict[str, int]:
    response = httpx.post(
        f"{url}/api/v1/projects/{project_id}/query",
        json={"kind": "stats", "date_from": "today"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200, response.text
    return {k: v["value"] for k, v in response.json()["results"].items() if k in ("visitors", "pageviews")}


def test_capture_workers_serve_capture_and_pass_the_rest_to_the_owner(tmp_path: Path) -> None:
    created = cli(tmp_path, "project", "create", "--name", "Shop", "--json")
    assert created.returncode == 0, created.stderr
    project = orjson.loads(created.stdout)
    server = Server(tmp_path, BELVEDERE_SERVER__CAPTURE_WORKERS="2", BELVEDERE_WRITER__FLUSH_INTERVAL_MS="50")
    server.start()
    try:
        assert server.process is not None
        workers = _worker_pids(server.process.pid)
        assert len(workers) == 2
        assert _send(server.url, project["write_key"], range(200), clients=10) == 200

        # Both workers took connections, and the owner relayed both spools.
        def relayed() -> bool:
            spools = [read_relayed(tmp_path / "spool" / "workers" / str(i)) for i in range(2)]
            return all(p is not None and p.offset > 0 for p in spools)

        def stored() -> bool:
            stats = _stats(server.url, project["api_key"], project["project_id"])
            return stats == {"visitors": 200, "pageviews": 200}

        assert eventually(lambda: relayed() and stored(), timeout=10, interval=0.1)
        # The query API, the pages and the errors answer through a worker as they would directly.
        assert _stats(server.url, project["api_key"], project["project_id"]) == {
            "visitors": 200,
            "pageviews": 200,
        }
        # The owner's /metrics adds up the workers' counters (they publish every second).
        assert eventually(
            lambda: _metric(server.url, "belvedere_events_accepted_total") >= 200, timeout=10, interval=0.1
        )
        assert _metric(server.url, "belvedere_events_accepted_total") == 200
        capture = 'belvedere_http_request_seconds_count{method="POST",route="/api/v1/capture",status="202"}'
        assert _metric(server.url, capture) == 200
        missing = httpx.get(f"{server.url}/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert httpx.get(f"{server.url}/ready").json()["status"] == "ok"
        login = httpx.get(f"{server.url}/login")
        assert login.status_code == 200 and "text/html" in login.headers["content-type"]

        # A worker that dies is replaced; capture goes on meanwhile.
        os.kill(workers[0], signal.SIGKILL)
        assert _send(server.url, project["write_key"], range(200, 260), clients=3) == 60
        owner = server.process.pid
        assert eventually(lambda: len(set(_worker_pids(owner)) - {workers[0]}) >= 2, timeout=30, interval=0.1)
        assert len(set(_worker_pids(owner)) - {workers[0]}) == 2
    finally:
        assert server.stop() in (0, -15)
    log = server.log.read_text()
    assert "worker.exited" in log and log.rstrip().endswith("runtime.stopped")
    server.start()  # whatever the workers still held is relayed at the next start
    try:
        assert _stats(server.url, project["api_key"], project["project_id"]) == {
            "visitors": 260,
            "pageviews": 260,
        }
    finally:
        server.stop()
