"""Secrets kept in the metadata database, encrypted (Fernet: AES-128-CBC and HMAC-SHA256) with a key derived
from ``secret_key`` and a purpose: a copy of the database alone yields no authenticator and no webhook
signing secret, and a secret sealed for one purpose does not open for another."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken as Unreadable


class SecretBox:
    def __init__(self, secret_key: str, purpose: str) -> None:
        key = hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The secret, or None when it was sealed under another ``secret_key`` or purpose."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except Unreadable:
            return None
