"""The yardstick of bench/scale.py: an ASGI handler that reads the request and answers 202 without any work,
served by uvicorn with uvloop and httptools as Belvedere is. What one process of this machine can answer at
all; a capture process is measured as a fraction of it.

    .venv/bin/python -m uvicorn bench.bare_asgi:app --port 8000 --loop uvloop --http httptools --lifespan off
"""

from __future__ import annotations

from typing import Any

_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 202, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})
