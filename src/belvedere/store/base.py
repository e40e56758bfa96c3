"""The event-store interface. One module per implementation (DuckDB now, ClickHouse later); one contract
test-suite runs against all of them.

A store receives batches of rows as NDJSON — the spool's shape, see ``store/schema.py`` — together with the
writer's checkpoint, and must make the rows and the checkpoint durable atomically (or, where the engine has
no transactions, idempotently), so that replaying the spool after a crash neither loses nor duplicates
events. NDJSON because both engines parse it natively and fast (DuckDB's read_json, ClickHouse's
JSONEachRow), far faster than building columns in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import orjson

from belvedere.platform.errors import Conflict

Dialect = Literal["duckdb", "clickhouse"]

# Where the writer is in its source (spool segment, offset); opaque to the store.
Checkpoint = tuple[int, int]


class QueryTimedOut(Exception):
    """A query's time limit passed while it waited for its turn or while it ran; the engine stopped it."""


class StoreInUse(Conflict):
    """The embedded store's file is held by another process (one server owns it)."""

    code = "store_in_use"


class QueryTooCostly(Exception):
    """A query needed more than its sandbox allows (memory, input or answer size); the message says which
    and what to change."""


@dataclass(frozen=True, slots=True)
class Reads:
    """What an untrusted statement reads: the tables of one project, and the column names it mentions
    (None: it may reach every column, through ``*`` or a table used as a value)."""

    project_id: int
    tables: tuple[str, ...]
    columns: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """Analytics SQL ready for one engine, with its bound values. Made only by the query layer's compiler
    (``belvedere.query.sql.compile_query``), which scopes every table to one project."""

    sql: str
    params: dict[str, Any]
    dialect: Dialect
    # A query still running after this long is cancelled (user SQL); None: no limit of its own.
    timeout_seconds: float | None = None
    # Written by a user (the sql kind): the store runs it under its sandbox's limits and settings.
    untrusted: bool = False
    # For untrusted statements: the rows they may read, which a sandboxing store copies out for them.
    reads: Reads | None = None
    # Work nobody waits for (alert evaluations): it yields its turn to any interactive query waiting.
    background: bool = False


@dataclass(frozen=True, slots=True)
class ActiveSession:
    project_id: int
    person_id: str  # whose visit: the person known when its latest event arrived
    session_id: str
    last_seen_ms: int
    # The visit's attribution: referrer_domain, channel, utm_source … utm_content (see ingest.enrich.visitor).
    source: tuple[str | None, ...] | None = None


@dataclass(frozen=True, slots=True)
class Alias:
    project_id: int
    alias: str
    person_id: str


Traits = dict[tuple[int, str], tuple[dict[str, Any], datetime]]
Links = dict[tuple[int, str], tuple[str, datetime]]


def fold_identities(rows: Iterable[tuple[int, str, str | None, datetime, str]]) -> tuple[Traits, Links]:
    """A batch's $identify and $alias events, in time order, folded into each person's merged traits and
    each alias's person — what every store then upserts set-based."""
    traits: Traits = {}
    aliases: Links = {}
    for project_id, distinct_id, properties, ts, event in rows:
        props = orjson.loads(properties) if properties else {}
        if not isinstance(props, dict):
            props = {}
        if event == "$alias":
            other = props.get("alias")
            if isinstance(other, str) and other:
                aliases[(project_id, other)] = (distinct_id, ts)
            continue
        merged, _ = traits.get((project_id, distinct_id), ({}, ts))
        merged.update(props)
        traits[(project_id, distinct_id)] = (merged, ts)
    return traits, aliases


class EventStore(Protocol):
    name: str
    location: str  # where its data is, for the logs (a file, a directory, a server's URL without password)

    def open(self) -> None:
        """Connect, create or migrate the schema."""

    def close(self) -> None: ...

    def write_batch(self, rows: bytes, *, checkpoint: Checkpoint, dedupe: bool) -> int:
        """Insert events (and apply their $identify/$alias effects) with the checkpoint; return rows added.

        With ``dedupe``, rows whose (project_id, uuid) the store already holds — within a day of their
        timestamp — are skipped, and repeats inside the batch are kept once.
        """

    def checkpoint(self) -> Checkpoint | None: ...

    def mark_pages(self) -> int:
        """Bring the visits' page marks up to date, where the store keeps them (see ``page_marks``); return
        how many visits were marked again."""

    def active_sessions(self, *, since_ms: int) -> list[ActiveSession]:
        """The latest session of each person seen since ``since_ms``, to resume visits after a restart."""

    def aliases(self) -> list[Alias]: ...

    def ping(self) -> None:
        """Raise if the store cannot answer."""

    def recent_events(
        self, *, project_id: int, limit: int, event_uuid: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest events of one project (or the one with ``event_uuid``), newest first."""

    def count_events(self, *, project_id: int) -> int: ...

    def delete_project(self, *, project_id: int) -> None:
        """Remove every event, visit, person and alias of the project (the project itself is deleted)."""
        ...

    def replace_cohort(self, *, project_id: int, cohort_id: int, people: list[str]) -> None:
        """Make ``people`` (resolved person ids, no repeats) the members of the cohort, replacing any
        before; an empty list empties it. Cached answers of the project are invalidated (watermark)."""

    dialect: Dialect

    def fetch(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        """Run a compiled analytics query; rows as tuples."""

    def fetch_table(self, query: CompiledQuery) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Like ``fetch``, with the result's column names."""

    def watermark(self, project_id: int) -> int:
        """A counter that changes whenever events of the project are committed."""
