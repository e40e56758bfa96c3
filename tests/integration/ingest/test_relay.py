"""Capture workers spool in their own folders; the store owner's relay gives each event its person and visit
and moves it into the store exactly once (real spools, real DuckDB, two workers in this process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.accounts.kit import fast_settings
from tests.integration.capture_kit import IPHONE_UA, Running, running
from tests.waiting import eventually

from belvedere.accounts.service import ProjectInfo
from belvedere.ingest.relay import SpoolTail, read_relayed, worker_spool_dir, write_relayed
from belvedere.ingest.segments import HEADER
from belvedere.ingest.spool import Position
from belvedere.ingest.worker import CaptureWorker

DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
T0 = 1_764_000_000_000  # 2025-11-24 16:00 UTC


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[Running]:
    with running(fast_settings(tmp_path, server={"capture_workers": 2})) as r:
        yield r


def _workers(r: Running) -> list[CaptureWorker]:
    workers = [CaptureWorker(r.runtime.settings, i) for i in range(2)]
    for w in workers:
        w.start()
    return workers


def _project(worker: CaptureWorker, r: Running) -> ProjectInfo:
    info = worker.gatekeeper.project(r.project.write_key)
    assert info is not None
    return info


def _page(path: str, minute: int, **extra: object) -> dict[str, object]:
    return {
        "type": "page",
        "timestamp": T0 + minute * 60_000,
        "properties": {"$current_url": f"https://x.io{path}"},
        **extra,
    }


def _rows(r: Running) -> list[tuple[object, ...]]:
    return r.runtime.store.execute(
        "SELECT event, path, distinct_id, person_id, session_id, channel, CAST(uuid AS VARCHAR) FROM events"
        " WHERE project_id = ? ORDER BY timestamp, event",
        [r.project.project.id],
    )


def test_a_visit_spread_over_two_workers_is_one_visit(owner: Running) -> None:
    w0, w1 = _workers(owner)
    try:
        project = _project(w0, owner)
        a = {"request_ip": "203.0.113.5", "request_user_agent": IPHONE_UA}
        b = {"request_ip": "198.51.100.7", "request_user_agent": DESKTOP_UA}
        # Visitor A arrives from a search engine, then browses on; its requests land on either worker.
        referred = _page(
            "/", 0, context={"page": {"url": "https://x.io/", "referrer": "https://www.google.com/"}}
        )
        assert w0.ingest.capture_sync(project, [referred], **a).accepted == 1
        assert w1.ingest.capture_sync(project, [_page("/pricing", 1)], **a).accepted == 1
        assert w0.ingest.capture_sync(project, [_page("/signup", 2)], **a).accepted == 1
        assert w1.ingest.capture_sync(project, [_page("/", 3)], **b).accepted == 1
        # An identified user signs up on one worker and aliases the anonymous id on the other.
        u = [{"event": "clicked", "distinct_id": "anon-9", "timestamp": T0 + 5 * 60_000}]
        assert w0.ingest.capture_sync(project, u, **b).accepted == 1
        alias = {
            "type": "alias",
            "distinct_id": "user-9",
            "properties": {"alias": "anon-9"},
            "timestamp": T0 + 6 * 60_000,
        }
        assert w1.ingest.capture_sync(project, [alias], **b).accepted == 1
        assert owner.wait_stored(6) == 6
    finally:
        for w in (w0, w1):
            w.stop()

    rows = _rows(owner)
    visitor_a = [row for row in rows if row[1] in ("/", "/pricing", "/signup") and row[0] == "$pageview"][:3]
    assert [row[1] for row in visitor_a] == ["/", "/pricing", "/signup"]
    assert len({row[2] for row in visitor_a}) == 1 and len(visitor_a[0][2]) == 16  # one cookieless id
    assert len({row[4] for row in visitor_a}) == 1  # one visit, though two workers took its events
    assert {row[5] for row in visitor_a} == {"Organic Search"}  # later pages inherit the visit's source
    visitor_b = rows[3]
    assert visitor_b[2] != visitor_a[0][2] and visitor_b[4] != visitor_a[0][4]
    clicked, aliased = rows[4], rows[5]
    assert (clicked[3], aliased[3]) == ("anon-9", "user-9")
    assert clicked[4] == aliased[4]  # the anonymous visit became the person's
    stored = owner.runtime.store.execute("SELECT CAST(properties AS VARCHAR) FROM events")
    assert all("_visit" not in str(p) for (p,) in stored)  # the hints never reach the store


def test_records_relayed_twice_after_a_crash_are_stored_once(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, server={"capture_workers": 1})
    with running(settings) as r:
        worker = CaptureWorker(settings, 0)
        worker.start()
        project = _project(worker, r)
        events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": T0 + i} for i in range(50)]
        assert worker.ingest.capture_sync(project, events[:30]).accepted == 30
        assert r.wait_stored(30) == 30
        relayed = read_relayed(worker.directory)
        assert relayed is not None and relayed.offset > 0
        assert worker.ingest.capture_sync(project, events[30:]).accepted == 20
        assert r.wait_stored(50) == 50
        r.flush()
        worker.stop()
    # A crash between appending to the owner's spool and recording the position: the position lags.
    write_relayed(worker_spool_dir(tmp_path / "spool", 0), relayed)
    with running(settings) as r:
        relay = r.runtime.relay
        assert relay is not None
        assert eventually(lambda: relay.backlog_bytes == 0)  # it went over the lagging records again
        r.flush()
        uuids = [u for (u,) in r.runtime.store.execute("SELECT CAST(uuid AS VARCHAR) FROM events")]
        assert len(uuids) == 50
        assert len(set(uuids)) == 50
        again = read_relayed(worker_spool_dir(tmp_path / "spool", 0))
        assert again is not None and again > relayed


def test_the_tail_reads_only_whole_records(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, spool={"segment_bytes": 2048})
    with running(settings) as r:  # no worker spool yet when it starts: it relays nothing here
        assert r.runtime.relay is None
        worker = CaptureWorker(settings, 0)
        worker.start()
        project = _project(worker, r)
        for i in range(20):  # ~ 400 bytes a record: several segments
            event = {"event": "e", "distinct_id": "u", "timestamp": T0 + i}
            assert worker.ingest.capture_sync(project, [event]).accepted == 1
    segments = sorted(worker.directory.glob("*.seg"))
    assert len(segments) > 2
    # A record whose bytes are still being written: its header promises more than the file holds.
    with segments[-1].open("ab") as handle:
        handle.write(HEADER.pack(500, 0) + b"{" * 10)
    tail = SpoolTail(worker.directory)
    assert tail.position == Position(0, 0) and tail.redo_until > tail.position
    payloads, end = tail.read(1 << 20)
    assert len(payloads) == 20 and end.segment == int(segments[-1].stem)
    assert tail.read(1 << 20)[0] == payloads  # nothing past the torn record, and nothing consumed
    tail.position = end
    write_relayed(worker.directory, end)
    tail.release()
    assert sorted(worker.directory.glob("*.seg")) == [segments[-1]]
    worker.follow_relay()
    assert worker.spool.depth_bytes == 0
    worker.stop()
    # Restarted, the worker cuts the torn record away and appends after the last whole one.
    worker = CaptureWorker(settings, 0)
    worker.start()
    assert segments[-1].stat().st_size == end.offset
    worker.stop()
