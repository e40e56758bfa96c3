"""Populate a real event store with hand-written events, and run queries against it.

The ``analytics`` fixture runs every test on each store: DuckDB, and ClickHouse (chdb) when installed. A
query must give the same numbers on both."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, settings

from belvedere.query import QueryService, parse_query
from belvedere.store.clickhouse import ClickHouseEventStore
from belvedere.store.duckdb import DuckDBEventStore

_counter = itertools.count(1)


def property_settings(max_examples: int) -> settings:
    """Hypothesis settings of the property tests: no deadline (a store is written per example), no example
    database, and ``max_examples`` times ``PROPERTY_TESTS_SCALE`` (default 1; e.g. 10 for a soak run)."""
    scale = float(os.environ.get("PROPERTY_TESTS_SCALE", "1"))
    return settings(
        max_examples=max(1, round(max_examples * scale)),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


def ms(when: str | datetime) -> int:
    """ISO text (naive means UTC) or a datetime, as epoch milliseconds."""
    dt = datetime.fromisoformat(when) if isinstance(when, str) else when
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def event(
    name: str,
    when: str | datetime,
    *,
    person: str | None = "u1",
    session: str | None = "s1",
    project_id: int = 1,
    properties: dict[str, Any] | None = None,
    **columns: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "uuid": str(uuid.UUID(int=next(_counter))),
        "project_id": project_id,
        "timestamp": ms(when),
        "received_at": ms(when),
        "event": name,
        "distinct_id": person,
        "person_id": person,
        "session_id": session,
    }
    if properties is not None:
        row["properties"] = orjson.dumps(properties).decode()
    row.update(columns)
    return row


def pageview(when: str | datetime, path: str = "/", **kw: Any) -> dict[str, Any]:
    kw.setdefault("url", f"https://example.com{path}")
    return event("$pageview", when, path=path, host="example.com", **kw)


@dataclass
class Analytics:
    store: DuckDBEventStore | ClickHouseEventStore
    service: QueryService
    now: datetime = field(default_factory=lambda: datetime(2025, 3, 31, 12, 0))
    _position: int = 0

    def add(self, *rows: dict[str, Any]) -> None:
        self._position += 1
        body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
        self.store.write_batch(body, checkpoint=(0, self._position), dedupe=False)

    def query(self, spec: dict[str, Any], *, project_id: int = 1, timezone: str = "UTC") -> dict[str, Any]:
        result = self.service.run(parse_query(spec), project_id=project_id, timezone=timezone, now=self.now)
        return result.as_dict()


def record_sql(store: DuckDBEventStore | ClickHouseEventStore) -> list[str]:
    """The SQL text of every statement the store runs from now on, in order (its ``fetch_table`` wrapped)."""
    ran: list[str] = []
    fetch = store.fetch_table

    def recording(query: Any) -> Any:
        ran.append(query.sql)
        return fetch(query)

    store.fetch_table = recording  # type: ignore[method-assign]
    return ran


def open_store(kind: str, directory: Path) -> DuckDBEventStore | ClickHouseEventStore:
    store: DuckDBEventStore | ClickHouseEventStore
    if kind == "clickhouse":
        pytest.importorskip("chdb")  # an optional dependency: pip install 'belvedere[clickhouse]'
        store = ClickHouseEventStore(directory / "events.chdb")
    else:
        # The user SQL sandbox at the server's priority: in the idle class (the default) it starves while the
        # test workers keep both cores busy (a property test of user SQL: 15 s alone, 112 s in the suite, and
        # now and then a statement out of its 10 s). Its priority is tested in store/test_sandbox_priority.py.
        store = DuckDBEventStore(
            directory / "events.duckdb", memory_limit="256MB", threads=1, sql_cpu_priority="normal"
        )
    store.open()
    return store


@pytest.fixture(params=["duckdb", "clickhouse"])
def analytics(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Analytics]:
    store = open_store(request.param, tmp_path)
    try:
        yield Analytics(store, QueryService(store))
    finally:
        store.close()
