"""The ClickHouse event store, same contract as DuckDB's, through clickhouse-connect: a ClickHouse server
over HTTP (``http://user:password@host:8123/database``), or ClickHouse embedded in this process by chDB
(``chdb:///path``, clickhouse-connect's in-process backend; the default, in the data directory). The same
statements and the same client calls run on both.

clickhouse-connect and chdb are optional dependencies (``pip install belvedere[clickhouse]``): they are
imported when a store opens, never when this module is imported.

- ``events`` is a MergeTree ordered by (project_id, timestamp), its DDL generated from ``EVENT_COLUMNS``;
  timestamps are ``DateTime64(3, 'UTC')`` and the session runs in UTC, so values print and compare as the
  naive UTC the DuckDB store holds.
- ``persons`` and ``person_aliases`` are views over ReplacingMergeTree tables read ``FINAL``: the compiler
  scopes them like any table, and a query never sees a superseded version of a row.
- NDJSON batches are sent as the body of an insert (JSONEachRow) into a staging table of the spool's JSON
  types (nothing goes through a file, so a remote server reads them as well), turned into the stored
  types in a second staging table, and moved from there into ``events`` by one INSERT … SELECT.
- ClickHouse has no multi-statement transactions. The checkpoint row records the batch in flight before
  its events are inserted and the batch as committed after; a store reopened with a batch still in flight
  deduplicates the replayed batches up to that point, so a crash neither loses nor duplicates events.
- ``fetch`` returns rows with the Python types DuckDB returns for the same SQL (naive datetimes, ints,
  floats, str, None, lists): results come back as JSONCompact, converted by ``clickhouse_wire``.
- Aggregates of no rows are NULL as in standard SQL (``aggregate_functions_null_for_empty``), and outer
  joins fill with NULL (``join_use_nulls``), as DuckDB does.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from belvedere.store.base import (
    ActiveSession,
    Alias,
    Checkpoint,
    CompiledQuery,
    Dialect,
    QueryTimedOut,
    fold_identities,
)
from belvedere.store.clickhouse_wire import Convert, param_text, result_rows, text_time
from belvedere.store.migrations import versions
from belvedere.store.schema import COLUMN_NAMES, EVENT_COLUMNS, SOURCE_COLUMNS

_CH_TYPES = {
    "uuid": "UUID",
    "int": "Int64",
    "timestamp": "DateTime64(3, 'UTC')",
    "string": "String",
    "json": "String",
    "float": "Float64",
}


def _column_type(kind: str, nullable: bool) -> str:
    base = _CH_TYPES[kind]
    # An absent properties object is stored as '' (the JSON functions read it as an empty object).
    if kind == "json":
        return f"{base} DEFAULT ''"
    return f"Nullable({base})" if nullable else base


def _events_ddl(name: str, engine: str) -> str:
    cols = ",\n  ".join(f"{c.name} {_column_type(c.kind, c.nullable)}" for c in EVENT_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}\n) ENGINE = {engine}"


MIGRATIONS = versions("clickhouse")  # the released versions, frozen (store/migrations/clickhouse/)

# Settings every statement runs with: UTC, DuckDB's (standard SQL's) NULL semantics, and CTEs
# written `AS MATERIALIZED` computed once (ClickHouse otherwise inlines each use: the page breakdown, whose
# visit rows feed two groupings, spent ~0.8 s planning on an empty store, 0.4 s with it; still an
# experimental setting in ClickHouse 26, checked by the property suites against their references).
_SESSION_SETTINGS = {
    "session_timezone": "UTC",
    "aggregate_functions_null_for_empty": "1",
    "join_use_nulls": "1",
    "output_format_json_quote_64bit_integers": "1",
    "output_format_json_quote_denormals": "1",
    "output_format_json_quote_decimals": "1",
    "output_format_json_named_tuples_as_objects": "1",
    "input_format_skip_unknown_fields": "1",
    "enable_materialized_cte": "1",
}

_COLS = ", ".join(COLUMN_NAMES)
# How each column is read from the spool's JSON, and turned into its stored type.
_JSON_TYPES = {
    "uuid": "String",
    "int": "Int64",
    "timestamp": "Int64",
    "string": "Nullable(String)",
    "json": "Nullable(String)",
    "float": "Nullable(Float64)",
}
_FROM_JSON = {
    "uuid": "toUUID({})",
    "timestamp": "fromUnixTimestamp64Milli({}, 'UTC')",
    "json": "ifNull({}, '')",
}
_STRUCTURE = ", ".join(f"{c.name} {_JSON_TYPES[c.kind]}" for c in EVENT_COLUMNS)
_SELECT_TYPED = ", ".join(
    _FROM_JSON.get(c.kind, "{}").format(c.name) + f" AS {c.name}" for c in EVENT_COLUMNS
)
# Statements that answer rows (anything else runs as a command and answers none).
_READS = re.compile(r"\s*(SELECT|WITH|SHOW|DESCRIBE|EXPLAIN)\b", re.IGNORECASE)
_STAGING = "events_batch"
_ARRIVED = "events_arrived"  # the batch as the spool's JSON has it, before its values are typed
_INSERT = f"INSERT INTO events ({_COLS}) SELECT {_COLS} FROM {_STAGING}"
# A retried event carries the uuid of its first copy: skip what the store already holds within a day of
# the batch's time range, and keep one of several copies inside the batch (the first received).
_DEDUPED = (
    f"SELECT {_COLS} FROM {_STAGING}"
    " WHERE (project_id, uuid) NOT IN (SELECT project_id, uuid FROM events"
    f" WHERE project_id IN (SELECT project_id FROM {_STAGING})"
    f" AND timestamp BETWEEN (SELECT min(timestamp) FROM {_STAGING}) - INTERVAL 1 DAY"
    f" AND (SELECT max(timestamp) FROM {_STAGING}) + INTERVAL 1 DAY)"
    " ORDER BY project_id, uuid, received_at LIMIT 1 BY project_id, uuid"
)
_INSERT_DEDUPED = f"INSERT INTO events ({_COLS}) {_DEDUPED}"


# What user SQL runs under besides read-only mode and its memory bound: no introspection functions, no
# dictionaries or external tables, and no distributed or remote reads.
_SANDBOX_SETTINGS = {
    "allow_introspection_functions": "0",
    "allow_ddl": "0",
    "max_result_rows": "100000",
    "result_overflow_mode": "'throw'",
}


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class _Bound:
    """A value already in the text a ``{name:Type}`` placeholder parses (``param_text``): clickhouse-connect
    sends what ``str`` gives for a type it does not know, unchanged (its own formatting drops a datetime's
    milliseconds)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class ClickHouseEventStore:
    name = "clickhouse"
    dialect: Dialect = "clickhouse"

    def __init__(
        self, path: Path, *, url: str | None = None, sandbox_memory_bytes: int = 512 * 1024 * 1024
    ) -> None:
        """``url`` is a ClickHouse server's (``http://user:password@host:8123/database``) or an embedded
        database's (``chdb:///directory``); without one, the store is embedded in the directory ``path``.
        chDB runs one database per process: only one embedded store can be open at a time. User SQL may use
        ``sandbox_memory_bytes`` at most (ClickHouse counts every allocation of a query and stops it past
        its ``max_memory_usage``)."""
        self.path = path
        self.url = url or f"chdb://{path.resolve()}"
        self.location = _without_password(self.url)
        self.sandbox_memory_bytes = sandbox_memory_bytes
        self._client: Any = None
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()  # one statement at a time (see _query)
        self._watermarks: dict[int, int] = {}
        self._version = 0
        # Set when the store was left with a batch in flight: replays are deduplicated until past it.
        self._replay_until: Checkpoint | None = None
        self._committed: Checkpoint | None = None

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        try:
            # Through importlib: clickhouse-connect (and chdb) are optional.
            connect = importlib.import_module("clickhouse_connect")
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "the ClickHouse event store needs clickhouse-connect: pip install 'belvedere[clickhouse]'"
            ) from exc
        if self.url.startswith("chdb://"):
            self.path.mkdir(parents=True, exist_ok=True)
        self._client = connect.get_client(dsn=self.url, settings=_SESSION_SETTINGS)
        try:
            self._prepare()
        except BaseException:
            self.close()  # chdb holds one database per process: release it for the next open
            raise

    def _prepare(self) -> None:
        self._migrate()
        for table in (_STAGING, _ARRIVED):
            self._query(f"DROP TABLE IF EXISTS {table}")
        self._query(_events_ddl(_STAGING, "Memory"))
        self._query(f"CREATE TABLE {_ARRIVED} ({_STRUCTURE}) ENGINE = Memory")
        # Row versions only grow, even if the clock went back since the last run.
        tables = ("persons_state", "person_aliases_state", "ingest_checkpoint")
        latest = ", ".join(f"ifNull((SELECT max(version) FROM {t}), 0)" for t in tables)
        self._version = int(self.execute(f"SELECT greatest({latest})")[0][0])
        row = self._checkpoint_row()
        self._committed = (int(row[0]), int(row[1])) if row and row[0] is not None else None
        if row is not None and row[2] is not None and self._committed != (row[2], row[3]):
            self._replay_until = (int(row[2]), int(row[3]))

    def _migrate(self) -> None:
        self._query(
            "CREATE TABLE IF NOT EXISTS store_schema (version UInt32) ENGINE = MergeTree ORDER BY version"
        )
        rows = self.execute("SELECT max(version) FROM store_schema")
        current = rows[0][0] if rows and rows[0][0] is not None else 0
        for version, statements in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            for statement in statements:  # each is idempotent: a crash here is repaired by the next open
                self._query(statement)
            self._query("INSERT INTO store_schema VALUES ({v:UInt32})", {"v": version})

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def ping(self) -> None:
        self._query("SELECT 1")

    # ------------------------------------------------------------------ low level

    def _query(self, sql: str, params: dict[str, Any] | None = None, fmt: str | None = None) -> bytes:
        """One statement: a query's output in ``fmt``, or nothing (``fmt`` None: DDL or a write)."""
        if self._client is None:
            raise RuntimeError("event store is not open")
        bound = {name: _Bound(param_text(value)) for name, value in (params or {}).items()} or None
        with self._lock:
            try:
                if fmt is None:
                    self._client.command(sql, parameters=bound)
                    return b""
                return bytes(self._client.raw_query(sql, parameters=bound, fmt=fmt))
            except Exception:
                if self.url.startswith("chdb://"):
                    # chDB 4.4 keeps the output a query wrote before failing and hands it out ahead of the
                    # next query's: drain it with a throw-away query while no other thread can run one.
                    with contextlib.suppress(Exception):
                        self._client.raw_query("SELECT 1", fmt="CSV")
                raise

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a statement built by Belvedere's own code (tests, the query layer). Never user SQL text.
        Values are bound as ``{name:Type}`` placeholders. A query's rows; none for another statement."""
        if not _READS.match(sql):
            self._query(sql, params)
            return []
        return self._table(sql, params)[1]

    def _table(self, sql: str, params: dict[str, Any] | None) -> tuple[list[str], list[tuple[Any, ...]]]:
        body = self._query(sql, params, "JSONCompact")
        if not body:
            return [], []
        result = orjson.loads(body)
        return [column["name"] for column in result.get("meta", [])], result_rows(result)

    def _next_version(self) -> int:
        self._version = max(self._version + 1, time.time_ns())
        return self._version

    # ------------------------------------------------------------------ writing

    def write_batch(self, rows: bytes, *, checkpoint: Checkpoint, dedupe: bool) -> int:
        """Rows arrive as NDJSON (the spool's shape), sent as they are to ClickHouse's JSONEachRow reader
        (the staging tables are emptied after each batch, and created empty by ``open``)."""
        assert self._client is not None, "event store is not open"
        with self._write_lock:
            replaying = self._replay_until is not None
            try:
                with self._lock:
                    self._client.raw_insert(_ARRIVED, insert_block=rows, fmt="JSONEachRow")
                self._query(f"INSERT INTO {_STAGING} ({_COLS}) SELECT {_SELECT_TYPED} FROM {_ARRIVED}")
                self._write_checkpoint(self._committed, pending=checkpoint)
                per_project = self.execute(f"SELECT project_id, count() FROM {_STAGING} GROUP BY project_id")
                inserted = sum(int(n) for _, n in per_project)
                if dedupe or replaying:
                    # What the insert keeps, counted first: the embedded engine reports no written rows.
                    inserted = int(self.execute(f"SELECT count() FROM ({_DEDUPED})")[0][0])
                    self._query(_INSERT_DEDUPED)
                else:
                    self._query(_INSERT)
                if b"identify" in rows or b"alias" in rows:  # a cheap test before looking for them
                    self._apply_identities()
                self._write_checkpoint(checkpoint, pending=checkpoint)
                self._committed = checkpoint
                touched = [int(p) for p, _ in per_project]
            finally:
                self._query(f"TRUNCATE TABLE {_STAGING}")
                self._query(f"TRUNCATE TABLE {_ARRIVED}")
            if self._replay_until is not None and checkpoint >= self._replay_until:
                self._replay_until = None
            for project_id in touched:
                self._watermarks[project_id] = self._watermarks.get(project_id, 0) + 1
            return inserted

    def _write_checkpoint(self, committed: Checkpoint | None, *, pending: Checkpoint) -> None:
        self._query(
            "INSERT INTO ingest_checkpoint VALUES (1, {s:Nullable(Int64)}, {p:Nullable(Int64)},"
            " {ps:Int64}, {pp:Int64}, {v:UInt64})",
            {
                "s": committed[0] if committed else None,
                "p": committed[1] if committed else None,
                "ps": pending[0],
                "pp": pending[1],
                "v": self._next_version(),
            },
        )

    def _checkpoint_row(self) -> tuple[Any, ...] | None:
        rows = self.execute(
            "SELECT segment, position, pending_segment, pending_position FROM ingest_checkpoint FINAL"
            " WHERE id = 1"
        )
        return rows[0] if rows else None

    def _apply_identities(self) -> None:
        """Fold the batch's $identify traits into ``persons`` and its $alias links into ``person_aliases``:
        merged in Python with the current state, written as new versions of the rows."""
        rows = self.execute(
            f"SELECT project_id, distinct_id, properties, timestamp, event FROM {_STAGING}"
            " WHERE event IN ('$identify', '$alias') AND distinct_id IS NOT NULL ORDER BY timestamp"
        )
        if not rows:
            return
        traits, aliases = fold_identities(rows)
        if traits:
            self._upsert_persons(traits)
        if aliases:
            version = self._next_version()
            lines = b"".join(
                orjson.dumps(
                    {
                        "project_id": project_id,
                        "alias": alias,
                        "person_id": person,
                        "created_at": text_time(ts),
                        "version": version,
                    }
                )
                + b"\n"
                for (project_id, alias), (person, ts) in aliases.items()
            )
            self._insert_json("person_aliases_state", lines)

    def _upsert_persons(self, traits: dict[tuple[int, str], tuple[dict[str, Any], datetime]]) -> None:
        keys = list(traits)
        existing = {
            (p, d): (props, created, updated)
            for p, d, props, created, updated in self.execute(
                "SELECT project_id, distinct_id, properties, created_at, updated_at FROM persons"
                " WHERE (project_id, distinct_id) IN {keys:Array(Tuple(Int64, String))}",
                {"keys": keys},
            )
        }
        version = self._next_version()
        lines = []
        for key, (new, seen) in traits.items():
            merged, created, updated = new, seen, seen
            if key in existing:
                props, created, updated = existing[key]
                old = orjson.loads(props) if props else None
                merged = _merge_patch(old, new) if isinstance(old, dict) else new
            lines.append(
                orjson.dumps(
                    {
                        "project_id": key[0],
                        "distinct_id": key[1],
                        "properties": orjson.dumps(merged).decode(),
                        "created_at": text_time(created),
                        "updated_at": text_time(max(updated, seen)),
                        "version": version,
                    }
                )
                + b"\n"
            )
        self._insert_json("persons_state", b"".join(lines))

    def _insert_json(self, table: str, lines: bytes) -> None:
        assert self._client is not None, "event store is not open"
        with self._lock:
            self._client.raw_insert(table, insert_block=lines, fmt="JSONEachRow")

    def mark_pages(self) -> int:
        """No page marks here: the `visits` view reads every visit as unmarked (store version 5)."""
        return 0

    def checkpoint(self) -> Checkpoint | None:
        return self._committed

    # ------------------------------------------------------------------ reading

    def active_sessions(self, *, since_ms: int) -> list[ActiveSession]:
        source = ", ".join(f"argMax({name}, timestamp)" for name in SOURCE_COLUMNS)
        sql = (
            "SELECT project_id, person_id, argMax(session_id, timestamp),"
            f" toUnixTimestamp64Milli(max(timestamp)), {source} FROM events"
            " WHERE timestamp >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND session_id IS NOT NULL"
            " AND person_id IS NOT NULL GROUP BY project_id, person_id"
        )
        rows = self.execute(sql, {"since": since_ms})
        return [
            ActiveSession(p, d, s, int(ms), tuple(src) if src[1] is not None else None)
            for p, d, s, ms, *src in rows
        ]

    def aliases(self) -> list[Alias]:
        rows = self.execute("SELECT project_id, alias, person_id FROM person_aliases")
        return [Alias(p, a, person) for p, a, person in rows]

    def recent_events(
        self, *, project_id: int, limit: int, event_uuid: str | None = None
    ) -> list[dict[str, Any]]:
        sql = f"SELECT {_COLS} FROM events WHERE project_id = {{project:Int64}}"
        params: dict[str, Any] = {"project": project_id, "limit": limit}
        if event_uuid is not None:
            sql += " AND uuid = toUUIDOrNull({uuid:String})"
            params["uuid"] = event_uuid
        sql += " ORDER BY timestamp DESC LIMIT {limit:UInt64}"
        return [_jsonable(dict(zip(COLUMN_NAMES, row, strict=True))) for row in self.execute(sql, params)]

    def count_events(self, *, project_id: int) -> int:
        rows = self.execute("SELECT count() FROM events WHERE project_id = {p:Int64}", {"p": project_id})
        return int(rows[0][0]) if rows else 0

    def delete_project(self, *, project_id: int) -> None:
        for table in ("events", "persons_state", "person_aliases_state", "remark_people", "cohort_members"):
            self.execute(f"DELETE FROM {table} WHERE project_id = {{p:Int64}}", {"p": project_id})
        self._watermarks[project_id] = self._watermarks.get(project_id, 0) + 1

    def replace_cohort(self, *, project_id: int, cohort_id: int, people: list[str]) -> None:
        """Members are deleted, then inserted: a query in between sees the cohort empty (no transactions
        here); the write lock keeps two computations of one cohort from interleaving."""
        with self._write_lock:
            self.execute(
                "DELETE FROM cohort_members WHERE project_id = {p:Int64} AND cohort_id = {c:Int64}",
                {"p": project_id, "c": cohort_id},
            )
            if people:
                lines = b"".join(
                    orjson.dumps({"project_id": project_id, "cohort_id": cohort_id, "person_id": person})
                    + b"\n"
                    for person in people
                )
                self._insert_json("cohort_members", lines)
        self._watermarks[project_id] = self._watermarks.get(project_id, 0) + 1

    def fetch(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        """Run a query from the scoping compiler (the only way analytics SQL reaches the store)."""
        return self.fetch_table(query)[1]

    def fetch_table(self, query: CompiledQuery) -> tuple[list[str], list[tuple[Any, ...]]]:
        if query.dialect != self.dialect:
            raise ValueError(f"a {query.dialect} query cannot run on ClickHouse")
        settings: dict[str, str] = {}
        if query.timeout_seconds is not None:
            # ClickHouse checks the limit as the query runs, and cancels it with TIMEOUT_EXCEEDED.
            settings["max_execution_time"] = repr(float(query.timeout_seconds))
        if query.untrusted:
            settings.update(_SANDBOX_SETTINGS)
            settings["max_memory_usage"] = str(self.sandbox_memory_bytes)
            # Last: once read-only, the query may change no setting (nor call a table function such as
            # file() or url(), nor write).
            settings["readonly"] = "1"
        sql = query.sql
        if settings:
            sql += " SETTINGS " + ", ".join(f"{name} = {value}" for name, value in settings.items())
        try:
            return self._table(sql, query.params)
        except Exception as exc:
            if "TIMEOUT_EXCEEDED" in str(exc):
                raise QueryTimedOut(f"stopped after {query.timeout_seconds:g} s") from None
            raise

    def watermark(self, project_id: int) -> int:
        """Bumped whenever events of the project are committed; cached query results key on it."""
        return self._watermarks.get(project_id, 0)


def _merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396, as DuckDB's json_merge_patch: null removes a key, objects merge recursively."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


_CONVERT: dict[str, Convert] = {
    "uuid": str,
    "timestamp": _iso,
    "json": lambda v: orjson.loads(v) if v else None,
}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    for column in EVENT_COLUMNS:
        value = row[column.name]
        convert = _CONVERT.get(column.kind)
        if value is not None and convert is not None:
            row[column.name] = convert(value)
    return row
