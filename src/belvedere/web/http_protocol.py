"""The HTTP/1.1 protocol every Belvedere process serves with: uvicorn's httptools protocol, plus deadlines
for the request itself, so that half-sent requests cannot hold connections (and their memory) forever.

- **Headers**: a connection must deliver a request's complete headers within ``header_timeout`` of opening,
  or of the previous response (then uvicorn's keep-alive timeout runs first, for idle connections).
- **Body**: once the headers are in, the whole body must arrive within ``body_timeout``.

Past either, the connection is closed; an application still waiting for the body sees the client go.
The time the application takes to answer is not limited here (the query deadlines do that).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class DeadlineProtocol(HttpToolsProtocol):
    header_timeout = 15.0
    body_timeout = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)  # a connection that never sends a request does not stay

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def protocol(header_timeout: float, body_timeout: float) -> type[DeadlineProtocol]:
    """The protocol class with these deadlines (uvicorn makes one instance per connection)."""
    return type(
        "BelvedereHttp", (DeadlineProtocol,), {"header_timeout": header_timeout, "body_timeout": body_timeout}
    )
