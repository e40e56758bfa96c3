"""The spool's contract on a Redis stream: the shared ingest buffer of the scale-out mode (issue #29).

Capture processes on several machines append to one stream; the writer reads it in order, stores, and
releases what is stored — the same calls as the local ``Spool`` (``tests/integration/ingest/
test_buffer_contract.py`` runs one suite on both). Positions are stream entry ids: ``Position(ms, seq)`` is
the id ``ms-seq``, and the event store's checkpoint keeps the last one stored, as it keeps a spool position.

Durability is Redis's: an append returns once ``XADD`` did, so "acknowledged" means "in the stream", and
survives a crash of Redis only with its append-only file synced on every write (``appendonly yes``,
``appendfsync always``); ``open`` logs a warning when the server runs without. A full buffer (more than
``max_bytes`` by Redis's own estimate of the stream's memory) refuses appends with ``SpoolFull``: capture
answers 503 with ``Retry-After`` and loses nothing.

Capture processes (``belvedere serve --role capture``) append to it; the process that owns the event store
reads it as one more source of its relay (``StreamTail``), which gives each event its person and visit,
appends it to the owner's spool, and only then trims the stream. Not yet: several writers sharing the
stream through a consumer group (see ``docs/design/scale-out.md``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from belvedere.ingest.spool import Position, SpoolFull

log = structlog.get_logger(__name__)

FIELD = b"r"  # each entry holds one record (a capture request's events) under this field
TRACE = b"t"  # and, when tracing, the capture span's traceparent under this one
_READ_COUNT = 500  # entries asked for at once by ``read``
_RECHECK_SECONDS = 0.5  # how often a full stream's depth is asked again by ``is_full``


def _id(position: Position) -> str:
    return f"{position.segment}-{position.offset}"


def _position(entry_id: bytes | str) -> Position:
    ms, seq = (entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")
    return Position(int(ms), int(seq))


def _depth(length: int, usage: int | None) -> int:
    """The stream's depth from its length and Redis's memory estimate: 0 when empty (an empty stream keeps a
    few hundred bytes of its own)."""
    return int(usage or 0) if length else 0


class StreamBuffer:
    def __init__(self, url: str, key: str, *, max_bytes: int) -> None:
        import redis

        self.key = key
        self.max_bytes = max_bytes
        self._redis: Any = redis.Redis.from_url(url)
        self._url = url
        self._async: Any = None  # made in the event loop that appends (``append``)
        self._depth = 0
        self._checked_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[dict[bytes, Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ start-up

    def open(self, start: Position | None) -> Position:
        """``start`` is where the store's data ends; entries up to it are dropped. Returns where to read."""
        self.check_durability()
        start = start or Position(0, 0)
        self.release(start)
        return start

    def check_durability(self) -> None:
        """Warn when Redis would lose acknowledged entries in a crash (no append-only file synced on every
        write). The stream works all the same: the operator decides."""
        appendonly = self._redis.config_get("appendonly").get("appendonly")
        fsync = self._redis.config_get("appendfsync").get("appendfsync")
        if appendonly != "yes" or fsync != "always":
            log.warning(
                "stream.not_durable",
                appendonly=appendonly,
                appendfsync=fsync,
                advice="events survive a Redis crash only with appendonly yes, appendfsync always",
            )

    # ------------------------------------------------------------------ appending

    @property
    def depth_bytes(self) -> int:
        """Redis's estimate of the stream's memory (entries not yet released, and their overhead); 0 once
        every entry is released (an empty stream keeps a few hundred bytes of its own)."""
        pipe = self._redis.pipeline(transaction=False)
        self._depth = _depth(*pipe.xlen(self.key).memory_usage(self.key).execute())
        return self._depth

    @property
    def oldest_age_seconds(self) -> float:
        first = self._redis.xrange(self.key, "-", "+", count=1)
        return max(0.0, time.time() - _position(first[0][0]).segment / 1000) if first else 0.0

    def is_full(self) -> bool:
        """As of the last write (no call to Redis: capture asks it on the event loop before any work); once
        full, Redis is asked again at most every ``_RECHECK_SECONDS``, for the owner trims the stream."""
        if self._depth >= self.max_bytes and time.monotonic() - self._checked_at >= _RECHECK_SECONDS:
            self._checked_at = time.monotonic()
            return self.depth_bytes >= self.max_bytes
        return self._depth >= self.max_bytes

    async def append(self, payload: bytes, *, trace: str | None = None) -> None:
        """Return once ``payload`` is in the stream. Raises SpoolFull when the buffer is over its limit.
        ``trace`` (the capture span's ``traceparent``) is kept beside it, for the relay's span to link to.

        Appends that arrive together go to Redis together: one pipeline of ``XADD``s, which also reads the
        stream's memory back (the group commit of the local spool, for the same reason: one round trip and
        one client call per batch, not two per request — the Redis client was 42 % of a capture process's
        time before, measured with py-spy). The limit is checked against that reading, and asked again of
        Redis before refusing, so a stream the owner has trimmed meanwhile is accepted again at once."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests run several): nothing of the old one carries
            self._loop, self._pending, self._flusher = loop, [], None
            self._async = self._async_client(self._url)
        if self._depth >= self.max_bytes:
            self._depth = await self._async_depth()
            if self._depth >= self.max_bytes:
                raise SpoolFull()
        done = loop.create_future()
        self._pending.append(({FIELD: payload, TRACE: trace} if trace else {FIELD: payload}, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            pipe = self._async.pipeline(transaction=False)
            for fields, _ in batch:
                pipe.xadd(self.key, fields)
            pipe.xlen(self.key).memory_usage(self.key)
            try:
                *_, length, usage = await pipe.execute()
            except Exception as exc:  # Redis unreachable: these requests fail (500), the clients retry
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self._depth = _depth(length, usage)
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    @staticmethod
    def _async_client(url: str) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(url)

    async def _async_depth(self) -> int:
        pipe = self._async.pipeline(transaction=False)
        length, usage = await pipe.xlen(self.key).memory_usage(self.key).execute()
        self._checked_at = time.monotonic()
        return _depth(length, usage)

    def append_sync(self, payload: bytes) -> None:
        if self.depth_bytes >= self.max_bytes:
            raise SpoolFull()
        self._redis.xadd(self.key, {FIELD: payload})

    # ------------------------------------------------------------------ reading

    def wait(self, position: Position, timeout: float) -> None:
        """Block until an entry past ``position`` exists or the timeout passes."""
        self._redis.xread({self.key: _id(position)}, count=1, block=max(1, int(timeout * 1000)))

    def read(self, position: Position, max_bytes: int) -> tuple[list[bytes], Position]:
        """Entries after ``position``, up to about ``max_bytes``; and the id of the last one returned."""
        payloads, _, end = self.read_traced(position, max_bytes)
        return payloads, end

    def read_traced(self, position: Position, max_bytes: int) -> tuple[list[bytes], list[str], Position]:
        """``read``, with the traceparents that came with the entries."""
        payloads: list[bytes] = []
        traces: list[str] = []
        total = 0
        while total < max_bytes:
            entries = self._redis.xrange(self.key, f"({_id(position)}", "+", count=_READ_COUNT)
            for entry_id, fields in entries:
                payload = fields[FIELD]
                payloads.append(payload)
                if TRACE in fields:
                    traces.append(fields[TRACE].decode())
                total += len(payload)
                position = _position(entry_id)
                if total >= max_bytes:
                    break
            if len(entries) < _READ_COUNT:
                break
        return payloads, traces, position

    def release(self, position: Position) -> None:
        """Everything up to ``position`` is stored: trim it from the stream."""
        if position > Position(0, 0):
            # Exactly (not `~`): an approximate trim keeps whole nodes, entries a reader would see again.
            minid = _id(Position(position.segment, position.offset + 1))
            self._redis.xtrim(self.key, minid=minid, approximate=False)

    def last(self) -> Position:
        """The id of the newest entry (0-0 when the stream is empty or absent)."""
        entries = self._redis.xrevrange(self.key, "+", "-", count=1)
        return _position(entries[0][0]) if entries else Position(0, 0)

    def close(self) -> None:
        self._redis.close()


class StreamTail:
    """The store owner's reading end of the stream: one more source of its relay (``ingest.relay``), read
    as a capture worker's spool is. Entries are trimmed once relayed into the owner's spool; whatever the
    stream holds when the owner starts may have been relayed by a run that stopped before trimming, so it
    is marked for de-duplication on uuid."""

    def __init__(self, buffer: StreamBuffer) -> None:
        self.buffer = buffer
        self.position = Position(0, 0)
        self.redo_until = Position(0, 0)
        self.traces: list[str] = []  # the traceparents of the entries the last ``read`` returned

    def start(self) -> None:
        self.buffer.check_durability()
        self.redo_until = self.buffer.last()

    def read(self, max_bytes: int) -> tuple[list[bytes], Position]:
        payloads, self.traces, end = self.buffer.read_traced(self.position, max_bytes)
        return payloads, end

    def backlog_bytes(self) -> int:
        return self.buffer.depth_bytes

    def advance(self, end: Position) -> None:
        """Relayed up to ``end`` (durable in the owner's spool): trim the stream behind it."""
        self.buffer.release(end)
        self.position = end
