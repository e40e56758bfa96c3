"""The one writer that moves events from the spool into the event store.

It reads committed spool records, parses them into an Arrow table (pyarrow's C++ JSON reader: no Python
object per event), and hands the table to the store with the spool position it reaches. It flushes when
enough rows wait, when the oldest has waited ``flush_interval_ms``, and at shutdown. A failing store is
retried with back-off; nothing is skipped, so a 2xx is never lost.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import structlog

from belvedere.ingest.spool import Position, Spool
from belvedere.store.base import EventStore
from belvedere.store.schema import CLIENT_UUID_FLAG, SPOOL_SCHEMA, STORE_SCHEMA

log = structlog.get_logger(__name__)

_PARSE = pajson.ParseOptions(explicit_schema=SPOOL_SCHEMA, unexpected_field_behavior="ignore")
_READ = pajson.ReadOptions(block_size=4 << 20)


def parse_records(payloads: list[bytes]) -> tuple[pa.Table, bool]:
    """NDJSON spool records → a store-shaped table sorted by (project, time), and whether any row needs
    deduplication (its uuid came from the client)."""
    data = b"".join(payloads)
    table = pajson.read_json(io.BytesIO(data), read_options=_READ, parse_options=_PARSE)
    flags = table.column(CLIENT_UUID_FLAG)
    dedupe = bool(pc.any(flags).as_py())
    table = table.drop_columns([CLIENT_UUID_FLAG])
    table = table.set_column(
        table.schema.get_field_index("timestamp"), "timestamp", table.column("timestamp").cast(pa.timestamp("ms"))
    )
    table = table.set_column(
        table.schema.get_field_index("received_at"),
        "received_at",
        table.column("received_at").cast(pa.timestamp("ms")),
    )
    table = table.sort_by([("project_id", "ascending"), ("timestamp", "ascending")])
    return table.cast(STORE_SCHEMA), dedupe


BatchObserver = Callable[[int, float], None]


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
    ) -> None:
        self._spool = spool
        self._store = store
        self._batch_rows = batch_rows
        self._interval = flush_interval_ms / 1000
        self._max_bytes = max_batch_bytes
        self._quarantine = quarantine_dir
        self._on_batch = on_batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.position = Position(0, 0)
        self.last_error: str | None = None
        self.rows_written = 0

    def start(self, position: Position) -> None:
        self.position = position
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

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
        pending_rows = 0
        first_at = 0.0
        end = self.position
        while True:
            stopping = self._stop.is_set()
            payloads, end = self._spool.read(end, self._max_bytes)
            if payloads:
                if not pending:
                    first_at = time.monotonic()
                pending.extend(payloads)
                pending_rows += sum(p.count(b"\n") for p in payloads)
            due = pending and (
                pending_rows >= self._batch_rows
                or time.monotonic() - first_at >= self._interval
                or stopping
                or sum(len(p) for p in pending) >= self._max_bytes
            )
            if due:
                if not self._flush_with_retry(pending, end):
                    return  # stopping with the store down: the events stay in the spool for next start
                pending, pending_rows = [], 0
                continue
            if stopping and not payloads:
                return
            if not payloads:
                wait = self._interval - (time.monotonic() - first_at) if pending else self._interval
                self._spool.wait(end, max(wait, 0.005))

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
        try:
            table, dedupe = parse_records(payloads)
        except (pa.ArrowInvalid, ValueError):
            table, dedupe = self._parse_salvaging(payloads)
        written = self._store.write_batch(table, checkpoint=(end.segment, end.offset), dedupe=dedupe)
        self._spool.release(end)
        self.position = end
        self.rows_written += written
        if self._on_batch is not None:
            self._on_batch(table.num_rows, time.perf_counter() - started)
        return written

    def _parse_salvaging(self, payloads: list[bytes]) -> tuple[pa.Table, bool]:
        """One record the reader cannot parse must not block the others: set it aside in a file."""
        good: list[pa.Table] = []
        dedupe = False
        for payload in payloads:
            try:
                table, needs = parse_records([payload])
            except (pa.ArrowInvalid, ValueError) as exc:
                self._quarantine.mkdir(parents=True, exist_ok=True)
                path = self._quarantine / f"{time.time_ns()}.ndjson"
                path.write_bytes(payload)
                log.error("writer.quarantined", path=str(path), error=str(exc))
                continue
            good.append(table)
            dedupe = dedupe or needs
        if not good:
            return STORE_SCHEMA.empty_table(), False
        return pa.concat_tables(good), dedupe
