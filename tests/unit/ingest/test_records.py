"""The spool's record payload (``ingest.records``): rows and a capture worker's pending rows."""

from __future__ import annotations

import orjson

from belvedere.ingest import records
from belvedere.ingest.enrich.visitor import HINTS_KEY


def test_a_pending_row_keeps_its_head_apart_and_gets_its_visit_appended_as_bytes() -> None:
    row = {
        "project_id": 7,
        "timestamp": 1000,
        "event": "tab\tin a string",  # orjson escapes it: the first raw tab is the separator
        "distinct_id": "anon",
        HINTS_KEY: ["h"],
    }
    plain = {"project_id": 7, "timestamp": 2000, "event": "plain"}
    payload = records.join(
        [records.encode(dict(row), client_uuid=True), records.encode(dict(plain), client_uuid=False)]
    )
    assert records.count(payload) == 2 and records.needs_dedupe(payload)
    (head, body), (no_head, plain_body) = list(records.pending([payload]))
    assert head is not None and head[:3] == [7, 1000, ["h"]]
    assert dict(zip(records.VISIT_FIELDS, head[3], strict=True))["distinct_id"] == "anon"
    appended = orjson.loads(records.with_fields(body, {"person_id": "p", "session_id": "s"}))
    assert appended == {
        "project_id": 7,
        "timestamp": 1000,
        "event": "tab\tin a string",
        "_client_uuid": True,
        "person_id": "p",
        "session_id": "s",
    }
    assert no_head is None and orjson.loads(plain_body) == plain
    assert not records.needs_dedupe(plain_body) and records.join([]) == b""
    assert records.with_fields(plain_body, {}) == plain_body
