"""What a spool record holds (``ingest.segments`` owns how records are framed in segment files): events as
NDJSON, one JSON object a line, fields with no value left out.

Two kinds of line share the format:

- a **row**, as the store writer takes it: ``{"project_id": …, "uuid": …, …}``; a row whose uuid came from
  the client carries ``"_client_uuid": true``, and a batch holding one is written with de-duplication;
- a capture worker's **pending row**, ``<head>\\t<row>``: the head, a small JSON array (project, time, visit
  hints, the visit fields taken out of the row), is all the relay parses to give the row its person and
  visit; orjson escapes tabs inside strings, so the first raw tab is the separator.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from belvedere.ingest.enrich.visitor import HINTS_KEY, SOURCE_FIELDS
from belvedere.store.schema import CLIENT_UUID_FLAG

# The fields the relay decides (or may change: a visit's source) and appends to each row.
VISIT_FIELDS = ("distinct_id", "person_id", "session_id", *SOURCE_FIELDS)
_CLIENT_UUID_MARK = f'"{CLIENT_UUID_FLAG}":true'.encode()


def encode(row: dict[str, Any], *, client_uuid: bool) -> bytes:
    """One event's line: a pending row when it still needs its visit (it carries hints), else a row."""
    if client_uuid:
        row[CLIENT_UUID_FLAG] = True
    if HINTS_KEY not in row:
        return orjson.dumps(row)
    hints = row.pop(HINTS_KEY)
    values = [row.pop(name, None) for name in VISIT_FIELDS]
    head = orjson.dumps([row["project_id"], row["timestamp"], hints, values])
    return head + b"\t" + orjson.dumps(row)


def join(lines: list[bytes]) -> bytes:
    """The record of ``lines`` (empty when there are none)."""
    return b"\n".join(lines) + b"\n" if lines else b""


def count(payload: bytes) -> int:
    """How many events a record (or several, concatenated) holds."""
    return payload.count(b"\n")


def needs_dedupe(rows: bytes) -> bool:
    """Whether rows hold one with a client-given uuid (written with de-duplication)."""
    return _CLIENT_UUID_MARK in rows


def pending(payloads: Iterable[bytes]) -> Iterator[tuple[list[Any] | None, bytes]]:
    """Each line of the records as (its head, parsed, or None for a plain row; the row's JSON)."""
    loads = orjson.loads
    for payload in payloads:
        for line in payload.splitlines():
            head, tab, body = line.partition(b"\t")
            yield (loads(head), body) if tab else (None, line)


def with_fields(body: bytes, extra: dict[str, Any]) -> bytes:
    """A row's JSON with ``extra`` fields appended, without parsing the row."""
    return body[:-1] + b"," + orjson.dumps(extra)[1:] if extra else body
