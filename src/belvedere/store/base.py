"""The event-store interface. One module per implementation (DuckDB now, ClickHouse later); one contract
test-suite runs against all of them.

A store receives batches of rows as NDJSON — the spool's shape, see ``store/schema.py`` — together with the
writer's checkpoint, and must make the rows and the checkpoint durable atomically (or, where the engine has
no transactions, idempotently), so that replaying the spool after a crash neither loses nor duplicates
events. NDJSON because both engines parse it natively and fast (DuckDB's read_json, ClickHouse's
JSONEachRow), far faster than building columns in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# Where the writer is in its source (spool segment, offset); opaque to the store.
Checkpoint = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ActiveSession:
    project_id: int
    distinct_id: str
    session_id: str
    last_seen_ms: int
    # The visit's attribution: referrer_domain, channel, utm_source … utm_content (see ingest.enrich.visitor).
    source: tuple[str | None, ...] | None = None


@dataclass(frozen=True, slots=True)
class Alias:
    project_id: int
    alias: str
    person_id: str


class EventStore(Protocol):
    name: str

    def open(self) -> None:
        """Connect, create or migrate the schema."""

    def close(self) -> None: ...

    def write_batch(self, rows: bytes, *, checkpoint: Checkpoint, dedupe: bool) -> int:
        """Insert events (and apply their $identify/$alias effects) with the checkpoint; return rows added.

        With ``dedupe``, rows whose (project_id, uuid) the store already holds — within a day of their
        timestamp — are skipped, and repeats inside the batch are kept once.
        """

    def checkpoint(self) -> Checkpoint | None: ...

    def active_sessions(self, *, since_ms: int) -> list[ActiveSession]:
        """The latest session of each visitor seen since ``since_ms``, to resume sessions after a restart."""

    def aliases(self) -> list[Alias]: ...

    def ping(self) -> None:
        """Raise if the store cannot answer."""

    def recent_events(
        self, *, project_id: int, limit: int, event_uuid: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest events of one project (or the one with ``event_uuid``), newest first."""

    def count_events(self, *, project_id: int) -> int: ...
