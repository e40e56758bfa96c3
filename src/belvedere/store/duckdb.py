"""The embedded event store: one DuckDB file, owned by the server process.

Rows are loaded in batches sorted by (project_id, timestamp), so DuckDB's per-row-group min/max indexes
let a query on one project's time range skip the rest. The writer's checkpoint lives in the same file and is
updated in the same transaction as the rows it covers: a crash leaves both or neither.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.json as pa_json

from belvedere.store import page_marks, person_hours
from belvedere.store.base import (
    ActiveSession,
    Alias,
    Checkpoint,
    CompiledQuery,
    Dialect,
    QueryTimedOut,
    QueryTooCostly,
    StoreInUse,
    fold_identities,
)
from belvedere.store.migrations import versions
from belvedere.store.sandbox import LOCKED_DOWN, MAX_ANSWER_BYTES
from belvedere.store.sandbox.export import InputTooLarge, export, table_columns
from belvedere.store.sandbox.pool import CpuPriority, SandboxFailed, SqlSandbox
from belvedere.store.schema import COLUMN_NAMES, EVENT_COLUMNS, SOURCE_COLUMNS
from belvedere.store.turns import Turns
from belvedere.store.visits_sql import UPSERT_VISITS

# The schema's released versions, frozen as SQL files (store/migrations/duckdb/).
MIGRATIONS = versions("duckdb")

_COLS = ", ".join(COLUMN_NAMES)
# How each column is read from the spool's JSON, and turned into its stored type.
_ARROW_TYPES = {
    "uuid": pa.large_string(),
    "int": pa.int64(),
    "timestamp": pa.int64(),
    "string": pa.large_string(),
    "json": pa.large_string(),
    "float": pa.float64(),
}
_FROM_JSON = {"uuid": "CAST({} AS UUID)", "timestamp": "epoch_ms({})", "json": "CAST({} AS JSON)"}
# Keys of the spool's rows that are not columns (``_client_uuid``) are skipped.
_ARROW_SCHEMA = pa.schema([(c.name, _ARROW_TYPES[c.kind]) for c in EVENT_COLUMNS])
_PARSE = pa_json.ParseOptions(explicit_schema=_ARROW_SCHEMA, unexpected_field_behavior="ignore")
# Parsed in blocks of 1 MiB on several threads: a 20,000-event batch in ~35 ms, as fast as DuckDB's own
# reader took with the bytes in a file (large strings convert to DuckDB's VARCHAR a little faster).
_READ = pa_json.ReadOptions(block_size=1 << 20, use_threads=True)
_SELECT_TYPED = ", ".join(
    _FROM_JSON.get(c.kind, "{}").format(c.name) + f" AS {c.name}" for c in EVENT_COLUMNS
)
_LOAD_BATCH = f"CREATE TEMP TABLE batch AS SELECT {_SELECT_TYPED} FROM arrived ORDER BY project_id, timestamp"
_INSERT = f"INSERT INTO events ({_COLS}) SELECT {_COLS} FROM fresh"
# A retried event carries the uuid of its first copy: skip what the store already holds within a day of
# the batch's time range, and keep one of several copies inside the batch.
_FRESH = "CREATE TEMP VIEW fresh AS SELECT * FROM batch"
_FRESH_DEDUPED = (
    "CREATE TEMP TABLE fresh AS SELECT * FROM batch b"
    " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = b.project_id AND e.uuid = b.uuid"
    " AND e.timestamp BETWEEN (SELECT min(timestamp) FROM batch) - INTERVAL 1 DAY"
    " AND (SELECT max(timestamp) FROM batch) + INTERVAL 1 DAY)"
    " QUALIFY row_number() OVER (PARTITION BY b.project_id, b.uuid ORDER BY b.received_at) = 1"
    " ORDER BY project_id, timestamp"
)
# The batch's folded identities arrive as one list parameter per column, zipped by unnest: set-based, in
# one statement whatever their number (row-by-row `executemany` cost a second per batch).
_UPSERT_PERSONS = (
    "INSERT INTO persons SELECT unnest($project), unnest($distinct), unnest($traits), unnest($seen),"
    " unnest($seen)"
    " ON CONFLICT (project_id, distinct_id) DO UPDATE SET"
    " properties = json_merge_patch(persons.properties, excluded.properties),"
    " updated_at = greatest(persons.updated_at, excluded.updated_at)"
)
_UPSERT_ALIASES = (
    "INSERT OR REPLACE INTO person_aliases"
    " SELECT unnest($project), unnest($alias), unnest($person), unnest($created)"
)


# The database reaches nothing outside its own file and temporary folder: no files, URLs or other databases
# (``read_*``, ``COPY``, ``ATTACH``, replacement scans of paths), no extension installed or loaded, and no
# setting changed once open. The sandbox's allowlists stop user SQL first; this holds if they ever fail.


# Versions whose new tables are filled from the stored data by code, after their statements.
_FILLS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {7: person_hours.fill}

# Every table that holds a project's rows (what deleting a project empties).
_PROJECT_TABLES = (
    "events",
    "visits",
    "persons",
    "person_aliases",
    "remark_people",
    "id_hours",
    "person_hours",
    "cohort_members",
)

# How long ``close`` waits for queries that began before it to end.
_CLOSE_WAIT_SECONDS = 30.0

# User SQL always has a deadline: this one when it brings none of its own.
_SQL_TIME_LIMIT = 60.0


class DuckDBEventStore:
    name = "duckdb"
    dialect: Dialect = "duckdb"

    def __init__(
        self,
        path: Path,
        *,
        memory_limit: str = "1GB",
        threads: int = 2,
        checkpoint_threshold: str = "32MB",
        max_concurrent_queries: int = 1,
        max_sql_queries: int = 1,
        sql_memory_bytes: int = 512 << 20,
        sql_input_bytes: int = 2048 << 20,
        sql_cpu_priority: CpuPriority = "idle",
    ) -> None:
        self.path = path
        self.location = str(path)
        # Queries take turns: one already spreads over every thread, and on a small machine several at once
        # mostly fight over cores and memory (an overview's five panels at 10 M events: 9.0 s at once,
        # 5.3 s in turn, measured by bench/dashboard.py).
        # Background queries running now: an interactive query that must wait for a turn interrupts them.
        self._yielding: set[duckdb.DuckDBPyConnection] = set()
        self._yielding_lock = threading.Lock()
        self._turns = Turns(max_concurrent_queries, preempt=self._preempt)
        self._sql_turns = Turns(max_sql_queries)
        # Writing a batch and marking pages change the same visits: one at a time.
        self._writing = threading.Lock()
        self._seen_hours = person_hours.SeenHours()  # changed under ``_writing``
        self._config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            "threads": threads,
            "checkpoint_threshold": checkpoint_threshold,
            **LOCKED_DOWN,
        }
        self._db: duckdb.DuckDBPyConnection | None = None
        self._opening = threading.Lock()  # making a thread's cursor, or closing (``close``)
        self._local = threading.local()
        self._watermarks: dict[int, int] = {}
        # User SQL runs in worker processes, over copies of its project's rows written here.
        self._sandbox = SqlSandbox(
            path.parent / "sandbox", memory_bytes=sql_memory_bytes, priority=sql_cpu_priority
        )
        self._sql_input_bytes = sql_input_bytes
        self._schemas: dict[str, list[tuple[str, str]]] = {}

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = duckdb.connect(str(self.path), config=self._config)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():  # DuckDB tells a held lock only in its message
                raise
            raise StoreInUse(
                f"The event store {self.path} is in use by another process: is a server already running?"
            ) from exc
        self._migrate(self._db)
        shutil.rmtree(self._sandbox.directory, ignore_errors=True)  # copies a crash left behind
        self._sandbox.directory.mkdir(exist_ok=True)  # exists still only if it could not be emptied
        self._sandbox.directory.chmod(0o700)

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS store_schema (version INTEGER NOT NULL)")
        row = con.execute("SELECT max(version) FROM store_schema").fetchone()
        current = row[0] if row and row[0] is not None else 0
        for version, statements in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            con.begin()
            for statement in statements:
                con.execute(statement)
            if version in _FILLS:
                _FILLS[version](con)
            con.execute("INSERT INTO store_schema VALUES (?)", [version])
            con.commit()

    def close(self) -> None:
        self._sandbox.close()
        # Under the lock that cursors are made under: DuckDB refuses to close a connection that another
        # thread is making a cursor of ("busy with another call"), as a query starting during shutdown does.
        with self._opening:
            db, self._db = self._db, None
        if db is None:
            return
        # A query still running on one of its connections (one that began before the close, on another
        # thread) keeps it busy too: no new one can begin now, so wait for those to end, within a bound.
        deadline = time.monotonic() + _CLOSE_WAIT_SECONDS
        while True:
            try:
                db.close()
                return
            except duckdb.ResourceInUseException:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of this thread's own: DuckDB connections must not be shared across threads."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        db = self._db
        if cursor is None or getattr(self._local, "db", None) is not db:
            cursor = self._new_cursor()
            self._local.cursor, self._local.db = cursor, db
        return cursor

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the database: made under the lock ``close`` takes (see there)."""
        with self._opening:
            if self._db is None:
                raise RuntimeError("event store is not open")
            return self._db.cursor()

    def ping(self) -> None:
        self._cursor().execute("SELECT 1").fetchone()

    # ------------------------------------------------------------------ writing

    def write_batch(self, rows: bytes, *, checkpoint: Checkpoint, dedupe: bool) -> int:
        """Rows arrive as NDJSON (the spool's shape), parsed by Arrow's JSON reader in memory and scanned by
        DuckDB from there: the database cannot read files at all (``LOCKED_DOWN``), so no scratch file."""
        arrived = pa_json.read_json(io.BytesIO(rows), read_options=_READ, parse_options=_PARSE)
        cleanup = (
            f"DROP {'TABLE' if dedupe else 'VIEW'} IF EXISTS fresh",
            "DROP TABLE IF EXISTS batch",
            *person_hours.DROP_TEMP,
        )
        with self._write(*cleanup) as con:
            con.register("arrived", arrived)
            try:
                con.execute(_LOAD_BATCH)
            finally:
                con.unregister("arrived")
            con.execute(_FRESH_DEDUPED if dedupe else _FRESH)
            row = con.execute(_INSERT).fetchone()
            inserted = int(row[0]) if row else 0
            con.execute(UPSERT_VISITS)
            con.execute(person_hours.BATCH_HOURS)
            new_hours = self._seen_hours.drop_seen(con)
            for statement in person_hours.ADD_ID_HOURS if new_hours else ():
                con.execute(statement)
            relinked = self._apply_identities(con)
            for statement in person_hours.ADD_PERSON_HOURS if new_hours else ():
                con.execute(statement)
            if relinked:
                for statement in person_hours.REBUILD_PEOPLE:
                    con.execute(statement)
            con.execute(
                "INSERT OR REPLACE INTO ingest_checkpoint VALUES (1, ?, ?)", [checkpoint[0], checkpoint[1]]
            )
            touched = [p for (p,) in con.execute("SELECT DISTINCT project_id FROM batch").fetchall()]
            self._seen_hours.remember(new_hours)  # forgotten if the commit fails (``_write``)
        for project_id in touched:
            self._watermarks[project_id] = self._watermarks.get(project_id, 0) + 1
        return inserted

    @contextmanager
    def _write(self, *cleanup: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction, one at a time (a batch, page marks and a deletion change the same visits),
        rolled back on any error; the ``cleanup`` statements (temporary tables dropped) run after either.
        A failed one also empties the writer's memory of the person hours stored (``SeenHours``), which it
        may have told of rows that were not committed."""
        with self._writing:
            con = self._cursor()
            con.begin()
            try:
                yield con
                con.commit()
            except BaseException:
                self._seen_hours.forget()
                con.rollback()
                raise
            finally:
                for statement in cleanup:
                    con.execute(statement)

    def _apply_identities(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Fold the batch's $identify traits into `persons` and its $alias links into `person_aliases`,
        set-based: one statement each, whatever the number of people in the batch. True when it stored
        alias links (the people they concern are in ``hours_people``, see ``person_hours``)."""
        rows = con.execute(
            "SELECT project_id, distinct_id, properties, timestamp, event FROM batch"
            " WHERE event IN ('$identify', '$alias') AND distinct_id IS NOT NULL ORDER BY timestamp"
        ).fetchall()
        if not rows:
            return False
        traits, aliases = fold_identities(rows)
        if traits:
            con.execute(
                _UPSERT_PERSONS,
                {
                    "project": [p for p, _ in traits],
                    "distinct": [d for _, d in traits],
                    "traits": [orjson.dumps(t).decode() for t, _ in traits.values()],
                    "seen": [ts for _, ts in traits.values()],
                },
            )
        if aliases:
            links = {
                "project": [p for p, _ in aliases],
                "alias": [a for _, a in aliases],
                "person": [person for person, _ in aliases.values()],
            }
            con.execute(page_marks.RECORD_REMARKS, links)
            con.execute(person_hours.CHANGED_PEOPLE, links)
            con.execute(_UPSERT_ALIASES, {**links, "created": [ts for _, ts in aliases.values()]})
        return bool(aliases)

    def mark_pages(self) -> int:
        """Mark the pages of every visit of each person whose marks are missing or may be stale (see
        ``page_marks``); return how many visits were written again."""
        with self._write(*page_marks.DROP_TEMP) as con:
            for statement in page_marks.MARK_STATEMENTS:
                con.execute(statement)
            row = con.execute(page_marks.MARKED_COUNT).fetchone()
        return int(row[0]) if row else 0

    def checkpoint(self) -> Checkpoint | None:
        row = (
            self._cursor().execute("SELECT segment, position FROM ingest_checkpoint WHERE id = 1").fetchone()
        )
        return (int(row[0]), int(row[1])) if row else None

    # ------------------------------------------------------------------ reading

    def active_sessions(self, *, since_ms: int) -> list[ActiveSession]:
        source = ", ".join(f"arg_max({name}, timestamp)" for name in SOURCE_COLUMNS)
        sql = (
            "SELECT project_id, person_id, arg_max(session_id, timestamp), epoch_ms(max(timestamp)),"
            f" {source} FROM events WHERE timestamp >= ? AND session_id IS NOT NULL"
            " AND person_id IS NOT NULL GROUP BY project_id, person_id"
        )
        rows = self._cursor().execute(sql, [_naive_utc(since_ms)]).fetchall()
        return [
            ActiveSession(p, d, s, int(ms), tuple(src) if src[1] is not None else None)
            for p, d, s, ms, *src in rows
        ]

    def aliases(self) -> list[Alias]:
        rows = self._cursor().execute("SELECT project_id, alias, person_id FROM person_aliases").fetchall()
        return [Alias(p, a, person) for p, a, person in rows]

    def recent_events(
        self, *, project_id: int, limit: int, event_uuid: str | None = None
    ) -> list[dict[str, Any]]:
        sql = f"SELECT {_COLS} FROM events WHERE project_id = $project"
        params: dict[str, Any] = {"project": project_id}
        if event_uuid is not None:
            sql += " AND uuid = CAST($uuid AS UUID)"
            params["uuid"] = event_uuid
        sql += " ORDER BY timestamp DESC LIMIT $limit"
        params["limit"] = limit
        cursor = self._cursor().execute(sql, params)
        return [_jsonable(dict(zip(COLUMN_NAMES, row, strict=True))) for row in cursor.fetchall()]

    def count_events(self, *, project_id: int) -> int:
        row = (
            self._cursor()
            .execute("SELECT count(*) FROM events WHERE project_id = ?", [project_id])
            .fetchone()
        )
        return int(row[0]) if row else 0

    def delete_project(self, *, project_id: int) -> None:
        with self._write() as con:
            for table in _PROJECT_TABLES:
                con.execute(f"DELETE FROM {table} WHERE project_id = ?", [project_id])
            self._seen_hours.forget()
        self._watermarks[project_id] = self._watermarks.get(project_id, 0) + 1

    def replace_cohort(self, *, project_id: int, cohort_id: int, people: list[str]) -> None:
        members = pa.table(
            {
                "project_id": pa.array([project_id] * len(people), pa.int64()),
                "cohort_id": pa.array([cohort_id] * len(people), pa.int64()),
                "person_id": pa.array(people, pa.string()),
            }
        )
        with self._write() as con:
            con.execute(
                "DELETE FROM cohort_members WHERE project_id = ? AND cohort_id = ?", [project_id, cohort_id]
            )
            con.register("members", members)
            try:
                con.execute("INSERT INTO cohort_members SELECT * FROM members")
            finally:
                con.unregister("members")
        self._watermarks[project_id] = self._watermarks.get(project_id, 0) + 1

    def fetch(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        """Run a query from the scoping compiler (the only way analytics SQL reaches the store)."""
        return self.fetch_table(query)[1]

    def fetch_table(self, query: CompiledQuery) -> tuple[list[str], list[tuple[Any, ...]]]:
        if query.dialect != self.dialect:
            raise ValueError(f"a {query.dialect} query cannot run on DuckDB")
        # User SQL takes its turns apart from the insights', so that dashboards never wait behind it.
        turns = self._sql_turns if query.untrusted else self._turns
        if query.background and not query.untrusted:
            return self._in_background(query)
        timeout = query.timeout_seconds
        if timeout is None and not query.untrusted:
            turns.acquire(background=query.background)
            try:
                cursor = self._cursor().execute(query.sql, query.params)
                return [d[0] for d in cursor.description or []], cursor.fetchall()
            finally:
                turns.release()
        timeout = timeout or _SQL_TIME_LIMIT
        # The time limit counts the wait for a turn too; the query gets what is left of it.
        deadline = time.monotonic() + timeout
        if not turns.acquire(background=query.background, timeout=timeout):
            raise QueryTimedOut(f"no turn to run within {timeout:g} s")
        try:
            if query.untrusted:
                return self._sandboxed(query, deadline)
            with self._timed(deadline) as cursor:
                cursor.execute(query.sql, query.params)
                return [d[0] for d in cursor.description or []], cursor.fetchall()
        except duckdb.InterruptException:
            raise QueryTimedOut(f"stopped after {timeout:g} s") from None
        finally:
            turns.release()

    def _in_background(self, query: CompiledQuery) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A query nobody waits for (an alert's evaluation): it runs only while no interactive query wants a
        turn, and is interrupted when one comes (``_preempt``), to run again from the start once the store is
        free. Its time limit counts every try."""
        timeout = query.timeout_seconds or _SQL_TIME_LIMIT
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._turns.acquire(background=True, timeout=left):
                raise QueryTimedOut(f"no quiet moment to run within {timeout:g} s")
            try:
                with self._timed(deadline) as cursor:
                    with self._yielding_lock:
                        self._yielding.add(cursor)
                    try:
                        cursor.execute(query.sql, query.params)
                        return [d[0] for d in cursor.description or []], cursor.fetchall()
                    except duckdb.InterruptException:
                        if time.monotonic() >= deadline:
                            raise QueryTimedOut(f"stopped after {timeout:g} s") from None
                    finally:
                        with self._yielding_lock:
                            self._yielding.discard(cursor)
            finally:
                self._turns.release()

    def _preempt(self) -> None:
        with self._yielding_lock:
            running = list(self._yielding)
        for cursor in running:
            cursor.interrupt()

    @contextmanager
    def _timed(self, deadline: float) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of its own (so that a late interrupt can reach no other query), interrupted at
        ``deadline``."""
        with self._new_cursor() as cursor:
            timer = threading.Timer(max(deadline - time.monotonic(), 0.0), cursor.interrupt)
            timer.start()
            try:
                yield cursor
            finally:
                timer.cancel()

    def _sandboxed(self, query: CompiledQuery, deadline: float) -> tuple[list[str], list[tuple[Any, ...]]]:
        """User SQL: the project's rows it reads are copied out, and it runs in a sandbox worker process
        (``store.sandbox``), never on this database."""
        if query.reads is None:
            raise ValueError("an untrusted query must say what it reads")
        sandbox = self._sandbox
        with tempfile.TemporaryDirectory(dir=sandbox.directory) as scratch:
            try:
                with self._timed(deadline) as cursor:
                    tables = export(
                        cursor,
                        query.reads,
                        Path(scratch),
                        max_bytes=self._sql_input_bytes,
                        columns_of=self._columns_of,
                    )
            except InputTooLarge:
                raise QueryTooCostly(
                    f"the rows this query reads are more than {self._sql_input_bytes >> 20} MB:"
                    " name fewer columns (not *), or read fewer tables"
                ) from None
            request = {"sql": query.sql, "params": query.params, "tables": tables}
            try:
                answer = sandbox.run({**request, "max_answer_bytes": MAX_ANSWER_BYTES}, deadline)
            except SandboxFailed as exc:
                if exc.reason == "memory":
                    raise QueryTooCostly(
                        f"the query needed more memory than its sandbox allows ({sandbox.memory_bytes >> 20}"
                        " MB): aggregate earlier, or read fewer rows or columns"
                    ) from None
                if exc.reason == "too_large":
                    raise QueryTooCostly(
                        f"the answer is {exc}, more than {MAX_ANSWER_BYTES >> 20} MB: select fewer columns"
                        " or rows, or aggregate"
                    ) from None
                raise RuntimeError(str(exc)) from None
        return answer["columns"], [tuple(row) for row in answer["rows"]]

    def _columns_of(self, table: str) -> list[tuple[str, str]]:
        if table not in self._schemas:
            self._schemas[table] = table_columns(self._cursor(), table)
        return self._schemas[table]

    def watermark(self, project_id: int) -> int:
        """Bumped whenever events of the project are committed; cached query results key on it."""
        return self._watermarks.get(project_id, 0)

    def execute(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a statement built by Belvedere's own code (tests, the query layer). Never user SQL text."""
        return self._cursor().execute(sql, params or []).fetchall()


_EPOCH = datetime(1970, 1, 1)


def _naive_utc(ms: int) -> datetime:
    """Epoch milliseconds as the naive-UTC datetime the TIMESTAMP columns hold."""
    return _EPOCH + timedelta(milliseconds=ms)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "uuid": str,
    "timestamp": lambda v: v.isoformat(timespec="milliseconds") + "Z",
    "json": lambda v: orjson.loads(v) if isinstance(v, str) else v,
}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    for column in EVENT_COLUMNS:
        value = row[column.name]
        convert = _CONVERT.get(column.kind)
        if value is not None and convert is not None:
            row[column.name] = convert(value)
    return row
