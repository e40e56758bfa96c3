"""Issue #29: capture scaled out over the shared Redis stream, as real processes — two `belvedere serve --role
capture` and the server that owns the event store, with a redis-server of the test's own configured as the
docs require (append-only file, `appendfsync always`). Events flow while a capture process, Redis and the
owner are each SIGKILLed and started again; every acknowledged event is then stored exactly once.

The client sends its own uuids and retries a request until it is acknowledged, as the SDKs do: a request cut
off by a kill may have reached the stream before its answer was lost, and its retry must not store it twice.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import httpx
from tests.e2e.server_kit import Server, cli, env_for
from tests.redis_kit import OwnRedis
from tests.waiting import eventually

BATCH = 5


class Sender(threading.Thread):
    """Sends batches of numbered events to whichever capture processes are up, each batch until one of them
    acknowledges it (202), and records what was acknowledged."""

    def __init__(self, write_key: str) -> None:
        super().__init__(daemon=True)
        self.write_key = write_key
        self.targets: list[str] = []
        self.acknowledged: set[int] = set()
        self.retries = 0
        self.stopping = threading.Event()
        self._numbers = itertools.count()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stopping.is_set():
                first = next(self._numbers) * BATCH
                batch = [
                    {"event": "tick", "distinct_id": f"visitor-{n % 7}", "uuid": str(uuid.uuid4()),
                     "properties": {"n": n}}
                    for n in range(first, first + BATCH)
                ]  # fmt: skip
                self._deliver(client, batch)
                time.sleep(0.01)

    def _deliver(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        for attempt in itertools.count():
            targets = list(self.targets)
            url = targets[attempt % len(targets)] if targets else None
            if url is not None:
                try:
                    answer = client.post(
                        f"{url}/api/v1/capture",
                        json={"batch": batch},
                        headers={"Authorization": f"Bearer {self.write_key}"},
                    )
                    if answer.status_code == 202:
                        assert answer.json()["accepted"] == BATCH, answer.text
                        self.acknowledged.update(e["properties"]["n"] for e in batch)
                        return
                except httpx.HTTPError:
                    pass
            self.retries += 1
            time.sleep(0.05)

    def sent_more(self, than: int) -> bool:
        return len(self.acknowledged) >= than + 3 * BATCH


def _capture_process(tmp_path: Path, name: str, env: dict[str, str]) -> Server:
    return Server(tmp_path / name, args=("--role", "capture"), **env).start()


def test_acknowledged_events_are_stored_once_through_kills_of_capture_redis_and_owner(tmp_path: Path) -> None:
    own_redis = OwnRedis(tmp_path / "redis")
    own_redis.start()
    owner_dir = tmp_path / "owner"
    stream = {"BELVEDERE_INGEST__STREAM_URL": own_redis.url, "BELVEDERE_WRITER__FLUSH_INTERVAL_MS": "50"}
    made = cli(owner_dir, "project", "create", "--name", "Shop", "--org", "Demo", "--json")
    assert made.returncode == 0, made.stderr
    project = json.loads(made.stdout)
    shared = {**stream, "BELVEDERE_DATABASE_URL": f"sqlite:///{(owner_dir / 'belvedere.db').resolve()}"}
    owner = Server(owner_dir, **stream).start()
    captures = [_capture_process(tmp_path, f"capture-{i}", shared) for i in range(2)]
    sender = Sender(project["write_key"])
    sender.targets = [c.url for c in captures]
    sender.start()
    try:
        # Not a capture endpoint: a capture process says what it is for.
        other = httpx.get(f"{captures[0].url}/api/v1/projects", timeout=5)
        assert other.status_code == 404 and "only captures" in other.text
        assert httpx.get(f"{captures[0].url}/health", timeout=5).json()["role"] == "capture"

        assert eventually(lambda: sender.sent_more(0), timeout=30)
        captures[0].kill()  # SIGKILL, requests in flight
        sender.targets = [captures[1].url]
        seen = len(sender.acknowledged)
        assert eventually(lambda: sender.sent_more(seen), timeout=30)

        own_redis.kill()  # SIGKILL: what survives is its append-only file
        own_redis.start()
        seen = len(sender.acknowledged)
        assert eventually(lambda: sender.sent_more(seen), timeout=60)

        owner.kill()  # SIGKILL while it relays and writes
        owner = Server(owner_dir, port=owner.port, **stream).start()
        captures[0] = _capture_process(tmp_path, "capture-0", shared)
        sender.targets = [c.url for c in captures]
        seen = len(sender.acknowledged)
        assert eventually(lambda: sender.sent_more(seen), timeout=60)
    finally:
        sender.stopping.set()
        sender.join(30)
    acknowledged = sorted(sender.acknowledged)
    try:
        body = {"kind": "trends", "date_from": "-1d", "series": [{"event": "tick"}]}

        def counted() -> int:
            answer = httpx.post(
                f"{owner.url}/api/v1/projects/{project['project_id']}/query",
                json=body,
                headers={"Authorization": f"Bearer {project['read_key']}"},
                timeout=30,
            )
            return int(answer.json()["series"][0]["total"]) if answer.status_code == 200 else -1

        assert eventually(lambda: counted() == len(acknowledged), timeout=60), (counted(), len(acknowledged))
    finally:
        for process in [*captures, owner]:
            process.stop()
        own_redis.kill()
    with duckdb.connect(str(owner_dir / "events.duckdb"), read_only=True) as store:
        rows = store.execute(
            "SELECT CAST(json_extract_string(properties, '$.n') AS INTEGER) AS n, count(*) FROM events"
            " WHERE event = 'tick' GROUP BY n ORDER BY n"
        ).fetchall()
    assert [n for n, _ in rows] == acknowledged  # every acknowledged event, and only those
    assert all(count == 1 for _, count in rows)  # once
    assert sender.retries > 0  # the kills were felt by the client


def test_a_rotated_write_key_stops_working_on_a_capture_process_at_once(tmp_path: Path) -> None:
    """A capture process on another machine has its own data folder: the owner's signal that cached write
    keys are stale must reach it through the shared Redis, not the owner's files."""
    own_redis = OwnRedis(tmp_path / "redis")
    own_redis.start()
    owner_dir = tmp_path / "owner"
    stream = {"BELVEDERE_INGEST__STREAM_URL": own_redis.url}
    made = cli(owner_dir, "project", "create", "--name", "Shop", "--org", "Demo", "--json")
    assert made.returncode == 0, made.stderr
    project = json.loads(made.stdout)
    admin = _admin_key(owner_dir)
    shared = {**stream, "BELVEDERE_DATABASE_URL": f"sqlite:///{(owner_dir / 'belvedere.db').resolve()}"}
    owner = Server(owner_dir, **stream).start()
    capture = _capture_process(tmp_path, "capture", shared)

    def send(key: str) -> int:
        event = {"event": "tick", "distinct_id": "v"}
        answer = httpx.post(
            f"{capture.url}/api/v1/capture", json=event, headers={"Authorization": f"Bearer {key}"}, timeout=5
        )
        return answer.status_code

    try:
        assert send(project["write_key"]) == 202  # now cached by the capture process
        rotated = httpx.post(
            f"{owner.url}/api/v1/projects/{project['project_id']}/write-key",
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        )
        assert rotated.status_code == 200, rotated.text
        # Within a couple of seconds, not the key cache's 30.
        assert eventually(lambda: send(project["write_key"]) == 401, timeout=3)
        assert send(rotated.json()["write_key"]) == 202
    finally:
        capture.stop()
        owner.stop()
        own_redis.kill()


def _admin_key(data_dir: Path) -> str:
    """An owner of the organisation and an admin API key of theirs."""
    made = subprocess.run(
        [sys.executable, "-m", "belvedere", "user", "create", "--email", "boss@example.com", "--org", "Demo",
         "--role", "owner", "--password-stdin"],
        input="a long enough password 2026", env=env_for(data_dir), capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = cli(
        data_dir,
        "apikey",
        "create",
        "--org",
        "Demo",
        "--user",
        "boss@example.com",
        "--scope",
        "admin",
        "--json",
    )
    assert key.returncode == 0, key.stderr
    return str(json.loads(key.stdout)["key"])
