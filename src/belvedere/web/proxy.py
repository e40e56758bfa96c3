"""A capture worker passes every request but capture to the store owner, over the owner's Unix socket.

The request is read whole (it is capped: the management API's bodies are small) and the answer streamed
back. The client's address travels in ``x-belvedere-peer``, which the owner believes only on its Unix socket
(``peer_from_worker``); a header of that name sent by a client is dropped on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from belvedere.web.errors import error_body, send_error

PEER_HEADER = b"x-belvedere-peer"
# Hop-by-hop headers belong to one connection, not to the request; the length is recomputed.
_NOT_FORWARDED = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"content-length",
    PEER_HEADER,
}


def peer_from_worker(scope: dict[str, Any]) -> bool:
    """On the owner: a request that came through its Unix socket (a worker's) gets the client address the
    worker saw (already resolved past trusted proxies). Whether it did."""
    server = scope.get("server")
    if scope.get("client") is None and server is not None and server[1] is None:
        for name, value in scope["headers"]:
            if name == PEER_HEADER:
                scope["client"] = (value.decode("latin-1"), 0)
                return True
    return False


async def _answer(send: Any, status: int, code: str, message: str) -> None:
    await send_error(send, status, error_body(code, message))


class OwnerProxy:
    def __init__(self, socket_path: Path, *, max_body_bytes: int) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(socket_path)),
            base_url="http://belvedere-owner",
            timeout=httpx.Timeout(300.0, connect=5.0),
        )
        self._max_body = max_body_bytes

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1011})
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self._max_body:
                await _answer(send, 413, "payload_too_large", f"The body exceeds {self._max_body} bytes.")
                return
            if not message.get("more_body", False):
                break
        headers = [(k, v) for k, v in scope["headers"] if k not in _NOT_FORWARDED]
        if scope.get("client"):
            headers.append((PEER_HEADER, scope["client"][0].encode("latin-1")))
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        request = self._client.build_request(
            scope["method"], target.decode("latin-1"), headers=headers, content=bytes(body)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError:
            message = "The server is starting or restarting; retry shortly."
            await _answer(send, 502, "owner_unavailable", message)
            return
        try:
            out = [(k, v) for k, v in response.headers.raw if k.lower() not in _NOT_FORWARDED]
            if "content-length" in response.headers:
                out.append((b"content-length", response.headers["content-length"].encode()))
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()
