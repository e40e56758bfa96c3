"""Key material: random tokens with a readable prefix, and the hash under which secrets are stored."""

from __future__ import annotations

import hashlib
import secrets

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
