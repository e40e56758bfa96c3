"""The event store the settings choose (``store.kind``): the one place that knows every engine."""

from __future__ import annotations

from belvedere.config import Settings
from belvedere.store.base import EventStore


def make_store(settings: Settings) -> EventStore:
    """The settings' event store, not yet open. ClickHouse's module is imported only when chosen (its client
    libraries are an optional install)."""
    store, sql_memory = settings.store, settings.query.sql_memory_mb << 20
    if store.kind == "clickhouse":
        from belvedere.store.clickhouse import ClickHouseEventStore

        return ClickHouseEventStore(
            settings.data_dir / "events.clickhouse", url=store.clickhouse_url, sandbox_memory_bytes=sql_memory
        )
    from belvedere.store.duckdb import DuckDBEventStore

    return DuckDBEventStore(
        settings.event_store_path,
        memory_limit=store.memory_limit,
        threads=store.threads,
        checkpoint_threshold=store.checkpoint_threshold,
        max_concurrent_queries=store.max_concurrent_queries,
        max_sql_queries=store.max_sql_queries,
        sql_memory_bytes=sql_memory,
        sql_input_bytes=settings.query.sql_input_mb << 20,
        sql_cpu_priority=settings.query.sql_cpu_priority,
    )
