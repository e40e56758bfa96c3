"""A server killed with SIGKILL under load loses no acknowledged event and duplicates none."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest
from tests.e2e.server_kit import Server, cli

pytestmark = pytest.mark.slow


def _load(url: str, key: str, acked: list[str], stop: threading.Event, batch: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            ids = [str(uuid.uuid4()) for _ in range(batch)]
            events = [{"event": "load", "uuid": i, "distinct_id": f"u{n % 50}"} for n, i in enumerate(ids)]
            body = {"batch": events} if batch > 1 else events[0]
            try:
                response = client.post(f"{url}/api/v1/capture", json=body, headers=headers)
            except httpx.HTTPError:
                return  # the server is gone: whatever was in flight was never acknowledged
            if response.status_code == 202 and response.json()["accepted"] == len(ids):
                acked.extend(ids)


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "capture-workers"])
def test_sigkill_during_load_loses_and_duplicates_nothing(tmp_path: Path, workers: int) -> None:
    """With capture workers, the kill takes the whole process group: workers, relay and writer at once."""
    created = cli(tmp_path, "project", "create", "--name", "Crash", "--json")
    assert created.returncode == 0, created.stderr
    key = orjson.loads(created.stdout)["write_key"]
    acked: list[str] = []
    server = Server(
        tmp_path, BELVEDERE_WRITER__FLUSH_INTERVAL_MS="300", BELVEDERE_SERVER__CAPTURE_WORKERS=str(workers)
    )
    for _ in range(2):  # two crash/restart cycles
        server.start()
        stop = threading.Event()
        workers = [
            threading.Thread(target=_load, args=(server.url, key, acked, stop, size))
            for size in (1, 1, 25, 100)
        ]
        for w in workers:
            w.start()
        # Deliberate: the load runs for a set time, so that the kill lands mid-stream, with batches stored
        # behind it (300 ms flushes), batches spooled and not yet stored, and requests in flight.
        time.sleep(2.0)
        server.kill()
        stop.set()
        for w in workers:
            w.join(10)
    assert len(acked) > 1000, "the load should have been acknowledged many events before the kill"
    server.start()  # replays the spool into the store
    assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    if not workers:  # with workers, what was in flight may wait in their spools rather than the owner's
        assert server.log.read_text().count("spool.replayed") == 2
    assert server.log.read_text().rstrip().endswith("runtime.stopped")

    with duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True) as db:
        counts = dict(db.execute("SELECT CAST(uuid AS VARCHAR), count(*) FROM events GROUP BY 1").fetchall())
    missing = [u for u in acked if u not in counts]
    duplicated = {u: n for u, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert not duplicated, f"{len(duplicated)} events stored more than once"
