"""The OpenAPI description of ``POST /api/v1/capture``, which is served outside FastAPI for speed."""

from __future__ import annotations

from typing import Any

from belvedere.ingest.validate import REJECTION_CODES

_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["track", "page", "identify", "alias"], "default": "track"},
        "event": {"type": "string", "maxLength": 200, "description": "Required for `track`."},
        "distinct_id": {"type": "string", "maxLength": 200},
        "uuid": {"type": "string", "format": "uuid", "description": "Makes the event idempotent."},
        "timestamp": {
            "description": "ISO 8601 or epoch milliseconds; default: receive time.",
            "oneOf": [{"type": "string"}, {"type": "integer"}],
        },
        "properties": {"type": "object", "description": "At most 32 KB serialised."},
        "context": {
            "type": "object",
            "properties": {
                "ip": {"type": "string"},
                "user_agent": {"type": "string"},
                "page": {
                    "type": "object",
                    "properties": {
                        "url": {"type": "string"},
                        "referrer": {"type": "string"},
                        "title": {"type": "string"},
                    },
                },
                "locale": {"type": "string"},
                "screen": {"oneOf": [{"type": "string"}, {"type": "object"}]},
            },
        },
        "write_key": {"type": "string", "description": "The write key, when no Authorization header is sent"},
        "api_key": {"type": "string", "description": "The write key too, as PostHog's clients send it."},
    },
}

CAPTURE_PATH_ITEM: dict[str, Any] = {
    "post": {
        "tags": ["ingest"],
        "summary": "Send one event or a batch of up to 1,000",
        "description": "Authenticate with the project's write key (`Authorization: Bearer bw_…` "
        "or `api_key` in the body). `Content-Encoding: gzip` is accepted. "
        "A 202 means the accepted events are on disk. "
        "Rejection codes: " + ", ".join(f"`{c}`" for c in REJECTION_CODES) + ".",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            _EVENT,
                            {
                                "type": "object",
                                "required": ["batch"],
                                "properties": {
                                    "batch": {"type": "array", "items": _EVENT, "maxItems": 1000},
                                    "write_key": {"type": "string"},
                                    "api_key": {"type": "string"},
                                },
                            },
                        ]
                    }
                }
            },
        },
        "responses": {
            "202": {
                "description": "Accepted events are durable; invalid ones are listed with a reason.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "accepted": {"type": "integer"},
                                "dropped": {"type": "integer"},
                                "rejected": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    }
                },
            },
            "400": {"description": "Malformed JSON or gzip, or a body that is neither an event nor a batch."},
            "401": {"description": "Missing or unknown write key."},
            "413": {"description": "Body over 5 MB (after decompression) or more than 1,000 events."},
            "503": {"description": "The spool is full; retry after `Retry-After` seconds."},
        },
    },
    "options": {
        "tags": ["ingest"],
        "summary": "CORS preflight",
        "responses": {"204": {"description": "CORS"}},
    },
}
