"""The ``visits`` table (DuckDB: kept by the writer; ClickHouse: a view over events) always equals the
visits recomputed from the stored events: late events, retried duplicates and a migrated old store included.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.integration.query.events_kit import open_store

from belvedere.store.duckdb import DuckDBEventStore

T0 = 1_741_600_800_000  # 2025-03-10T10:00:00Z
MIN = 60_000

VISITS = (
    "SELECT project_id, session_id, started_at, ended_at, events, pageviews FROM visits"
    " ORDER BY project_id, session_id"
)
FROM_EVENTS = (
    "SELECT project_id, session_id, min(timestamp), max(timestamp), count(*), countIf(event = '$pageview')"
    " FROM events WHERE session_id IS NOT NULL GROUP BY project_id, session_id"
    " ORDER BY project_id, session_id"
)


def _row(
    n: int, session: str | None, at: int, event: str = "$pageview", project_id: int = 1
) -> dict[str, Any]:
    return {
        "uuid": str(uuid.UUID(int=n)),
        "project_id": project_id,
        "timestamp": at,
        "received_at": at,
        "event": event,
        "distinct_id": "v",
        "person_id": "v",
        "session_id": session,
    }


def _ndjson(*rows: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


BATCHES = (
    _ndjson(_row(1, "s1", T0), _row(2, "s1", T0 + MIN, "clicked"), _row(3, "s2", T0), _row(4, None, T0)),
    # a late event from before s1's start, a retry of uuid 2, a repeat inside the batch, another project
    _ndjson(
        _row(5, "s1", T0 - 5 * MIN),
        _row(2, "s1", T0 + MIN, "clicked"),
        _row(6, "s2", T0 + 9 * MIN),
        _row(6, "s2", T0 + 9 * MIN),
        _row(7, "s1", T0 + 2 * MIN, project_id=2),
    ),
)


@pytest.mark.parametrize("kind", ["duckdb", "clickhouse"])
def test_visits_equal_the_visits_of_the_stored_events(kind: str, tmp_path: Path) -> None:
    store = open_store(kind, tmp_path)
    try:
        for i, batch in enumerate(BATCHES):
            store.write_batch(batch, checkpoint=(0, i), dedupe=True)
        visits = store.execute(VISITS)
        recomputed = store.execute(
            FROM_EVENTS.replace("countIf(event = '$pageview')", _count_pageviews(kind))
        )
    finally:
        store.close()
    assert [tuple(v) for v in visits] == [tuple(r) for r in recomputed]
    s1 = visits[0]
    assert (s1[1], s1[4], s1[5]) == ("s1", 3, 2)  # the retry counted once, the late event taken in
    assert len(visits) == 3  # s1 and s2 of project 1, s1 of project 2; no visit for the session-less event


def test_an_older_store_gets_its_visits_on_open(tmp_path: Path) -> None:
    store = open_store("duckdb", tmp_path)
    assert isinstance(store, DuckDBEventStore)
    for i, batch in enumerate(BATCHES):
        store.write_batch(batch, checkpoint=(0, i), dedupe=True)
    expected = store.execute(VISITS)
    store.execute("DROP TABLE visits")
    store.execute("DELETE FROM store_schema WHERE version = 2")
    store.close()
    store = open_store("duckdb", tmp_path)
    try:
        assert store.execute(VISITS) == expected
    finally:
        store.close()


def _count_pageviews(kind: str) -> str:
    return (
        "countIf(event = '$pageview')"
        if kind == "clickhouse"
        else "count(*) FILTER (WHERE event = '$pageview')"
    )
