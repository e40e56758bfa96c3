"""The sandbox worker's engine: one user statement over one project's exported rows, in a fresh in-memory
DuckDB locked down like the server's (no files, extensions or settings), one thread, nothing spilled.

Frames on stdin/stdout are a 4-byte big-endian length and a JSON body. Request: ``{"sql", "params",
"tables": [{"name", "path", "columns": [[name, type, exported]]}], "max_answer_bytes"}``. Answer:
``{"ok": true, "columns", "rows"}`` or ``{"ok": false, "reason": "memory"|"failed"|"too_large",
"message"}``.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

import duckdb
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc

from belvedere.store.sandbox import LOCKED_DOWN
from belvedere.store.sandbox.values import jsonable

_CONFIG: dict[str, Any] = {
    **LOCKED_DOWN,
    "temp_directory": "",  # nothing spills to disk: past its memory the query fails
    "threads": 1,
}


def read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _view(table: dict[str, Any]) -> str:
    """The table as the compiled SQL reads it: every column of the real table, in order, those the statement
    does not mention as typed NULLs (the types are the server's schema's, never user text)."""
    columns = []
    for name, kind, exported in table["columns"]:
        if exported:
            columns.append(f"CAST({_quoted(name)} AS {kind}) AS {_quoted(name)}")
        else:
            columns.append(f"CAST(NULL AS {kind}) AS {_quoted(name)}")
    name, rows = _quoted(table["name"]), _quoted(table["name"] + "__rows")
    return f"CREATE VIEW {name} AS SELECT {', '.join(columns)} FROM {rows}"


def run(request: dict[str, Any], memory_limit: int) -> dict[str, Any]:
    config = {**_CONFIG, "memory_limit": f"{max(memory_limit, 16 << 20)}B"}
    sources = [pa.memory_map(table["path"]) for table in request["tables"]]
    try:
        with duckdb.connect(":memory:", config=config) as con:
            for table, source in zip(request["tables"], sources, strict=True):
                con.register(table["name"] + "__rows", ipc.open_file(source).read_all())
                con.execute(_view(table))
            cursor = con.execute(request["sql"], request["params"])
            columns = [d[0] for d in cursor.description or []]
            rows = [[jsonable(v) for v in row] for row in cursor.fetchall()]
    finally:
        for source in sources:
            source.close()
    return {"ok": True, "columns": columns, "rows": rows}


def serve(limit_bytes: int, stdin: BinaryIO, stdout: BinaryIO) -> None:
    while (frame := read_frame(stdin)) is not None:
        request = orjson.loads(frame)
        try:
            answer = run(request, limit_bytes * 3 // 4)
            body = orjson.dumps(answer, default=str)
            if len(body) > request["max_answer_bytes"]:
                answer = {"ok": False, "reason": "too_large", "message": f"{len(body) // (1 << 20)} MB"}
                body = orjson.dumps(answer)
        except (MemoryError, duckdb.OutOfMemoryException) as exc:
            body = orjson.dumps({"ok": False, "reason": "memory", "message": str(exc).splitlines()[0]})
        except duckdb.Error as exc:
            body = orjson.dumps({"ok": False, "reason": "failed", "message": str(exc).splitlines()[0]})
        write_frame(stdout, body)
