"""The durable spool on a real file system: group commit, rotation, replay, torn tails, back-pressure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from belvedere.ingest.segments import HEADER
from belvedere.ingest.spool import Position, Spool, SpoolFull


def make(tmp_path: Path, **kw: int) -> Spool:
    spool = Spool(
        tmp_path, segment_bytes=kw.get("segment_bytes", 1 << 20), max_bytes=kw.get("max_bytes", 1 << 30)
    )
    spool.open(None)
    return spool


def read_all(spool: Spool, start: Position) -> tuple[list[bytes], Position]:
    return spool.read(start, 1 << 30)


def test_concurrent_appends_are_group_committed_and_read_back_in_order(tmp_path: Path) -> None:
    spool = make(tmp_path)

    async def main() -> None:
        await asyncio.gather(*(spool.append(f"record-{i}\n".encode()) for i in range(200)))

    asyncio.run(main())
    payloads, end = read_all(spool, Position(1, 0))
    assert payloads == [f"record-{i}\n".encode() for i in range(200)]
    assert spool.depth_bytes == sum(len(p) + HEADER.size for p in payloads)
    spool.release(end)
    assert spool.depth_bytes == 0
    spool.close()


def test_segments_rotate_and_released_segments_are_deleted(tmp_path: Path) -> None:
    spool = make(tmp_path, segment_bytes=100)
    for i in range(10):
        spool.append_sync(b"x" * 60 + str(i).encode())
    assert len(list(tmp_path.glob("*.seg"))) >= 5
    payloads, end = read_all(spool, Position(1, 0))
    assert len(payloads) == 10 and payloads[-1].endswith(b"9")
    spool.release(end)
    assert len(list(tmp_path.glob("*.seg"))) == 1
    spool.close()


def test_reopen_replays_unreleased_records_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.append_sync(b"one\n")
    spool.append_sync(b"two\n")
    first, after_first = spool.read(Position(1, 0), 1)  # a tiny budget still returns one whole record
    assert first == [b"one\n"]
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    with segment.open("ab") as handle:  # a crash in the middle of a write
        handle.write(HEADER.pack(100, 0) + b"partial")

    reopened = Spool(tmp_path, segment_bytes=1 << 20, max_bytes=1 << 30)
    start = reopened.open(after_first)
    assert start == after_first
    payloads, _ = read_all(reopened, start)
    assert payloads == [b"two\n"]
    reopened.append_sync(b"three\n")
    payloads, _ = read_all(reopened, start)
    assert payloads == [b"two\n", b"three\n"]
    reopened.close()


def test_checksum_mismatch_in_the_tail_is_truncated(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.append_sync(b"good\n")
    spool.append_sync(b"flipped\n")
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[-2] ^= 0xFF
    segment.write_bytes(bytes(data))
    reopened = Spool(tmp_path, segment_bytes=1 << 20, max_bytes=1 << 30)
    payloads, _ = read_all(reopened, reopened.open(None))
    assert payloads == [b"good\n"]
    reopened.close()


def test_full_spool_refuses_appends_until_released(tmp_path: Path) -> None:
    spool = make(tmp_path, max_bytes=100)
    spool.append_sync(b"y" * 120)
    assert spool.is_full()
    with pytest.raises(SpoolFull):
        spool.append_sync(b"more")

    async def try_async() -> None:
        await spool.append(b"more")

    with pytest.raises(SpoolFull):
        asyncio.run(try_async())
    _, end = read_all(spool, Position(1, 0))
    spool.release(end)
    assert not spool.is_full()
    spool.append_sync(b"accepted again")
    spool.close()


def test_open_after_everything_was_stored_starts_clean(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.append_sync(b"a\n")
    _, end = read_all(spool, Position(1, 0))
    spool.release(end)
    spool.close()
    for seg in tmp_path.glob("*.seg"):
        seg.unlink()
    reopened = Spool(tmp_path, segment_bytes=1 << 20, max_bytes=1 << 30)
    start = reopened.open(end)
    reopened.append_sync(b"b\n")
    payloads, _ = read_all(reopened, start)
    assert payloads == [b"b\n"]
    reopened.close()
