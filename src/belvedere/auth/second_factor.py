"""Two-factor primitives: TOTP secrets sealed at rest, codes matched to their time step, recovery codes, and
the enrolment's QR code as SVG markup. No database here: ``auth.two_factor`` holds the use cases."""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno

from belvedere.accounts.keys import hash_key

ISSUER = "Belvedere"
STEP_SECONDS = 30  # RFC 6238's default, what every authenticator app assumes
DRIFT_STEPS = 1  # a code of the step before or after is accepted too (clocks drift, people type slowly)
RECOVERY_CODES = 10
# Recovery codes: 16 characters without look-alikes (0/o, 1/l/i), ~79 bits, so that their SHA-256 suffices.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUP, _GROUPS = 4, 4


# TOTP secrets are sealed for this purpose (the name is part of the key: changing it loses every secret).
TOTP_PURPOSE = "belvedere-totp-secrets"


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as an ``<svg>`` element to put in the page (no inline style: the pages' CSP forbids it),
    dark on white whatever the page's theme, so that cameras read it."""
    code = segno.make(uri, error="m")
    return str(code.svg_inline(scale=4, border=3, dark="#000", light="#fff", svgclass="qr", lineclass=None))


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code ``code`` is, within the allowed drift, or None. Callers accept a step only
    once (``auth.two_factor``), so an observed code cannot be replayed."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    return [
        "-".join("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP)) for _ in range(_GROUPS))
        for _ in range(RECOVERY_CODES)
    ]


def normalise_recovery_code(code: str) -> str | None:
    """The code as stored (lower case, no dashes or spaces), or None if it cannot be a recovery code."""
    plain = "".join(ch for ch in code.lower() if ch not in "- ")
    if len(plain) != _GROUP * _GROUPS or any(ch not in _ALPHABET for ch in plain):
        return None
    return plain


def recovery_code_hash(code: str) -> str:
    """The stored form of a normalised recovery code."""
    return hash_key(code)
