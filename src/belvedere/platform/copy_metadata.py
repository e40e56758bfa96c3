"""Copying the metadata database to another one (`belvedere migrate-metadata`): SQLite → PostgreSQL when an
install outgrows one machine (issue #29).

The target is brought to the newest schema first, then every table is copied in the order its foreign keys
need, each in one transaction, through the models' own tables (so values keep the types the application
reads and writes on either database). A table already holding as many rows as the source was copied by an
earlier run and is skipped: an interrupted copy is resumed by running the command again. A table that holds
some rows, but not as many, means the target was not empty (or the source changed): the copy stops rather
than mix two databases. PostgreSQL's id sequences are then set past the copied ids, and the row counts of
every table compared.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, Table, func, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from belvedere.platform import migrate
from belvedere.platform.db import Base

# The modules that declare tables (``Base`` subclasses); a test checks that together they cover every table
# the migrations create.
MODEL_MODULES = (
    "belvedere.accounts.models",
    "belvedere.alerts.models",
    "belvedere.auth.models",
    "belvedere.dashboards.models",
    "belvedere.ingest.salts",
    "belvedere.notify.models",
    "belvedere.platform.jobs.models",
    "belvedere.platform.mail",
)
CHUNK_ROWS = 1000


class CopyRefused(Exception):
    """The copy cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class TableCount:
    name: str
    source: int
    target: int


def tables() -> list[Table]:
    """Every table of the metadata database, parents before the tables that refer to them."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return list(Base.metadata.sorted_tables)


def plan(source: Engine, target: Engine) -> list[TableCount]:
    """Each table's rows in the source and in the target (brought to the newest schema first)."""
    if source.url.render_as_string(hide_password=False) == target.url.render_as_string(hide_password=False):
        raise CopyRefused("the source and the target are the same database")
    migrate.upgrade(target)
    known = {t.name for t in tables()}
    unknown = set(inspect(target).get_table_names()) - known - {"alembic_version"}
    if unknown:  # pragma: no cover - tests/integration/platform/test_copy_metadata.py keeps the list whole
        raise CopyRefused(f"tables this copy does not know: {sorted(unknown)}")
    with source.connect() as s, target.connect() as t:
        return [TableCount(table.name, _count(s, table), _count(t, table)) for table in tables()]


def copy(
    source: Engine, target: Engine, *, on_rows: Callable[[int], None] = lambda n: None
) -> list[TableCount]:
    """Copy every table not copied yet; return the counts compared afterwards (empty list: all equal)."""
    counts = {c.name: c for c in plan(source, target)}
    for table in tables():
        count = counts[table.name]
        if count.target == count.source:
            on_rows(count.source)
            continue
        if count.target:
            raise CopyRefused(
                f"table {table.name} holds {count.target} rows in the target and {count.source} in the"
                " source: the target was not empty, or the source changed since an earlier run. Copy into"
                " an empty database, with the server stopped."
            )
        with source.connect() as s, target.begin() as t:
            rows = s.execution_options(yield_per=CHUNK_ROWS).execute(select(table))
            for chunk in rows.partitions():
                t.execute(insert(table), [row._asdict() for row in chunk])
                on_rows(len(chunk))
    with target.begin() as t:
        _advance_sequences(t)
    return compare(source, target)


def compare(source: Engine, target: Engine) -> list[TableCount]:
    """The tables whose row counts differ between the two databases."""
    with source.connect() as s, target.connect() as t:
        found = [TableCount(table.name, _count(s, table), _count(t, table)) for table in tables()]
    return [c for c in found if c.source != c.target]


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _advance_sequences(connection: Connection) -> None:
    """PostgreSQL hands out ids from sequences that the copied rows did not advance: set each one past the
    largest id copied, so the next row inserted does not collide. (SQLite takes the largest id itself.)"""
    if connection.dialect.name != "postgresql":
        return
    for table in tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) or keys[0].autoincrement is False:
            continue
        column = keys[0].name
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": column}
        ).scalar()
        if sequence is None:
            continue
        highest = connection.execute(select(func.max(table.c[column]))).scalar()
        if highest is not None:
            connection.execute(
                text("SELECT setval(:sequence, :value)"), {"sequence": sequence, "value": highest}
            )
