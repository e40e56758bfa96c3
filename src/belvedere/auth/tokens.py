"""Access tokens and pending-login tokens (JWT, HS256, signed with a key set), and opaque secrets for refresh
and one-time tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt

from belvedere.config import JwtKey, Settings

ISSUER = "belvedere"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is malformed, forged, expired or signed with a key we no longer hold."""


PENDING = "login_pending"  # the `typ` of a token that proves a password, never a session


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    token_version: int
    expires_at: int
    family: str  # the refresh-token family (login session) the token was issued in


def key_set(settings: Settings) -> list[JwtKey]:
    """The configured keys, or one derived from ``secret_key`` so that a default install just works."""
    if settings.auth.jwt_keys:
        return settings.auth.jwt_keys
    derived = hmac.new(settings.secret_key.encode(), b"belvedere-jwt", hashlib.sha256).hexdigest()
    return [JwtKey(kid="default", secret=derived)]


class AccessTokens:
    def __init__(self, keys: list[JwtKey], lifetime_seconds: int) -> None:
        if not keys:
            raise ValueError("at least one JWT key is needed")
        self._signing = keys[0]
        self._by_kid = {k.kid: k.secret for k in keys}
        self.lifetime_seconds = lifetime_seconds

    def issue(self, *, user_id: int, token_version: int, family: str) -> tuple[str, int]:
        return self._sign(user_id, token_version, "access", self.lifetime_seconds, fam=family)

    def issue_pending(self, *, user_id: int, token_version: int, lifetime_seconds: int) -> tuple[str, int]:
        """A token saying "this password was right, the second factor is still to come": it opens no
        session, and the access-token check refuses it (its `typ` differs)."""
        return self._sign(user_id, token_version, PENDING, lifetime_seconds)

    def _sign(
        self, user_id: int, token_version: int, kind: str, lifetime: int, **extra: str
    ) -> tuple[str, int]:
        now = int(time.time())
        expires = now + lifetime
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            "ver": token_version,
            "iat": now,
            "exp": expires,
            "typ": kind,
            **extra,
        }
        token = jwt.encode(
            claims, self._signing.secret, algorithm=ALGORITHM, headers={"kid": self._signing.kid}
        )
        return token, expires

    def verify_pending(self, token: str) -> AccessClaims:
        """The user and token version a pending-login token names (``family`` is empty)."""
        return self.verify(token, kind=PENDING)

    def verify(self, token: str, *, kind: str = "access") -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            secret = self._by_kid.get(str(header.get("kid")))
            if secret is None:
                raise InvalidToken("unknown signing key")
            # The algorithm list is fixed: a token's own `alg` (`none`, RS256 with our secret as a public
            # key…) is never trusted.
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            if claims.get("typ") != kind:
                raise InvalidToken(f"not an {kind} token" if kind == "access" else "not a pending login")
            return AccessClaims(
                int(claims["sub"]), int(claims.get("ver", 0)), int(claims["exp"]), str(claims.get("fam", ""))
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from None

    def session_family(self, token: str) -> str | None:
        try:
            return self.verify(token).family or None
        except InvalidToken:
            return None


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)
