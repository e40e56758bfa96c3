"""Public links to a dashboard: read-only, revocable, optionally behind a password.

The link carries the dashboard id, a random nonce and an HMAC of both under the install's secret key. The
database keeps only the nonce, so a copy of the database alone cannot make a working link; revoking clears
the nonce and every link made from it stops working at once; sharing again makes a new nonce.

A password-protected link, once the password is given, sets a cookie holding an HMAC over the dashboard,
its nonce and its password hash: changing the password or revoking the link invalidates that cookie too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy.orm import Session

from belvedere.dashboards.models import Dashboard

_TOKEN = re.compile(r"^([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{16,64})\.([0-9a-f]{32})$")


def _sign(secret: str, *parts: object) -> str:
    message = ":".join(str(p) for p in parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def share(board: Dashboard, secret: str, *, password_hash: str | None) -> str:
    """Share (or re-share, which revokes earlier links) and return the link's token."""
    board.share_nonce = secrets.token_urlsafe(18)
    board.share_password_hash = password_hash
    return token_of(board, secret)


def token_of(board: Dashboard, secret: str) -> str:
    if board.share_nonce is None:
        raise ValueError("this dashboard is not shared")
    return f"{board.id}.{board.share_nonce}.{_sign(secret, 'share', board.id, board.share_nonce)}"


def revoke(board: Dashboard) -> None:
    board.share_nonce = None
    board.share_password_hash = None


def resolve(session: Session, token: str, secret: str) -> Dashboard | None:
    """The shared dashboard a token opens, or None (malformed, forged, revoked or re-shared)."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    board_id, nonce, signature = int(match[1]), match[2], match[3]
    if not hmac.compare_digest(signature, _sign(secret, "share", board_id, nonce)):
        return None
    board = session.get(Dashboard, board_id)
    if board is None or board.share_nonce is None or not hmac.compare_digest(board.share_nonce, nonce):
        return None
    return board


def unlock_cookie_name(board: Dashboard) -> str:
    return f"bv_share_{board.id}"


def unlock_value(board: Dashboard, secret: str) -> str:
    return _sign(secret, "unlock", board.id, board.share_nonce, board.share_password_hash)


def unlocked(board: Dashboard, secret: str, cookie: str | None) -> bool:
    if board.share_password_hash is None:
        return True
    return cookie is not None and hmac.compare_digest(cookie, unlock_value(board, secret))
