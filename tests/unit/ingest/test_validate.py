"""Every rejection reason of the capture format, and what a valid event becomes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from belvedere.ingest.validate import REJECTION_CODES, Limits, Rejected, parse_event

NOW = 1_763_800_000_000  # 2025-11-22T08:26:40Z
LIMITS = Limits(max_properties_bytes=1024, max_future_ms=3_600_000)


def parse(raw: Any) -> Any:
    return parse_event(raw, project_id=7, now_ms=NOW, limits=LIMITS)


REJECTIONS = [
    ("invalid_event", "not an object"),
    ("invalid_event", ["a", "list"]),
    ("invalid_type", {"type": "click", "event": "x"}),
    ("missing_event", {"type": "track"}),
    ("missing_event", {"event": ""}),
    ("invalid_event_name", {"event": "x" * 201}),
    ("invalid_event_name", {"event": 42}),
    ("invalid_event_name", {"event": "   "}),
    ("invalid_distinct_id", {"event": "x", "distinct_id": {"id": 1}}),
    ("invalid_distinct_id", {"event": "x", "distinct_id": "u" * 201}),
    ("invalid_distinct_id", {"event": "x", "distinct_id": True}),
    ("invalid_distinct_id", {"event": "x", "distinct_id": "  "}),
    ("missing_distinct_id", {"type": "identify", "properties": {"plan": "pro"}}),
    ("missing_distinct_id", {"type": "alias", "properties": {"alias": "anon-1"}}),
    ("missing_alias", {"type": "alias", "distinct_id": "user-1"}),
    ("missing_alias", {"type": "alias", "distinct_id": "user-1", "properties": {"alias": "user-1"}}),
    ("invalid_uuid", {"event": "x", "uuid": "not-a-uuid"}),
    ("invalid_timestamp", {"event": "x", "timestamp": "yesterday"}),
    ("invalid_timestamp", {"event": "x", "timestamp": 1_000}),
    ("invalid_timestamp", {"event": "x", "timestamp": True}),
    ("invalid_timestamp", {"event": "x", "timestamp": [2025]}),
    ("timestamp_in_future", {"event": "x", "timestamp": NOW + 3_600_001}),
    ("timestamp_in_future", {"event": "x", "timestamp": "2099-01-01T00:00:00Z"}),
    ("invalid_properties", {"event": "x", "properties": [1, 2]}),
    ("invalid_properties", {"event": "x", "properties": "a=b"}),
    ("properties_too_large", {"event": "x", "properties": {"blob": "y" * 2000}}),
    ("invalid_context", {"event": "x", "context": "browser"}),
    ("invalid_context", {"event": "x", "context": {"page": "https://a.example"}}),
    ("invalid_context", {"event": "x", "context": {"page": {"url": 12}}}),
    ("invalid_context", {"event": "x", "context": {"user_agent": ["Mozilla"]}}),
    ("invalid_ip", {"event": "x", "context": {"ip": "999.1.1.1"}}),
    ("invalid_ip", {"event": "x", "context": {"ip": 1234}}),
]


@pytest.mark.parametrize(("code", "raw"), REJECTIONS)
def test_each_invalid_event_is_rejected_with_its_code(code: str, raw: Any) -> None:
    with pytest.raises(Rejected) as caught:
        parse(raw)
    assert caught.value.code == code
    assert caught.value.message


def test_every_rejection_code_is_exercised() -> None:
    assert {code for code, _ in REJECTIONS} == set(REJECTION_CODES)


def test_page_event_takes_url_referrer_and_context() -> None:
    event = parse(
        {
            "type": "page",
            "timestamp": "2025-11-22T08:00:00+01:00",
            "context": {
                "ip": " 2001:db8::1 ",
                "user_agent": "Mozilla/5.0",
                "page": {"url": "https://shop.example/a", "referrer": "https://ref.example/", "title": "A"},
                "locale": "fr-FR",
                "screen": {"width": 390, "height": 844},
            },
        }
    )
    row = event.row
    assert row["event"] == "$pageview"
    assert row["timestamp"] == 1_763_794_800_000
    assert row["received_at"] == NOW
    assert (row["url"], row["referrer"], row["title"]) == (
        "https://shop.example/a",
        "https://ref.example/",
        "A",
    )
    assert (row["locale"], row["screen"]) == ("fr-FR", "390x844")
    assert event.ip == "2001:db8::1" and event.user_agent == "Mozilla/5.0"
    assert "ip" not in row and "user_agent" not in row
    assert uuid.UUID(row["uuid"]).version == 7 and not event.client_uuid


def test_properties_can_carry_url_referrer_revenue_and_cost() -> None:
    event = parse(
        {
            "event": "payment_received",
            "distinct_id": 42,
            "uuid": "8B1F7E6C-1F1E-4B8E-9A39-2D1F0C0A1B2C",
            "timestamp": NOW - 5000,
            "properties": {
                "$current_url": "https://a.example/x",
                "$referrer": "https://b.example/",
                "revenue": "49.90",
                "$cost": 0.25,
            },
        }
    )
    row = event.row
    assert row["distinct_id"] == "42"
    assert row["uuid"] == "8b1f7e6c-1f1e-4b8e-9a39-2d1f0c0a1b2c" and event.client_uuid
    assert row["timestamp"] == NOW - 5000
    assert (row["url"], row["referrer"]) == ("https://a.example/x", "https://b.example/")
    assert (row["revenue"], row["cost"]) == (49.9, 0.25)


def test_defaults_timestamp_to_receive_time_and_type_to_track() -> None:
    row = parse({"event": "signup"}).row
    assert row["timestamp"] == NOW and row["event"] == "signup" and row["distinct_id"] is None


def test_identify_keeps_traits_and_alias_records_the_other_id() -> None:
    identify = parse({"type": "identify", "distinct_id": "u1", "traits": {"plan": "pro"}})
    assert identify.row["event"] == "$identify" and identify.properties == {"plan": "pro"}
    alias = parse({"type": "alias", "distinct_id": "u1", "previous_id": "anon-9"})
    assert alias.row["event"] == "$alias" and alias.properties["alias"] == "anon-9"


def test_non_numeric_revenue_stays_in_properties_only() -> None:
    event = parse({"event": "x", "properties": {"revenue": "a lot"}})
    assert event.row["revenue"] is None and event.properties["revenue"] == "a lot"
