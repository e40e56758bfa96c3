"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from belvedere.config import AuthSettings

MAX_LENGTH = 256  # Argon2 takes any length; the cap bounds the work an attacker can make us do.


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says which rule and what to do."""


@cache
def common_passwords() -> frozenset[str]:
    """The 20,000 most common passwords of public breach corpora, lower-cased (see docs/security.md)."""
    data = resources.files("belvedere.auth").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


class Passwords:
    def __init__(self, settings: AuthSettings) -> None:
        self._min_length = settings.password_min_length
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        # Verified against when the account does not exist, so that the answer takes as long either way.
        self.decoy = self._hasher.hash("belvedere-decoy-password")

    def check_policy(self, password: str, *, email: str = "") -> None:
        if len(password) < self._min_length:
            raise PasswordRejected(f"Use at least {self._min_length} characters.")
        if len(password) > MAX_LENGTH:
            raise PasswordRejected(f"Use at most {MAX_LENGTH} characters.")
        lowered = password.lower()
        if lowered in common_passwords():
            raise PasswordRejected("This password appears in lists of breached passwords; choose another.")
        if email and lowered == email.lower():
            raise PasswordRejected("The password must not be your email address.")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Constant work whether or not the account exists (pass ``None`` for a missing account)."""
        if len(password) > MAX_LENGTH:
            return False
        try:
            self._hasher.verify(password_hash or self.decoy, password)
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
