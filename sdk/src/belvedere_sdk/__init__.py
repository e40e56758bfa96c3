"""Belvedere's Python client: ``Belvedere(write_key, host)`` and its ``capture``, ``identify``, ``alias``,
``page``, ``flush`` and ``shutdown``. The standard library only; it imports nothing from the server."""

from belvedere_sdk.client import Belvedere
from belvedere_sdk.transport import SendError

__all__ = ["Belvedere", "SendError"]
__version__ = "0.1.0"
