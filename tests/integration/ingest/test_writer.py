"""The store writer: a record it cannot parse is set aside without blocking the rest; a failing store is
retried without losing anything, and /ready says so meanwhile."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import orjson
import pytest
from tests.conftest import make_settings
from tests.integration.capture_kit import running
from tests.waiting import eventually

from belvedere.config import Settings
from belvedere.ingest import writer as writer_module
from belvedere.runtime import Runtime


def _row(project_id: int, name: str, n: int) -> bytes:
    row = {
        "uuid": f"00000000-0000-7000-8000-{n:012d}",
        "project_id": project_id,
        "timestamp": 1_763_800_000_000,
        "received_at": 1_763_800_000_000,
        "event": name,
    }
    return orjson.dumps(row) + b"\n"


def test_unreadable_record_is_quarantined_and_the_others_are_stored(settings: Settings) -> None:
    with running(settings) as app:
        pid = app.project.project.id
        app.runtime.writer.stop()
        spool = app.runtime.spool
        spool.append_sync(_row(pid, "before", 1))
        spool.append_sync(b'{"uuid": "not json at all\n')
        spool.append_sync(_row(pid, "after", 2))
        app.runtime.writer.start(app.runtime.writer.position)
        assert app.wait_stored(2) == 2
        app.flush()
        names = sorted(e for (e,) in app.runtime.store.execute("SELECT event FROM events"))
        assert names == ["after", "before"]
        quarantined = list((settings.data_dir / "quarantine").glob("*.ndjson"))
        assert [q.read_bytes() for q in quarantined] == [b'{"uuid": "not json at all\n']


def test_store_failure_is_retried_and_reported(settings: Settings) -> None:
    with running(settings) as app:
        store = app.runtime.store
        real_write = store.write_batch
        failures = {"left": 3}

        def flaky(rows: bytes, **kw: object) -> int:
            if failures["left"]:
                failures["left"] -= 1
                raise OSError("disk full (simulated by the test)")
            return real_write(rows, **kw)  # type: ignore[arg-type]

        store.write_batch = flaky  # type: ignore[method-assign]
        response = app.client.post("/api/v1/capture", json={"event": "kept"}, headers=app.auth())
        assert response.status_code == 202
        assert eventually(
            lambda: "writer_error" in app.client.get("/ready").json()["components"]["event_store"], timeout=5
        )
        assert app.wait_stored(1) == 1
        # the rows are visible at the store's commit, a moment before the writer clears its error
        assert eventually(lambda: app.runtime.writer.last_error is None, timeout=5)
        assert app.client.get("/ready").status_code == 200


def test_events_in_the_spool_survive_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with running(settings) as app:
        app.runtime.writer.stop()  # nothing reaches the store before the "crash"
        body = {"batch": [{"event": "pending", "distinct_id": f"u{i}"} for i in range(5)]}
        assert app.client.post("/api/v1/capture", json=body, headers=app.auth()).json()["accepted"] == 5
        pid = app.project.project.id
    runtime = Runtime(settings)
    runtime.start()  # replays the spool before serving
    try:
        assert runtime.store.count_events(project_id=pid) == 5
    finally:
        runtime.stop()


def test_store_settings_reach_duckdb(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.store.checkpoint_threshold = "48MB"
    settings.store.memory_limit = "300MB"
    runtime = Runtime(settings)
    runtime.start()
    try:
        (row,) = runtime.store.execute(
            "SELECT current_setting('checkpoint_threshold'), current_setting('memory_limit'),"
            " current_setting('threads')"
        )
    finally:
        runtime.stop()
    assert row == ("45.7 MiB", "286.1 MiB", settings.store.threads)  # DuckDB prints sizes in MiB


def test_the_writer_marks_pages_between_batches(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Visits the writer stored get their page marks on its next pass (every ``MARK_EVERY_SECONDS``)."""
    monkeypatch.setattr(writer_module, "MARK_EVERY_SECONDS", 0.05)
    with running(settings) as app:
        response = app.client.post(
            "/api/v1/capture",
            json={"type": "page", "distinct_id": "u1", "context": {"page": {"url": "https://a.example/x"}}},
            headers=app.auth(),
        )
        assert response.status_code == 202
        assert app.wait_stored(1) == 1

        def marked() -> list[tuple[object, ...]]:
            return app.runtime.store.execute(
                "SELECT pages, pages_before FROM visits WHERE pages_before IS NOT NULL"
            )

        assert eventually(lambda: bool(marked()), timeout=5)
        assert marked() == [(["/x"], [None])]
        # Each pass is timed in the metrics, and the visits it wrote again are counted.
        assert eventually(lambda: "belvedere_page_marks_visits_total 1.0" in app.client.get("/metrics").text)
        text = app.client.get("/metrics").text
        passes = next(
            line for line in text.splitlines() if line.startswith("belvedere_page_marks_seconds_count")
        )
        assert float(passes.split()[-1]) >= 1


def test_the_writer_marks_pages_while_a_backlog_lasts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When every read of the spool fills a batch (a backlog), marking passes still come between batches."""
    monkeypatch.setattr(writer_module, "MARK_EVERY_SECONDS", 0.0)
    writer = {"flush_interval_ms": 50, "batch_rows": 1, "max_batch_bytes": 1024}
    with running(make_settings(tmp_path, writer=writer)) as app:
        pid = app.project.project.id
        passes: list[int] = []  # visits written again by each marking pass
        passes_at_batch: list[int] = []  # how many passes had run when each batch was written
        monkeypatch.setattr(app.runtime.writer, "_on_marks", lambda visits, seconds: passes.append(visits))
        monkeypatch.setattr(
            app.runtime.writer, "_on_batch", lambda rows, s: passes_at_batch.append(len(passes))
        )
        app.runtime.writer.stop()
        for visit in range(5):  # each record over 1,024 bytes: one read, one batch
            rows = [_page_view(pid, f"s{visit}", visit * 8 + i) for i in range(8)]
            app.runtime.spool.append_sync(b"".join(rows))
        app.runtime.writer.start(app.runtime.writer.position)
        assert app.wait_stored(40) == 40
        assert eventually(lambda: len(passes_at_batch) == 5)  # each reported just after its commit
        between = [b - a for a, b in pairwise(passes_at_batch)]
        assert all(n >= 1 for n in between), (between, passes_at_batch)


def _page_view(project_id: int, session: str, n: int) -> bytes:
    row = orjson.loads(_row(project_id, "$pageview", n))
    row.update(session_id=session, person_id="u1", distinct_id="u1", path=f"/p{n % 3}")
    return orjson.dumps(row) + b"\n"
