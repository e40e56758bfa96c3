"""Webhook signatures: ``Belvedere-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

The time is inside what is signed, so a receiver that checks it (``verify`` with a tolerance) refuses a
captured request replayed later; the raw body is signed, so the receiver must check the bytes it received
before parsing them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Belvedere-Signature"
DELIVERY_HEADER = "Belvedere-Delivery-Id"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, made within ``tolerance`` seconds of ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
