"""Turn one raw capture object into an event, or reject it with a code and a reason.

Hand-written rather than a pydantic model: it runs for every event on the hot path, and each rejection
needs its own stable code for clients (listed in ``REJECTION_CODES`` and docs/api.md).
"""

from __future__ import annotations

import socket
import uuid as uuidlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from belvedere.config import IngestSettings
from belvedere.platform.ids import uuid7_str

MAX_EVENT_NAME = 200
MAX_DISTINCT_ID = 200
MAX_TEXT = 2000  # url, referrer, title, user agent
MIN_TIMESTAMP_MS = 946_684_800_000  # 2000-01-01: earlier stamps are almost always a unit mistake
TYPES = {"track": None, "page": "$pageview", "identify": "$identify", "alias": "$alias"}

REJECTION_CODES = {
    "invalid_event": "The event is not a JSON object.",
    "invalid_type": "`type` is not one of track, page, identify, alias.",
    "missing_event": "A `track` event needs an `event` name.",
    "invalid_event_name": "`event` is not a string of 1 to 200 characters.",
    "invalid_distinct_id": "`distinct_id` is not a string or number of 1 to 200 characters.",
    "missing_distinct_id": "`identify` and `alias` need a `distinct_id`.",
    "missing_alias": "`alias` needs `properties.alias`: the other id, different from `distinct_id`.",
    "invalid_uuid": "`uuid` is not a UUID.",
    "invalid_timestamp": "`timestamp` is neither ISO 8601 nor epoch milliseconds after 2000-01-01.",
    "timestamp_in_future": "`timestamp` is more than the allowed margin in the future.",
    "invalid_properties": "`properties` is not a JSON object.",
    "properties_too_large": "`properties` is larger than the limit once serialised.",
    "invalid_context": "`context` (or one of its fields) has the wrong type.",
    "invalid_ip": "`context.ip` is not an IPv4 or IPv6 address.",
}


class Rejected(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or REJECTION_CODES[code])
        self.code = code
        self.message = message or REJECTION_CODES[code]


@dataclass(slots=True)
class Limits:
    max_properties_bytes: int
    max_future_ms: int

    @classmethod
    def from_settings(cls, ingest: IngestSettings) -> Limits:
        return cls(ingest.max_properties_bytes, ingest.max_future_seconds * 1000)


@dataclass(slots=True)
class ParsedEvent:
    """A valid event before enrichment. ``ip`` and ``user_agent`` are transient: never stored."""

    row: dict[str, Any]
    properties: dict[str, Any]
    ip: str | None
    user_agent: str | None
    client_uuid: bool


def _text(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected("invalid_context", f"`{field}` must be a string.")
    return value[:MAX_TEXT]


def _timestamp_ms(value: Any, now_ms: int, limits: Limits) -> int:
    if value is None:
        return now_ms
    if isinstance(value, bool):
        raise Rejected("invalid_timestamp")
    if isinstance(value, int | float):
        ms = int(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Rejected("invalid_timestamp") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        ms = int(parsed.timestamp() * 1000)
    else:
        raise Rejected("invalid_timestamp")
    if ms < MIN_TIMESTAMP_MS:
        raise Rejected("invalid_timestamp")
    if ms > now_ms + limits.max_future_ms:
        raise Rejected("timestamp_in_future")
    return ms


def _distinct_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Rejected("invalid_distinct_id")
    text = str(value).strip()
    if not text or len(text) > MAX_DISTINCT_ID:
        raise Rejected("invalid_distinct_id")
    return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _event_name(kind: str, raw: dict[str, Any]) -> str:
    fixed = TYPES[kind]
    if fixed is not None:
        return fixed
    name = raw.get("event")
    if name is None or name == "":
        raise Rejected("missing_event")
    if not isinstance(name, str) or len(name) > MAX_EVENT_NAME or not name.strip():
        raise Rejected("invalid_event_name")
    return name


def _context(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    context = raw.get("context") or {}
    if not isinstance(context, dict):
        raise Rejected("invalid_context")
    page = context.get("page") or {}
    if not isinstance(page, dict):
        raise Rejected("invalid_context", "`context.page` must be an object.")
    return context, page


def _ip(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected("invalid_ip")
    return canonical_ip(value)


def canonical_ip(value: str) -> str:
    """The canonical text of an IPv4 or IPv6 address (C parsing: the ipaddress module is 30x slower)."""
    text = value.strip()
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        packed = socket.inet_pton(family, text)
    except (OSError, ValueError):
        raise Rejected("invalid_ip") from None
    return text if family == socket.AF_INET else socket.inet_ntop(family, packed)


def parse_event(raw: Any, *, project_id: int, now_ms: int, limits: Limits) -> ParsedEvent:
    if not isinstance(raw, dict):
        raise Rejected("invalid_event")
    kind = raw.get("type") or "track"
    if kind not in TYPES:
        raise Rejected("invalid_type")
    event = _event_name(kind, raw)
    distinct_id = _distinct_id(raw.get("distinct_id"))
    props = raw.get("properties") if kind != "identify" or "traits" not in raw else raw.get("traits")
    props = {} if props is None else props
    if not isinstance(props, dict):
        raise Rejected("invalid_properties")
    if kind in ("identify", "alias") and distinct_id is None:
        raise Rejected("missing_distinct_id")
    if kind == "alias":
        other = props.get("alias") or raw.get("previous_id")
        if not isinstance(other, str | int) or isinstance(other, bool) or str(other) in ("", distinct_id):
            raise Rejected("missing_alias")
        props = {**props, "alias": str(other)}
    client_uuid = raw.get("uuid")
    if client_uuid is not None:
        try:
            event_uuid = str(uuidlib.UUID(str(client_uuid)))
        except ValueError:
            raise Rejected("invalid_uuid") from None
    timestamp = _timestamp_ms(raw.get("timestamp"), now_ms, limits)
    context, page = _context(raw)
    url = _text(page.get("url") or props.get("$current_url"), "context.page.url")
    referrer = _text(page.get("referrer") or props.get("$referrer"), "context.page.referrer")
    serialized = orjson.dumps(props)
    if len(serialized) > limits.max_properties_bytes:
        raise Rejected(
            "properties_too_large",
            f"`properties` is {len(serialized)} bytes; the limit is {limits.max_properties_bytes}.",
        )
    screen = context.get("screen")
    if isinstance(screen, dict):
        screen = f"{screen.get('width', '')}x{screen.get('height', '')}"
    row: dict[str, Any] = {
        "uuid": event_uuid if client_uuid is not None else uuid7_str(timestamp),
        "project_id": project_id,
        "timestamp": timestamp,
        "received_at": now_ms,
        "event": event,
        "distinct_id": distinct_id,
        "url": url,
        "title": _text(page.get("title") or props.get("$title"), "context.page.title"),
        "referrer": referrer,
        "screen": _text(screen, "context.screen"),
        "locale": _text(context.get("locale"), "context.locale"),
        "properties": serialized.decode(),
        "revenue": _number(props.get("revenue", props.get("$revenue"))),
        "cost": _number(props.get("cost", props.get("$cost"))),
    }
    return ParsedEvent(
        row=row,
        properties=props,
        ip=_ip(context.get("ip")),
        user_agent=_text(context.get("user_agent"), "context.user_agent"),
        client_uuid=client_uuid is not None,
    )
