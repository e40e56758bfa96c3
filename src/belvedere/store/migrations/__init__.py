"""The event store's schema versions, frozen: one SQL file per released version and engine
(``duckdb/v001.sql`` …), statements separated by a line holding only ``;``. A store records the versions it
has applied and runs the others in order at start. A released file is never edited — a change is a new
version — so a store created today and one upgraded from version 1 end up alike (a test checks it), whatever
the code's column lists say by then."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

FOLDER = Path(__file__).parent

Engine = Literal["duckdb", "clickhouse"]


def _statements(text: str) -> tuple[str, ...]:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("-- "))
    return tuple(part.strip() for part in body.split("\n;\n") if part.strip())


@cache
def versions(engine: Engine) -> tuple[tuple[str, ...], ...]:
    """Each version's statements, version 1 first."""
    files = sorted((FOLDER / engine).glob("v[0-9][0-9][0-9].sql"))
    if [f.name for f in files] != [f"v{n:03d}.sql" for n in range(1, len(files) + 1)]:
        raise RuntimeError(f"store migrations for {engine} are not numbered 1..{len(files)} without gaps")
    return tuple(_statements(f.read_text()) for f in files)
