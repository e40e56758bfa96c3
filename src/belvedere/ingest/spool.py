"""A durable local spool: append-only segment files with group-commit fsync.

A capture request's events are appended as one record; the request is answered only once the record is on
disk. Requests that arrive while a write+fsync is under way are written together by the next one (group
commit), so the cost of an fsync is shared. The store writer reads records back in order, and releases
(deletes) segments once their events are in the event store.

Records are framed as ``ingest.segments`` says. A record cut short by a crash (torn tail) fails its length
or checksum and is truncated away at start-up: it was never acknowledged.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

from belvedere.config import SpoolSettings
from belvedere.ingest.segments import HEADER, read_records, segment_numbers, segment_path, valid_prefix

log = structlog.get_logger(__name__)


class SpoolFull(Exception):
    """The spool holds more unwritten bytes than allowed: the caller should answer 503."""


@dataclass(frozen=True, order=True, slots=True)
class Position:
    segment: int
    offset: int


class Buffer(Protocol):
    """Where capture puts accepted events until the store holds them: this local ``Spool``, or the Redis
    stream shared by capture processes (``ingest.stream.StreamBuffer``). One contract suite runs on both
    (tests/integration/ingest/test_buffer_contract.py)."""

    max_bytes: int

    @property
    def depth_bytes(self) -> int: ...

    @property
    def oldest_age_seconds(self) -> float: ...

    def is_full(self) -> bool: ...

    async def append(self, payload: bytes, *, trace: str | None = None) -> None:
        """``trace``: the capture span's ``traceparent``, kept with the record where the buffer can."""
        ...

    def append_sync(self, payload: bytes) -> None: ...

    def close(self) -> None: ...


class Spool:
    def __init__(self, directory: Path, *, segment_bytes: int, max_bytes: int, fsync: bool = True) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool-commit")
        self._commit_lock = threading.Lock()
        self._changed = threading.Condition()
        self._sizes: dict[int, int] = {}  # segment -> bytes on disk
        self._released = Position(0, 0)
        self._committed = Position(0, 0)
        self._depth = 0
        self._commit_times: deque[tuple[Position, float]] = deque()
        self._fd = -1
        self._current = 0
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._flushing = False

    @classmethod
    def from_settings(cls, directory: Path, spool: SpoolSettings) -> Spool:
        return cls(directory, segment_bytes=spool.segment_bytes, max_bytes=spool.max_bytes, fsync=spool.fsync)

    # ------------------------------------------------------------------ start-up

    def open(self, start: Position | None) -> Position:
        """Prepare the spool; ``start`` is where the store's data ends. Returns where reading should begin."""
        self.directory.mkdir(parents=True, exist_ok=True)
        numbers = segment_numbers(self.directory)
        start = start or Position(numbers[0] if numbers else 1, 0)
        for number in numbers:
            if number < start.segment:
                (segment_path(self.directory, number)).unlink()
        numbers = [n for n in numbers if n >= start.segment]
        if start.segment not in numbers:
            # The segment the store stopped in is gone (nothing left to replay): continue in a fresh one.
            fresh = max([start.segment + 1, *numbers])
            if fresh not in numbers:
                numbers.append(fresh)
                (segment_path(self.directory, fresh)).touch()
            start = Position(numbers[0], 0)
        for index, number in enumerate(numbers):
            self._sizes[number] = self._validate(number, last=index == len(numbers) - 1)
        current = numbers[-1]
        self._fd = os.open(segment_path(self.directory, current), os.O_WRONLY | os.O_APPEND)
        self._current = current
        self._committed = Position(current, self._sizes[current])
        self._released = start
        self._depth = self._bytes_between(self._released, self._committed)
        if self._depth:
            self._commit_times.append((self._committed, time.time()))
            log.info("spool.replay", bytes=self._depth, segments=len(numbers))
        self._fsync_dir()
        return self._released

    def _validate(self, number: int, *, last: bool) -> int:
        """Length of the valid prefix of a segment; a torn tail is cut off."""
        path = segment_path(self.directory, number)
        data = path.read_bytes()
        offset = valid_prefix(data)
        if offset != len(data):
            log.warning("spool.truncated", segment=number, kept=offset, dropped=len(data) - offset, last=last)
            with open(path, "r+b") as handle:
                handle.truncate(offset)
                os.fsync(handle.fileno())
        return offset

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ appending

    @property
    def depth_bytes(self) -> int:
        return self._depth

    @property
    def oldest_age_seconds(self) -> float:
        return time.time() - self._commit_times[0][1] if self._commit_times else 0.0

    def is_full(self) -> bool:
        return self._depth >= self.max_bytes

    async def append(self, payload: bytes, *, trace: str | None = None) -> None:
        """Return once ``payload`` is durable. Raises SpoolFull when the spool is over its limit. (A local
        spool keeps no ``trace``: its records stay in this process, whose spans say what happened.)"""
        if self.is_full():
            raise SpoolFull()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((payload, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush_pending())
        await future

    async def _flush_pending(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await loop.run_in_executor(self._executor, self._write, [p for p, _ in batch])
                except Exception as exc:  # disk full, I/O error: every waiter learns it failed
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            self._flushing = False

    def append_sync(self, payload: bytes) -> None:
        """Blocking append for callers outside the event loop (demo loader, tools)."""
        if self.is_full():
            raise SpoolFull()
        self._executor.submit(self._write, [payload]).result()

    def _write(self, payloads: list[bytes]) -> None:
        with self._commit_lock:
            parts: list[bytes] = []
            for payload in payloads:
                parts.append(HEADER.pack(len(payload), zlib.crc32(payload)))
                parts.append(payload)
            data = b"".join(parts)
            written = 0
            view = memoryview(data)
            while written < len(data):
                written += os.write(self._fd, view[written:])
            if self.fsync:
                os.fdatasync(self._fd)
            with self._changed:
                size = self._sizes[self._current] + len(data)
                self._sizes[self._current] = size
                self._committed = Position(self._current, size)
                self._depth += len(data)
                self._commit_times.append((self._committed, time.time()))
                self._changed.notify_all()
            if size >= self.segment_bytes:
                self._rotate()

    def _rotate(self) -> None:
        os.close(self._fd)
        self._current += 1
        path = segment_path(self.directory, self._current)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fsync_dir()
        with self._changed:
            self._sizes[self._current] = 0
            self._committed = Position(self._current, 0)  # same place as the old segment's end

    # ------------------------------------------------------------------ reading

    def wait(self, position: Position, timeout: float) -> None:
        """Block until something was committed past ``position`` or the timeout passes."""
        with self._changed:
            if self._committed <= position:
                self._changed.wait(timeout)

    def read(self, position: Position, max_bytes: int) -> tuple[list[bytes], Position]:
        """Committed records from ``position`` on, up to about ``max_bytes``; and the position after them."""
        with self._changed:
            committed = self._committed
            sizes = dict(self._sizes)
        payloads: list[bytes] = []
        total = 0
        segment, offset = position.segment, position.offset
        while (segment, offset) < (committed.segment, committed.offset) and total < max_bytes:
            end = committed.offset if segment == committed.segment else sizes.get(segment, 0)
            if offset >= end:
                segment, offset = segment + 1, 0
                continue
            # No checksums here: records written since start-up come back from the page cache, and older
            # ones were all verified when the spool was opened.
            path = segment_path(self.directory, segment)
            records, cursor = read_records(path, offset, max_bytes - total, verify=False, limit=end - offset)
            payloads.extend(records)
            offset += cursor
            total += cursor
            if cursor == 0:
                break
        if segment < committed.segment and offset >= sizes.get(segment, 0):
            segment, offset = segment + 1, 0  # a finished segment: point past it so it can be released
        return payloads, Position(segment, offset)

    def release(self, position: Position) -> None:
        """Everything before ``position`` is stored: drop whole segments behind it and update the depth."""
        with self._changed:
            if position <= self._released:
                return
            released = self._bytes_between(self._released, position)
            self._depth -= released
            self._released = position
            while self._commit_times and self._commit_times[0][0] <= position:
                self._commit_times.popleft()
            old = [n for n in self._sizes if n < position.segment]
            for number in old:
                del self._sizes[number]
        for number in old:
            (segment_path(self.directory, number)).unlink(missing_ok=True)

    def _bytes_between(self, start: Position, end: Position) -> int:
        if end <= start:
            return 0
        if start.segment == end.segment:
            return end.offset - start.offset
        total = self._sizes.get(start.segment, 0) - start.offset
        for number in range(start.segment + 1, end.segment):
            total += self._sizes.get(number, 0)
        return total + end.offset

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
