"""The store owner's side of multi-process capture: it relays the capture workers' spools (and, in scale-out,
the shared ingest stream: ``ingest.stream.StreamTail``) into its own.

Each capture worker (a separate process, see ``belvedere.ingest.worker``) validates, enriches and durably
spools events in a spool of its own, leaving out what only a process that sees every event can decide: the
person and the visit. The relay tails those spools, gives each event its person and visit (``Visits``), and
appends the result to the owner's spool, from which the one store writer moves it into the event store as
usual.

Exactly once: a worker's record is relayed when it is durable in the owner's spool; only then is the
worker's ``relayed`` position advanced (a small file in the worker's folder, replaced atomically), and only
behind that position may the worker's segments be deleted. A crash between the two steps means some records
are relayed twice after the restart; so everything a worker spool held when the relay started is marked for
de-duplication on ``uuid`` (each event got its uuid in the worker, before it was spooled).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import structlog

from belvedere.ingest import records
from belvedere.ingest.enrich.visitor import VisitHints, Visits
from belvedere.ingest.segments import read_records, segment_numbers, segment_path
from belvedere.ingest.spool import Position, Spool, SpoolFull
from belvedere.ingest.stream import StreamTail
from belvedere.platform import tracing
from belvedere.platform.threads import Background
from belvedere.store.schema import CLIENT_UUID_FLAG

log = structlog.get_logger(__name__)

RELAYED_FILE = "relayed"


def worker_spool_dir(spool_dir: Path, index: int) -> Path:
    return spool_dir / "workers" / str(index)


def read_relayed(directory: Path) -> Position | None:
    """How far the owner has relayed this worker spool; None when it has not started (or the file is
    unreadable: relaying again from the first segment is safe, see the module's docstring)."""
    try:
        segment, offset = (int(x) for x in (directory / RELAYED_FILE).read_text().split())
    except (OSError, ValueError):
        return None
    return Position(segment, offset)


def write_relayed(directory: Path, position: Position) -> None:
    temporary = directory / f"{RELAYED_FILE}.tmp"
    temporary.write_text(f"{position.segment} {position.offset}\n")
    os.replace(temporary, directory / RELAYED_FILE)


class SpoolTail:
    """Reads, from another process, the records a worker appends to its spool: only whole records whose
    checksum holds (the worker may be writing the next one at that very moment)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.position = read_relayed(directory) or Position(0, 0)
        # Everything present now may have been relayed already, by a run that stopped before it recorded so.
        self.redo_until = self.end()
        self.traces: list[str] = []  # a worker's spool keeps none: its process's spans tell its part

    def end(self) -> Position:
        numbers = segment_numbers(self.directory)
        if not numbers:
            return self.position
        last = numbers[-1]
        return Position(last, (segment_path(self.directory, last)).stat().st_size)

    def backlog_bytes(self) -> int:
        """Bytes spooled behind the relayed position."""
        total = 0
        for number in segment_numbers(self.directory):
            if number >= self.position.segment:
                try:
                    size = (segment_path(self.directory, number)).stat().st_size
                except FileNotFoundError:
                    continue
                total += size - (self.position.offset if number == self.position.segment else 0)
        return max(total, 0)

    def read(self, max_bytes: int) -> tuple[list[bytes], Position]:
        payloads: list[bytes] = []
        total = 0
        segment, offset = self.position.segment, self.position.offset
        while total < max_bytes:
            # Listed before reading: once a later segment exists, this one will not grow any more.
            numbers = segment_numbers(self.directory)
            later = [n for n in numbers if n > segment]
            if segment not in numbers:
                if not later:
                    break
                segment, offset = later[0], 0
                continue
            records, used = self._read_segment(segment, offset, max_bytes - total)
            payloads.extend(records)
            offset += used
            total += used
            if used and total >= max_bytes:
                break
            if later and offset >= (segment_path(self.directory, segment)).stat().st_size:
                segment, offset = later[0], 0
                continue
            break
        return payloads, Position(segment, offset)

    def _read_segment(self, segment: int, offset: int, budget: int) -> tuple[list[bytes], int]:
        # Checksums verified: the worker may be writing the next record at this moment, or a crash tore
        # it (the worker cuts it away when it restarts).
        return read_records(segment_path(self.directory, segment), offset, budget, verify=True)

    def release(self) -> None:
        """Delete the segments wholly behind the relayed position (the worker does so too)."""
        for number in segment_numbers(self.directory):
            if number < self.position.segment:
                (segment_path(self.directory, number)).unlink(missing_ok=True)

    def advance(self, end: Position) -> None:
        """Relayed up to ``end`` (durable in the owner's spool): recorded, then what lies behind it freed."""
        write_relayed(self.directory, end)
        self.position = end
        self.release()


class Tail(Protocol):
    """A source the relay reads: a capture worker's spool (``SpoolTail``) or the shared ingest stream
    (``ingest.stream.StreamTail``)."""

    position: Position
    redo_until: Position  # records before it may have been relayed already: de-duplicated on uuid
    traces: list[str]  # the traceparents that came with the records the last ``read`` returned

    def read(self, max_bytes: int) -> tuple[list[bytes], Position]: ...

    def backlog_bytes(self) -> int: ...

    def advance(self, end: Position) -> None: ...


class Relay:
    """One thread that moves the workers' spooled events into the owner's spool."""

    def __init__(
        self,
        *,
        sources: list[Path],
        spool: Spool,
        visits: Visits,
        max_bytes: int,
        interval_ms: int = 50,
        stream: StreamTail | None = None,
    ) -> None:
        self._sources = sources
        self._stream = stream
        self._spool = spool
        self._visits = visits
        self._max_bytes = max_bytes
        self._interval = interval_ms / 1000
        self._tails: list[Tail] = []
        self._background = Background("spool-relay", self._run)
        self._stop = self._background.stopping
        self.last_error: str | None = None

    def start(self) -> None:
        for directory in self._sources:
            directory.mkdir(parents=True, exist_ok=True)
        self._tails = [SpoolTail(d) for d in self._sources]
        if self._stream is not None:
            self._stream.start()
            self._tails.append(self._stream)
        self._background.start()

    def stop(self) -> None:
        """Stop after relaying what the workers have spooled (call once they have stopped)."""
        self._background.stop()
        if self._stream is not None:
            self._stream.buffer.close()

    def _run(self) -> None:
        delay = self._interval
        while True:
            stopping = self._stop.is_set()
            try:
                moved = self.relay_once()
                self.last_error = None
                delay = self._interval
            except SpoolFull:
                moved, delay = 0, min(max(delay * 2, 0.05), 1.0)  # the store writer is behind: wait for it
            except Exception as exc:  # a disk error: keep the events where they are and try again
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("relay.failed", error=self.last_error)
                moved, delay = 0, min(max(delay * 2, 0.1), 5.0)
            if stopping and not moved:
                return
            if not moved:
                self._stop.wait(delay)

    @property
    def backlog_bytes(self) -> int:
        return sum(tail.backlog_bytes() for tail in self._tails)

    def relay_once(self) -> int:
        """Relay what every worker spool holds now (up to ``max_bytes`` each); returns the events moved."""
        reads = []
        for tail in self._tails:
            payloads, end = tail.read(self._max_bytes)
            if payloads:
                reads.append((tail, payloads, end))
        if not reads:
            return 0
        links = tracing.link_to(t for tail, _, _ in reads for t in tail.traces)
        records = sum(len(p) for _, p, _ in reads)
        with tracing.span("relay", {"records": records}, links=links) as current:
            chunks: list[bytes] = []
            count = 0
            for tail, payloads, _ in reads:
                chunk, n = self._resolve(payloads, redo=tail.position < tail.redo_until)
                chunks.append(chunk)
                count += n
            self._spool.append_sync(b"".join(chunks))
            for tail, _, end in reads:
                tail.advance(end)
            current.set_attribute("events", count)
        return count

    def _resolve(self, payloads: list[bytes], *, redo: bool) -> tuple[bytes, int]:
        """Give each spooled event its person and visit; the rows the store writer takes. Only the small
        head of each line is parsed; the visit's fields are appended to the row's JSON as bytes."""
        apply, from_list = self._visits.apply, VisitHints.from_list
        lines: list[bytes] = []
        for head, body in records.pending(payloads):
            if head is None:
                lines.append(body)  # a row without hints (none is written today): as it is
                continue
            project_id, timestamp, hints, values = head
            visit = dict(zip(records.VISIT_FIELDS, values, strict=True))
            visit["timestamp"] = timestamp
            apply(project_id, visit, from_list(hints))
            del visit["timestamp"]
            if redo and not records.needs_dedupe(body):
                visit[CLIENT_UUID_FLAG] = True
            lines.append(records.with_fields(body, {k: v for k, v in visit.items() if v is not None}))
        return records.join(lines), len(lines)
