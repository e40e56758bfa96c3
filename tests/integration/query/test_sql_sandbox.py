"""The user-SQL sandbox, attacked: the escapes a security review found (issue #25, findings 1, 2 and 4), the
engine underneath that holds even when a statement gets past the allowlists, and a grammar fuzz of
hostile statements that must never read another project's rows or any file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.integration.query.events_kit import Analytics, analytics, event, property_settings

from belvedere.query import parse_query
from belvedere.query.runner import QueryError
from belvedere.query.sql import Params, QueryBuildError, compile_query, parse
from belvedere.store.base import CompiledQuery, Reads
from belvedere.store.duckdb import DuckDBEventStore

__all__ = ["analytics"]

THEIR_SECRET = "their-s3cr3t-token"
FILE_SECRET = "file-s3cr3t-contents"


def _data(analytics: Analytics) -> None:
    analytics.add(
        event("a", "2025-03-10T10:00:00", person="mine-1", properties={"plan": "pro"}),
        event("b", "2025-03-10T11:00:00", person="mine-2"),
        event("a", "2025-03-10T10:00:00", person=THEIR_SECRET, project_id=2, properties={"t": THEIR_SECRET}),
    )


def _run(analytics: Analytics, text: str) -> dict[str, Any] | None:
    """The answer, or None when the sandbox or the engine refused the statement with a clear error."""
    try:
        return analytics.query({"kind": "sql", "query": text})
    except (ValidationError, QueryError):
        return None


# The review's own statements (finding 1): SQL in a string literal, run through a LATERAL table function.
FINDING_1 = [
    "SELECT j.* FROM (VALUES (1)) t(x), LATERAL json_execute_serialized_sql(json_serialize_sql("
    "'SELECT project_id, event, properties FROM events WHERE project_id = 2')) j",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT * FROM events'))",
    "SELECT * FROM query('SELECT * FROM events WHERE project_id = 2')",
    "SELECT * FROM query_table('events')",
    "SELECT * FROM events, LATERAL (SELECT * FROM query_table('events')) q",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/proc/self/environ')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM glob('/etc/*')",
    "SELECT main.lower('x')",
    "SELECT system.main.current_setting('enable_external_access')",
    "SELECT list_transform([1], x -> (SELECT count(*) FROM events))",
]


@pytest.mark.parametrize("text", FINDING_1)
def test_table_functions_and_sql_in_strings_are_refused(analytics: Analytics, text: str) -> None:
    _data(analytics)
    with pytest.raises(ValidationError, match=r"not allowed|unknown table"):
        parse_query({"kind": "sql", "query": text})


def test_a_with_query_names_a_table_only_where_it_is_in_scope(analytics: Analytics, tmp_path: Path) -> None:
    """Finding 2: a name defined by a WITH nested elsewhere was let through, and read by DuckDB as a
    catalog table or a file (replacement scan)."""
    _data(analytics)
    secret = tmp_path / "leak.csv"
    secret.write_text(f"a\n{FILE_SECRET}\n")
    for name in (
        "ingest_checkpoint",
        "store_schema",
        f'"{secret}"',
        "remark_people",
        "person_hours",
        "id_hours",
        "cohort_members",
    ):
        text = f"SELECT * FROM (WITH {name} AS (SELECT 1 AS a) SELECT a FROM {name}) s, {name}"
        with pytest.raises(ValidationError, match=r"unknown table|not allowed"):
            parse_query({"kind": "sql", "query": text})
        # The compiler, which scopes every insight too, refuses it on its own.
        tree = parse(text)
        with pytest.raises(QueryBuildError):
            compile_query(tree, params=Params(), project_id=1, dialect=analytics.store.dialect)
    # In scope, the same names are fine, and a later WITH query sees an earlier one (never the reverse).
    ok = _run(analytics, "WITH x AS (SELECT 1 AS a), y AS (SELECT a FROM x) SELECT a FROM y")
    assert ok is not None and ok["rows"] == [[1]]
    assert _run(analytics, "WITH y AS (SELECT a FROM x), x AS (SELECT 1 AS a) SELECT a FROM y") is None
    nested = "WITH x AS (SELECT 2 AS a) SELECT (SELECT max(a) FROM x) AS m FROM (SELECT a FROM x) q"
    answer = _run(analytics, nested)
    assert answer is not None and answer["rows"] == [[2]]


@pytest.mark.parametrize("where", ["server", "sandbox"])
def test_the_engine_itself_reads_no_file_and_changes_no_setting(tmp_path: Path, where: str) -> None:
    """The layer under the allowlists: a statement that got past them still cannot leave the database —
    neither the server's (which insights use) nor the sandbox worker's (which user SQL uses)."""
    reads = Reads(project_id=1, tables=("events",), columns=None) if where == "sandbox" else None
    secret = tmp_path / "secret.txt"
    secret.write_text(FILE_SECRET)
    metadata = tmp_path / "belvedere.db"
    sqlite3.connect(metadata).execute("CREATE TABLE users (email TEXT)").connection.commit()
    store = DuckDBEventStore(tmp_path / "events.duckdb", memory_limit="256MB", threads=1)
    store.open()
    try:
        for sql in (
            f"SELECT * FROM read_text('{secret}')",
            f"SELECT * FROM '{secret}'",
            f"SELECT * FROM read_blob('{metadata}')",
            f"ATTACH '{metadata}' AS meta (TYPE sqlite)",
            f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
            "INSTALL httpfs",
            "LOAD sqlite_scanner",
            "SET enable_external_access = true",
            "SET memory_limit = '100GB'",
        ):
            with pytest.raises(Exception, match=r"disabled|locked|Permission|Catalog|not") as caught:
                store.fetch_table(
                    CompiledQuery(
                        sql=sql, params={}, dialect="duckdb", untrusted=reads is not None, reads=reads
                    )
                )
            assert FILE_SECRET not in str(caught.value)
        assert not (tmp_path / "out.csv").exists()
        setting = "SELECT current_setting('enable_external_access')"
        assert store.execute(setting) == [(False,)]
    finally:
        store.close()


def test_a_statement_past_the_compiler_still_sees_only_its_projects_rows(analytics: Analytics) -> None:
    """The sandbox process holds a copy of one project's rows and nothing else: a statement that reached it
    unscoped (as if the compiler had failed) reads no other project, and no table it was not given."""
    if analytics.store.dialect != "duckdb":
        pytest.skip("the embedded store's sandbox process")
    _data(analytics)
    reads = Reads(project_id=1, tables=("events",), columns=None)

    def run(sql: str) -> list[tuple[Any, ...]]:
        query = CompiledQuery(sql=sql, params={}, dialect="duckdb", untrusted=True, reads=reads)
        return analytics.store.fetch_table(query)[1]

    assert run("SELECT count(*), count(DISTINCT project_id) FROM events") == [(2, 1)]
    assert THEIR_SECRET not in str(run("SELECT * FROM events"))
    for table in ("persons", "visits", "store_schema", "ingest_checkpoint"):
        with pytest.raises(RuntimeError, match="does not exist"):
            run(f"SELECT * FROM {table}")
    # Only the named columns are copied out; the others read as NULL, never as another row's value.
    narrow = Reads(project_id=1, tables=("events",), columns=frozenset({"event"}))
    query = CompiledQuery(
        sql="SELECT event, person_id FROM events ORDER BY event",
        params={},
        dialect="duckdb",
        untrusted=True,
        reads=narrow,
    )
    assert analytics.store.fetch_table(query)[1] == [("a", None), ("b", None)]


def test_clickhouse_runs_user_sql_read_only(analytics: Analytics, tmp_path: Path) -> None:
    if analytics.store.dialect != "clickhouse":
        pytest.skip("ClickHouse's own read-only mode")
    secret = tmp_path / "secret.txt"
    secret.write_text(FILE_SECRET)
    for sql in (f"SELECT * FROM file('{secret}', 'LineAsString')", "SELECT 1 SETTINGS readonly = 0"):
        compiled = CompiledQuery(sql=sql, params={}, dialect="clickhouse", untrusted=True)
        with pytest.raises(Exception, match=r"readonly|READONLY|Cannot modify"):
            analytics.store.fetch_table(compiled)


# ---------------------------------------------------------------------------------------------- grammar fuzz

_SOURCES = [
    "events",
    "persons",
    "visits",
    "person_aliases",
    "ingest_checkpoint",
    "store_schema",
    "remark_people",
    "person_hours",
    "id_hours",
    "cohort_members",
    "main.events",
    "memory.main.events",
    '"events"',
    '"EVENTS"',
    "'{file}'",
    '"{file}"',
    "read_text('{file}')",
    "read_csv('{file}')",
    "read_json_auto('{file}')",
    "query_table('events')",
    "query('SELECT * FROM events WHERE project_id = 2')",
    "json_execute_serialized_sql(json_serialize_sql('SELECT * FROM events WHERE project_id = 2'))",
    "glob('{dir}/*')",
    "duckdb_tables()",
    "information_schema.tables",
    "pg_catalog.pg_tables",
    "system.tables",
    "file('{file}', 'LineAsString')",
    "numbers(3)",
    "range(3)",
    "unnest(['x'])",
    "(VALUES ('x'))",
    "LATERAL (SELECT * FROM events)",
    "LATERAL json_execute_serialized_sql(json_serialize_sql('SELECT * FROM events WHERE project_id = 2'))",
    "LATERAL query_table('events')",
    "LATERAL read_text('{file}')",
]
_CTE_NAMES = ["x", "y", "ingest_checkpoint", '"{file}"', "events", "store_schema", "q"]
_SCALARS = [
    "1",
    "'a'",
    "event",
    "properties",
    "person_id",
    "project_id",
    "getenv('HOME')",
    "current_setting('temp_directory')",
    "getSetting('max_memory_usage')",
    "json_serialize_sql('SELECT 1')",
    "(SELECT max(properties) FROM events WHERE project_id = 2)",
    "lower(event)",
    "count(*)",
]


@st.composite
def _query(draw: st.DrawFn, depth: int = 0) -> str:
    if depth < 2 and draw(st.booleans()):
        name = draw(st.sampled_from(_CTE_NAMES))
        inner = draw(_query(depth + 1))
        body = draw(_query(depth + 1))
        where = draw(st.sampled_from(["", "(SELECT 1 AS z)", f"(WITH {name} AS ({inner}) SELECT 1 AS z)"]))
        if where:
            body = f"SELECT * FROM ({body}) b, {where} w"
        return f"WITH {name} AS ({inner}) {body}"
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        op = draw(st.sampled_from(["UNION ALL", "UNION", "EXCEPT", "INTERSECT"]))
        return f"SELECT * FROM ({draw(_query(depth + 1))}) {op} SELECT * FROM ({draw(_query(depth + 1))})"
    source = draw(st.sampled_from(_SOURCES + _CTE_NAMES))
    if depth < 2 and draw(st.booleans()):
        source = f"({draw(_query(depth + 1))})"
    column = draw(st.sampled_from(_SCALARS))
    join = ""
    if draw(st.booleans()):
        join = f", {draw(st.sampled_from(_SOURCES + _CTE_NAMES))} j"
    elif draw(st.booleans()):
        # A name that a WITH defines in a sibling subquery only: out of its scope here.
        name = draw(st.sampled_from(_CTE_NAMES))
        join = f", (WITH {name} AS (SELECT 1 AS z) SELECT * FROM {name}) w, {name} o"
    return f"SELECT {column} AS c, * FROM {source} s{join}"


@property_settings(300)
@given(text=_query())
def test_no_hostile_statement_reads_another_project_or_a_file(
    analytics: Analytics, tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    folder = tmp_path_factory.getbasetemp()
    secret = folder / "fuzz-secret.csv"
    if not secret.exists():
        secret.write_text(f"a\n{FILE_SECRET}\n")
    if not analytics.store.count_events(project_id=2):
        _data(analytics)
    statement = text.replace("{file}", str(secret)).replace("{dir}", str(folder))
    answer = _run(analytics, statement)
    if answer is not None:
        flat = str(answer["rows"])
        assert THEIR_SECRET not in flat and FILE_SECRET not in flat, statement
