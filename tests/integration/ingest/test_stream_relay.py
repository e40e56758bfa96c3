"""Issue #29: capture processes of the scale-out mode append to the shared Redis stream; the process that
owns the event store relays it like a capture worker's spool — each event given its person and visit, stored
exactly once, the stream trimmed behind it (real Redis, real DuckDB, two capture processes' parts in this
process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient
from tests.integration.accounts.kit import fast_settings
from tests.integration.capture_kit import IPHONE_UA, Running, running
from tests.waiting import eventually

from belvedere.accounts.service import ProjectInfo
from belvedere.config import Settings
from belvedere.ingest.stream import StreamBuffer
from belvedere.ingest.worker import CaptureWorker
from belvedere.web.capture_server import CaptureServer

REDIS_URL = "redis://127.0.0.1:6379/0"
T0 = 1_764_000_000_000  # 2025-11-24 16:00 UTC


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    key = f"belvedere-test:{uuid.uuid4()}"
    yield fast_settings(tmp_path, ingest={"stream_url": REDIS_URL, "stream_key": key})
    redis.Redis.from_url(REDIS_URL).delete(key)


def _capture(settings: Settings, r: Running) -> tuple[CaptureWorker, ProjectInfo]:
    worker = CaptureWorker(settings, None)  # as `belvedere serve --role capture` builds it
    worker.start()
    project = worker.gatekeeper.project(r.project.write_key)
    assert project is not None
    return worker, project


def _stored(r: Running) -> list[tuple[Any, ...]]:
    return r.runtime.store.execute(
        "SELECT event, path, distinct_id, person_id, session_id, CAST(uuid AS VARCHAR) FROM events"
        " WHERE project_id = ? ORDER BY timestamp",
        [r.project.project.id],
    )


def _page(path: str, minute: int) -> dict[str, object]:
    return {
        "type": "page",
        "timestamp": T0 + minute * 60_000,
        "properties": {"$current_url": f"https://x.io{path}"},
    }


def test_two_capture_processes_feed_one_owner_through_the_stream(settings: Settings) -> None:
    with running(settings) as r:
        a, project = _capture(settings, r)
        b, _ = _capture(settings, r)
        try:
            visitor = {"request_ip": "203.0.113.5", "request_user_agent": IPHONE_UA}
            # One visit whose requests land on either capture process.
            for minute, (worker, path) in enumerate([(a, "/"), (b, "/pricing"), (a, "/signup"), (b, "/")]):
                assert worker.ingest.capture_sync(project, [_page(path, minute)], **visitor).accepted == 1
            assert r.wait_stored(4) == 4
            rows = _stored(r)
            assert [row[1] for row in rows] == ["/", "/pricing", "/signup", "/"]
            assert len({row[4] for row in rows}) == 1  # one visit, sessionized by the owner
            assert len({row[3] for row in rows}) == 1  # one person
            stream = redis.Redis.from_url(REDIS_URL)
            key = settings.ingest.stream_key
            assert eventually(lambda: stream.xlen(key) == 0)  # trimmed once in the owner's spool
            stored = r.runtime.store.execute("SELECT CAST(properties AS VARCHAR) FROM events")
            assert all("_visit" not in str(p) for (p,) in stored)  # the hints never reach the store
        finally:
            a.stop()
            b.stop()


def test_entries_relayed_again_after_a_crash_are_stored_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": T0 + i} for i in range(40)]
    # A crash between appending to the owner's spool and trimming the stream: the stream keeps entries
    # that are already stored.
    with monkeypatch.context() as patch:
        patch.setattr(StreamBuffer, "release", lambda self, position: None)
        with running(settings) as r:
            worker, project = _capture(settings, r)
            assert worker.ingest.capture_sync(project, events[:25]).accepted == 25
            assert r.wait_stored(25) == 25
            r.flush()
            worker.stop()
    assert redis.Redis.from_url(REDIS_URL).xlen(settings.ingest.stream_key) > 0
    with running(settings) as r:
        worker, project = _capture(settings, r)
        assert worker.ingest.capture_sync(project, events[25:]).accepted == 15  # (a new project: running)
        assert r.wait_stored(15) == 15
        r.flush()
        uuids = [u for (u,) in r.runtime.store.execute("SELECT CAST(uuid AS VARCHAR) FROM events")]
        assert len(uuids) == 40 and len(set(uuids)) == 40
        assert eventually(lambda: redis.Redis.from_url(REDIS_URL).xlen(settings.ingest.stream_key) == 0)
        worker.stop()


def test_a_capture_process_needs_the_stream(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BELVEDERE_INGEST__STREAM_URL"):
        CaptureWorker(fast_settings(tmp_path), None)


def test_a_full_stream_makes_capture_answer_503_and_loses_nothing(tmp_path: Path) -> None:
    key = f"belvedere-test:{uuid.uuid4()}"
    small = {"stream_url": REDIS_URL, "stream_key": key, "stream_max_bytes": 4096}
    try:
        with running(fast_settings(tmp_path)) as owner:  # an owner that does not read this stream
            capture_settings = fast_settings(tmp_path, ingest=small)
            with TestClient(CaptureServer(CaptureWorker(capture_settings, None))) as capture:
                auth = {"Authorization": f"Bearer {owner.project.write_key}"}
                answers = []
                for n in range(200):
                    event = {"event": "e", "distinct_id": f"u{n}", "properties": {"pad": "x" * 200}}
                    answers.append(capture.post("/api/v1/capture", json=event, headers=auth))
                    if answers[-1].status_code != 202:
                        break
                refused = answers[-1]
                assert refused.status_code == 503 and refused.json()["error"]["code"] == "spool_full"
                assert int(refused.headers["Retry-After"]) > 0
                assert capture.get("/health").status_code == 503
                accepted = len(answers) - 1
                stream = StreamBuffer(REDIS_URL, key, max_bytes=4096)
                entries, end = stream.read(stream.open(None), 1 << 30)
                assert len(entries) == accepted > 0  # every 202 is in the stream, nothing more
                stream.release(end)  # the owner caught up: accepted again within half a second

                def again() -> int:
                    event = {"event": "e", "distinct_id": "u"}
                    return capture.post("/api/v1/capture", json=event, headers=auth).status_code

                assert eventually(lambda: again() == 202, timeout=3)
    finally:
        redis.Redis.from_url(REDIS_URL).delete(key)
