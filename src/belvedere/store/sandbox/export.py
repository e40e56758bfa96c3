"""One project's rows of the tables a user statement reads, written as Arrow files for the sandbox worker.

Only the columns the statement can name are written (every identifier in it; all of them after a ``*`` or
a table used as a value); the worker fills the others with NULLs of their type. The files hold nothing
but this project's rows, so whatever the statement does, it sees no other tenant's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.ipc as ipc

from belvedere.store.base import Reads

# Always written: the scoping filter's column (it also carries the row count when no other is named).
_KEYS = frozenset({"project_id"})
_BATCH_ROWS = 64 * 1024


class InputTooLarge(Exception):
    """The project's rows a statement reads are more than the sandbox takes."""


def export(
    cursor: duckdb.DuckDBPyConnection,
    reads: Reads,
    directory: Path,
    *,
    max_bytes: int,
    columns_of: Callable[[str], list[tuple[str, str]]],
) -> list[dict[str, Any]]:
    """Write each table of ``reads`` to ``directory``; the worker's ``tables`` request entries."""
    tables, written = [], 0
    for name in reads.tables:
        schema = columns_of(name)
        if not schema:
            raise ValueError(f"no table {name!r} to export")
        wanted = [(c, kind, reads.columns is None or c in reads.columns or c in _KEYS) for c, kind in schema]
        names = ", ".join(f'"{c}"' for c, _, exported in wanted if exported)
        path = directory / f"{name}.arrow"
        relation = cursor.sql(
            f'SELECT {names} FROM "{name}" WHERE project_id = $project', params={"project": reads.project_id}
        )
        reader = relation.to_arrow_reader(_BATCH_ROWS)
        with ipc.new_file(str(path), reader.schema) as sink:
            for batch in reader:
                written += batch.nbytes
                if written > max_bytes:
                    raise InputTooLarge(f"{max_bytes // (1 << 20)} MB")
                sink.write_batch(batch)
        tables.append({"name": name, "path": str(path), "columns": wanted})
    return tables


def table_columns(cursor: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """The table's columns and their types, in order, as the server's schema has them."""
    rows = cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]
