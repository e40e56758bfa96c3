"""The events table: one wide row per event, typed columns for what is filtered and grouped often.

One column list drives the DuckDB DDL and how its JSON reader reads the spool (and, later, the ClickHouse
DDL), so the stores cannot drift apart. In the spool an event is a JSON object keyed by these names, with
``timestamp``/``received_at`` as epoch milliseconds, ``uuid`` as text and ``properties`` as a JSON string;
absent keys mean NULL.
"""

from __future__ import annotations

from dataclasses import dataclass


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
# A visit's attribution, shared by its events (see ingest.enrich.visitor).
SOURCE_COLUMNS = (
    "referrer_domain",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)
# What a visit counts under in a breakdown: the first value its events carry (the attribution, where the
# visitor is, what they use). The `visits` table keeps each one with the time of the event that carried it.
VISIT_DIMENSIONS = (
    *SOURCE_COLUMNS,
    "country",
    "region",
    "city",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "screen",
    "locale",
)
# The `visits` columns that hold a first value: (column, the events column it comes from). Each has a
# companion `<column>_after`, the milliseconds from the visit's start to the event that carried it, so that
# a late event can still take its place; the person is stored as the event had it (queries read it through
# the alias links).
VISIT_FIRSTS: tuple[tuple[str, str], ...] = (("person", "person_id"), *((d, d) for d in VISIT_DIMENSIONS))

# Per-row flag carried in the spool but not stored: the uuid came from the client, so a retry may repeat it.
CLIENT_UUID_FLAG = "_client_uuid"
