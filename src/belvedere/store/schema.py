"""The events table: one wide row per event, typed columns for what is filtered and grouped often.

One column list drives the Arrow schema the writer builds, the DuckDB DDL and (later) the ClickHouse DDL,
so the stores cannot drift apart. In the spool an event is a JSON object keyed by these names, with
``timestamp``/``received_at`` as epoch milliseconds and ``properties`` as a JSON string.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # one of: uuid, int, timestamp, string, json, float
    nullable: bool = True


EVENT_COLUMNS: tuple[Column, ...] = (
    Column("uuid", "uuid", nullable=False),
    Column("project_id", "int", nullable=False),
    Column("timestamp", "timestamp", nullable=False),
    Column("received_at", "timestamp", nullable=False),
    Column("event", "string", nullable=False),
    Column("distinct_id", "string"),
    Column("person_id", "string"),
    Column("session_id", "string"),
    Column("url", "string"),
    Column("host", "string"),
    Column("path", "string"),
    Column("title", "string"),
    Column("referrer", "string"),
    Column("referrer_domain", "string"),
    Column("channel", "string"),
    Column("utm_source", "string"),
    Column("utm_medium", "string"),
    Column("utm_campaign", "string"),
    Column("utm_term", "string"),
    Column("utm_content", "string"),
    Column("country", "string"),
    Column("region", "string"),
    Column("city", "string"),
    Column("browser", "string"),
    Column("browser_version", "string"),
    Column("os", "string"),
    Column("os_version", "string"),
    Column("device_type", "string"),
    Column("screen", "string"),
    Column("locale", "string"),
    Column("properties", "json"),
    Column("revenue", "float"),
    Column("cost", "float"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)

# How each kind travels in the spool's JSON (what pyarrow's JSON reader parses) ...
_SPOOL_ARROW = {
    "uuid": pa.string(),
    "int": pa.int64(),
    "timestamp": pa.int64(),
    "string": pa.string(),
    "json": pa.string(),
    "float": pa.float64(),
}
# ... and as what it is handed to a store.
_STORE_ARROW = {
    "uuid": pa.string(),
    "int": pa.int64(),
    "timestamp": pa.timestamp("ms"),
    "string": pa.string(),
    "json": pa.string(),
    "float": pa.float64(),
}

# Per-row flag carried in the spool but not stored: the uuid came from the client, so a retry may repeat it.
CLIENT_UUID_FLAG = "_client_uuid"

SPOOL_SCHEMA = pa.schema(
    [pa.field(c.name, _SPOOL_ARROW[c.kind]) for c in EVENT_COLUMNS] + [pa.field(CLIENT_UUID_FLAG, pa.bool_())]
)
STORE_SCHEMA = pa.schema([pa.field(c.name, _STORE_ARROW[c.kind], nullable=c.nullable) for c in EVENT_COLUMNS])
