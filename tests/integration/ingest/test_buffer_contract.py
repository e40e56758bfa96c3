"""Issue #29: one contract for the ingest buffers — the local spool (files) and the Redis stream of the
scale-out mode (a real Redis) — and a Redis that crashes keeps every acknowledged record when it runs as the
docs require (append-only file synced on every write)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from structlog.testing import capture_logs
from tests.redis_kit import OwnRedis
from tests.waiting import eventually

from belvedere.ingest.spool import Spool, SpoolFull
from belvedere.ingest.stream import StreamBuffer

REDIS_URL = "redis://127.0.0.1:6379/0"
Make = Callable[..., Any]


def _spool(tmp_path: Path) -> Make:
    def make(max_bytes: int = 1 << 30) -> Spool:
        return Spool(tmp_path / "spool", segment_bytes=4096, max_bytes=max_bytes)

    return make


def _stream(key: str, url: str = REDIS_URL) -> Make:
    def make(max_bytes: int = 1 << 30) -> StreamBuffer:
        return StreamBuffer(url, key, max_bytes=max_bytes)

    return make


@pytest.fixture(params=["spool", "redis-stream"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    if request.param == "spool":
        yield _spool(tmp_path)
        return
    key = f"belvedere-test:{uuid.uuid4()}"
    yield _stream(key)
    redis.Redis.from_url(REDIS_URL).delete(key)


def _records(n: int, size: int = 40) -> list[bytes]:
    return [f"record-{i:05d}-".encode().ljust(size, b"x") + b"\n" for i in range(n)]


def test_appended_records_come_back_in_order_from_where_reading_began(make: Make) -> None:
    buffer = make()
    start = buffer.open(None)
    sent = _records(300)

    async def append_all() -> None:
        await asyncio.gather(*(buffer.append(r) for r in sent[:200]))

    asyncio.run(append_all())
    for record in sent[200:]:
        buffer.append_sync(record)
    got, end = buffer.read(start, 1 << 30)
    assert sorted(got) == sent and got[200:] == sent[200:]  # concurrent appends in any order, then in order
    assert buffer.read(end, 1 << 30)[0] == []  # nothing after the end
    buffer.close()


def test_a_read_in_steps_gives_each_record_once(make: Make) -> None:
    buffer = make()
    position = buffer.open(None)
    sent = _records(120)
    for record in sent:
        buffer.append_sync(record)
    got: list[bytes] = []
    for _ in range(100):
        step, position = buffer.read(position, 500)  # about a dozen records a step
        if not step:
            break
        got.extend(step)
    assert got == sent
    buffer.close()


def test_released_records_are_gone_and_the_rest_outlives_a_reopen(make: Make) -> None:
    buffer = make()
    start = buffer.open(None)
    sent = _records(50)
    for record in sent:
        buffer.append_sync(record)
    first, middle = buffer.read(start, 20 * len(sent[0]))
    assert first == sent[: len(first)] and 0 < len(first) < 50
    depth = buffer.depth_bytes
    buffer.release(middle)  # as the writer does once those records are in the store
    assert buffer.depth_bytes <= depth
    buffer.close()

    again = make()
    resumed = again.open(middle)  # the store's checkpoint
    rest, end = again.read(resumed, 1 << 30)
    assert rest == sent[len(first) :]
    again.release(end)
    assert again.depth_bytes == 0  # nothing left: an empty buffer holds nothing back
    again.close()


def test_a_full_buffer_refuses_appends_until_released(make: Make) -> None:
    buffer = make(max_bytes=8 * 1024)
    position = buffer.open(None)
    accepted = 0
    with pytest.raises(SpoolFull):
        for record in _records(2000, size=200):
            buffer.append_sync(record)
            accepted += 1
    assert 0 < accepted < 2000
    with pytest.raises(SpoolFull):
        asyncio.run(buffer.append(b"one more\n"))
    got, end = buffer.read(position, 1 << 30)
    assert len(got) == accepted  # what was refused was never half-written
    buffer.release(end)  # the store caught up (in scale-out, another process trims the stream)
    asyncio.run(buffer.append(b"accepted again\n"))
    buffer.append_sync(b"and again\n")
    assert buffer.read(end, 1 << 30)[0] == [b"accepted again\n", b"and again\n"]
    assert eventually(lambda: not buffer.is_full(), timeout=2)
    buffer.close()


def test_wait_returns_when_a_record_arrives(make: Make) -> None:
    buffer = make()
    position = buffer.open(None)
    started = time.monotonic()
    buffer.wait(position, 0.3)  # nothing: waits its time out
    assert time.monotonic() - started >= 0.25
    timer = threading.Timer(0.2, lambda: buffer.append_sync(b"late\n"))
    timer.start()
    started = time.monotonic()
    buffer.wait(position, 5)
    assert time.monotonic() - started < 4
    assert buffer.read(position, 1 << 30)[0] == [b"late\n"]
    timer.join()
    buffer.close()


# ------------------------------------------------------------------------------- Redis's own durability


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    yield server
    server.kill()


def test_every_acknowledged_record_survives_redis_killed(own_redis: OwnRedis) -> None:
    own_redis.start()
    buffer = _stream("ingest", own_redis.url)()
    start = buffer.open(None)
    sent = _records(200)
    for record in sent:
        buffer.append_sync(record)  # acknowledged: XADD returned
    own_redis.kill()  # SIGKILL: no shutdown, no final save
    own_redis.start()
    again = _stream("ingest", own_redis.url)()
    assert again.read(again.open(start), 1 << 30)[0] == sent
    again.close()


def test_a_redis_without_a_synced_append_only_file_is_reported() -> None:
    buffer = _stream(f"belvedere-test:{uuid.uuid4()}")()
    if redis.Redis.from_url(REDIS_URL).config_get("appendfsync").get("appendfsync") == "always":
        pytest.skip("this machine's Redis already syncs every write")  # pragma: no cover
    with capture_logs() as logs:
        buffer.open(None)
    assert any(e["event"] == "stream.not_durable" for e in logs)
    buffer.close()
