"""A cap on request bodies of the management and query API. The body is read here, up to the cap, before
the framework sees it: a declared ``Content-Length`` over the cap is refused at once, a chunked body as soon
as it passes the cap, so an oversized body is never held in memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit} bytes.")


def declared_too_large(scope: dict[str, Any], limit: int) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value) > limit
            except ValueError:
                return False
    return False


async def read_capped(receive: Receive, limit: int) -> tuple[Receive, bytes]:
    """Read the whole body (at most ``limit`` bytes); return a ``receive`` that replays it, and the body."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: pass that on
            first: MutableMapping[str, Any] = message
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            break
    replayed = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return replay, first.get("body", b"")
