"""The one writer that moves events from the spool into the event store.

It reads committed spool records (NDJSON) and hands them to the store in large batches together with the
spool position they reach. It flushes when enough rows wait, when the oldest has waited
``flush_interval_ms``, and at shutdown. A failing store is retried with back-off; nothing is skipped, so a
2xx is never lost.

Between batches, at most every ``MARK_EVERY_SECONDS``, it brings the visits' page marks up to date
(``store.page_marks``): until then a page breakdown counts the people concerned the slower, exact way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
import structlog

from belvedere.ingest import records
from belvedere.ingest.spool import Position, Spool
from belvedere.platform.threads import Background
from belvedere.store.base import EventStore

log = structlog.get_logger(__name__)

# Rows whose uuid came from the client (a retry may repeat it) carry this; only then is dedup needed.
BatchObserver = Callable[[int, float], None]
MARK_EVERY_SECONDS = 10.0


class StoreWriter:
    def __init__(
        self,
        *,
        spool: Spool,
        store: EventStore,
        batch_rows: int,
        flush_interval_ms: int,
        max_batch_bytes: int,
        quarantine_dir: Path,
        on_batch: BatchObserver | None = None,
        on_marks: BatchObserver | None = None,
    ) -> None:
        self._spool = spool
        self._store = store
        self._batch_rows = batch_rows
        self._interval = flush_interval_ms / 1000
        self._max_bytes = max_batch_bytes
        self._quarantine = quarantine_dir
        self._on_batch = on_batch
        self._on_marks = on_marks  # (visits written again, seconds) of each marking pass
        self._background = Background("store-writer", self._run)
        self._stop = self._background.stopping
        self.position = Position(0, 0)
        self.last_error: str | None = None
        self.rows_written = 0
        self._marked_at = time.monotonic()

    def start(self, position: Position) -> None:
        self.position = position
        self._background.start()

    def stop(self) -> None:
        self._background.stop()

    def drain(self, position: Position) -> int:
        """Write everything committed so far, synchronously (start-up replay, tests)."""
        self.position = position
        total = 0
        while True:
            payloads, end = self._spool.read(self.position, self._max_bytes)
            if not payloads:
                return total
            total += self._flush(payloads, end)

    def _run(self) -> None:
        pending: list[bytes] = []
        pending_rows = pending_bytes = 0
        first_at = 0.0
        end = self.position
        while True:
            stopping = self._stop.is_set()
            payloads, end = self._spool.read(end, self._max_bytes)
            if payloads:
                if not pending:
                    first_at = time.monotonic()
                pending.extend(payloads)
                pending_rows += sum(records.count(p) for p in payloads)
                pending_bytes += sum(len(p) for p in payloads)
            due = pending and (
                pending_rows >= self._batch_rows
                or time.monotonic() - first_at >= self._interval
                or stopping
                or pending_bytes >= self._max_bytes
            )
            if due:
                if not self._flush_with_retry(pending, end):
                    return  # stopping with the store down: the events stay in the spool for next start
                pending, pending_rows, pending_bytes = [], 0, 0
            elif stopping and not payloads:
                return
            # Between batches, also when a backlog brings one after the other (`due` every time).
            if not stopping and time.monotonic() - self._marked_at >= MARK_EVERY_SECONDS:
                self._mark_pages()
            if not due and not payloads:
                wait = self._interval - (time.monotonic() - first_at) if pending else self._interval
                self._spool.wait(end, max(wait, 0.005))

    def _mark_pages(self) -> None:
        self._marked_at = time.monotonic()
        try:
            marked = self._store.mark_pages()
        except Exception as exc:  # marks are a shortcut: queries stay exact without them
            log.warning("writer.mark_pages_failed", error=f"{type(exc).__name__}: {exc}")
            return
        seconds = time.monotonic() - self._marked_at
        if self._on_marks is not None:
            self._on_marks(marked, seconds)
        if marked:
            log.info("writer.pages_marked", visits=marked, seconds=round(seconds, 3))

    def _flush_with_retry(self, payloads: list[bytes], end: Position) -> bool:
        delay = 0.1
        while True:
            try:
                self._flush(payloads, end)
                self.last_error = None
                return True
            except Exception as exc:  # the store is down or full: keep the events and try again
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("writer.flush_failed", error=self.last_error, retry_in=delay)
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, 5.0)

    def _flush(self, payloads: list[bytes], end: Position) -> int:
        started = time.perf_counter()
        rows = b"".join(payloads)
        checkpoint = (end.segment, end.offset)
        try:
            written = self._store.write_batch(rows, checkpoint=checkpoint, dedupe=records.needs_dedupe(rows))
        except Exception:
            good = self._set_aside_unreadable(payloads)
            if len(good) == len(payloads):
                raise  # the data is fine: the store itself failed, so retry later
            rows = b"".join(good)
            written = self._store.write_batch(rows, checkpoint=checkpoint, dedupe=records.needs_dedupe(rows))
        self._spool.release(end)
        self.position = end
        self.rows_written += written
        if self._on_batch is not None:
            self._on_batch(records.count(rows), time.perf_counter() - started)
        return written

    def _set_aside_unreadable(self, payloads: list[bytes]) -> list[bytes]:
        """One record that cannot be parsed must not block the others: keep it in a quarantine file."""
        good: list[bytes] = []
        for payload in payloads:
            try:
                for line in payload.splitlines():
                    if not isinstance(orjson.loads(line), dict):
                        raise ValueError("a spool line is not a JSON object")
            except ValueError as exc:
                self._quarantine.mkdir(parents=True, exist_ok=True)
                path = self._quarantine / f"{time.time_ns()}.ndjson"
                path.write_bytes(payload)
                log.error("writer.quarantined", path=str(path), error=str(exc))
                continue
            good.append(payload)
        return good
