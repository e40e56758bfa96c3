"""Issue #26: the event store's schema versions are frozen SQL files. A store created today and one created
at version 1 (with events) and upgraded end up with the same schema, which is the one snapshotted here; a
change of schema without a new version file fails the snapshot.

To accept an intended change (a new version file), write the snapshot again:
``UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/integration/store/test_store_migrations.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from belvedere.store import clickhouse, duckdb
from belvedere.store.clickhouse import ClickHouseEventStore
from belvedere.store.duckdb import DuckDBEventStore
from belvedere.store.migrations import versions
from belvedere.store.schema import COLUMN_NAMES

SNAPSHOTS = Path(__file__).parent / "snapshots"
SCHEMA_QUERIES = {
    "duckdb": "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
    " WHERE table_schema = 'main' ORDER BY table_name, ordinal_position",
    "clickhouse": "SELECT table, name, type, toString(is_in_primary_key) FROM system.columns"
    " WHERE database = currentDatabase() AND table NOT LIKE '.inner%' AND table != 'events_staging'"
    " ORDER BY table, position",
}
# Two visits of one person at version 1: what the later versions' visits are rebuilt from.
V1_EVENTS = (
    "INSERT INTO events (uuid, project_id, timestamp, received_at, event, distinct_id, person_id, session_id,"
    " path) VALUES {rows}"
)
V1_ROWS = {
    "duckdb": "(uuid(), 1, TIMESTAMP '2026-11-0{d} 10:00:00', now()::TIMESTAMP, '$pageview', 'p', 'p',"
    " 's{d}', '/home')",
    "clickhouse": "(generateUUIDv4(), 1, toDateTime64('2026-11-0{d} 10:00:00', 3, 'UTC'), now64(3),"
    " '$pageview', 'p', 'p', 's{d}', '/home')",
}


def _open(engine: str, path: Path) -> Any:
    if engine == "duckdb":
        store = DuckDBEventStore(path / "events.duckdb", memory_limit="256MB", threads=1)
    else:
        store = ClickHouseEventStore(path / "events.chdb")
    store.open()
    return store


def _schema(store: Any, engine: str) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in row) for row in store.execute(SCHEMA_QUERIES[engine])]


def _with_store(engine: str, path: Path, use: Callable[[Any], Any]) -> Any:
    store = _open(engine, path)
    try:
        return use(store)
    finally:
        store.close()


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_a_store_upgraded_from_version_1_equals_a_new_one(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = duckdb if engine == "duckdb" else clickhouse
    all_versions = versions(engine)  # type: ignore[arg-type]
    assert all_versions == module.MIGRATIONS and len(all_versions) >= 6
    old = tmp_path / "old"
    with monkeypatch.context() as patch:  # a store as version 1 left it, with events
        patch.setattr(module, "MIGRATIONS", all_versions[:1])
        rows = ", ".join(V1_ROWS[engine].format(d=d) for d in (1, 2))
        _with_store(engine, old, lambda store: store.execute(V1_EVENTS.format(rows=rows)))
    upgraded = _with_store(
        engine,
        old,
        lambda store: (
            _schema(store, engine),
            store.execute("SELECT session_id, pageviews FROM visits ORDER BY session_id"),
        ),
    )
    fresh = _with_store(engine, tmp_path / "new", lambda store: _schema(store, engine))
    assert upgraded[0] == fresh
    assert [(str(s), int(n)) for s, n in upgraded[1]] == [("s1", 1), ("s2", 1)]  # visits rebuilt from events

    snapshot = SNAPSHOTS / f"store_schema_{engine}.txt"
    text = "\n".join(" | ".join(row) for row in fresh) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(text)
    assert text == snapshot.read_text(), "the schema changed: add a store version file (see the docstring)"


def test_the_writer_columns_are_the_migrated_events_table(tmp_path: Path) -> None:
    """The code's column list and the frozen schema agree: a column added to the code alone fails here."""
    columns = _with_store(
        "duckdb",
        tmp_path,
        lambda store: [
            name
            for (name,) in store.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'events'"
                " ORDER BY ordinal_position"
            )
        ],
    )
    assert columns == list(COLUMN_NAMES)
