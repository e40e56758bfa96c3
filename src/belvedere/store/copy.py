"""Copying an embedded DuckDB store into ClickHouse (``belvedere migrate-store --to clickhouse``).

The events are read from the DuckDB file (opened read-only: the server must be stopped) one project and UTC
day at a time, in time order, as the spool's rows, and written through the ClickHouse store's own
``write_batch`` — so persons and alias links are folded from the copied ``$identify`` and ``$alias`` events
exactly as the writer folds them, and visits follow from the events. The days copied are recorded in a
progress file: a copy stopped halfway starts again after the last whole day, and the day it was in the
middle of is written with de-duplication by event uuid, so nothing is copied twice. Then the number of
events of each project and day is compared on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from belvedere.store.base import Checkpoint
from belvedere.store.clickhouse import ClickHouseEventStore
from belvedere.store.schema import EVENT_COLUMNS

# Each column as the spool's JSON has it (what ``write_batch`` reads): times as epoch milliseconds, uuids
# and JSON as text.
_AS_SPOOL = {"uuid": "CAST({} AS VARCHAR)", "timestamp": "epoch_ms({})", "json": "CAST({} AS VARCHAR)"}
_ROW_JSON = (
    "to_json({"
    + ", ".join(f"'{c.name}': " + _AS_SPOOL.get(c.kind, "{}").format(c.name) for c in EVENT_COLUMNS)
    + "})"
)


@dataclass(frozen=True)
class Day:
    project_id: int
    day: date
    events: int

    @property
    def key(self) -> str:
        return f"{self.project_id}/{self.day.isoformat()}"


@dataclass(frozen=True)
class Mismatch:
    project_id: int
    day: date
    source: int
    target: int


class Source:
    """A DuckDB store's events, read through ``con`` (``Source.open``: the file, read-only)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    @classmethod
    def open(cls, path: Path) -> Source:
        return cls(duckdb.connect(str(path), read_only=True))

    def close(self) -> None:
        self._con.close()

    def days(self) -> list[Day]:
        rows = self._con.execute(
            "SELECT project_id, CAST(timestamp AS DATE), count(*) FROM events GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        return [Day(int(p), d, int(n)) for p, d, n in rows]

    def checkpoint(self) -> Checkpoint | None:
        row = self._con.execute("SELECT segment, position FROM ingest_checkpoint WHERE id = 1").fetchone()
        return (int(row[0]), int(row[1])) if row and row[0] is not None else None

    def rows(self, day: Day, batch_rows: int) -> Iterator[bytes]:
        """The day's events in time order, as NDJSON of at most ``batch_rows`` rows each."""
        start = datetime.combine(day.day, datetime.min.time())
        cursor = self._con.execute(
            f"SELECT {_ROW_JSON} FROM events WHERE project_id = ? AND timestamp >= ? AND timestamp < ?"
            " ORDER BY timestamp, uuid",
            [day.project_id, start, start + timedelta(days=1)],
        )
        while chunk := cursor.fetchmany(batch_rows):
            yield "\n".join(line for (line,) in chunk).encode() + b"\n"


class Progress:
    """The days already copied, kept in a JSON file beside the data (written after each day)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: set[str] = set(json.loads(path.read_text())["done"]) if path.exists() else set()

    def mark(self, day: Day) -> None:
        self.done.add(day.key)
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps({"done": sorted(self.done)}))
        scratch.replace(self.path)


def copy_days(
    source: Source,
    target: ClickHouseEventStore,
    progress: Progress,
    *,
    batch_rows: int = 50_000,
    on_day: Callable[[Day], None] | None = None,
) -> int:
    """Copy every day not yet in ``progress``; returns how many events were written now. The days copied
    before are skipped; the first day copied now may have been copied in part by a run stopped inside it
    (even the very first day, before any was recorded), so it is de-duplicated."""
    checkpoint = source.checkpoint() or (0, 0)
    written, resumed = 0, True
    for day in source.days():
        if day.key in progress.done:
            continue
        for rows in source.rows(day, batch_rows):
            written += target.write_batch(rows, checkpoint=checkpoint, dedupe=resumed)
        resumed = False
        progress.mark(day)
        if on_day is not None:
            on_day(day)
    return written


def compare(source: Source, target: ClickHouseEventStore) -> list[Mismatch]:
    """The (project, UTC day) whose event counts differ between the two stores."""
    theirs: dict[tuple[int, date], int] = {
        (int(p), _as_date(d)): int(n)
        for p, d, n in target.execute(
            "SELECT project_id, toDate(timestamp), count() FROM events GROUP BY ALL ORDER BY ALL"
        )
    }
    ours = {(d.project_id, d.day): d.events for d in source.days()}
    return [
        Mismatch(p, d, ours.get((p, d), 0), theirs.get((p, d), 0))
        for p, d in sorted(ours.keys() | theirs.keys())
        if ours.get((p, d), 0) != theirs.get((p, d), 0)
    ]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
