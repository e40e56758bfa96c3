"""``belvedere serve --role capture``: a process that only takes events, for the scale-out mode.

It answers the capture endpoint as a capture worker does (validate, enrich, leave the person and the visit as
hints) but appends to the shared ingest stream (``ingest.stream``) instead of a spool of its own, so that
any number of them, on any machines, feed the one process that owns the event store. Besides capture it
answers ``/health`` (the stream reachable and not full) and ``/metrics``; every other path is 404, with the
reason. It needs the metadata database (write keys, plans, quotas) and the stream, nothing else.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST

from belvedere.ingest.worker import CaptureWorker
from belvedere.platform import heap
from belvedere.platform.metrics import RouteTimer
from belvedere.web import compat_capture
from belvedere.web.capture import CAPTURE_PATH, CaptureEndpoint, capture_timed
from belvedere.web.client_address import ClientAddress

log = structlog.get_logger(__name__)

MAINTAIN_SECONDS = 15.0  # salts and usage counters, as a capture worker keeps them


class CaptureServer:
    def __init__(self, worker: CaptureWorker) -> None:
        settings = worker.settings
        self.worker = worker
        self.capture = CaptureEndpoint.of(worker)
        self.compat = compat_capture.CompatEndpoint(self.capture)
        self._timer = RouteTimer(worker.metrics.http_seconds)
        self._client_address = ClientAddress(settings.server.trusted_proxies, settings.server.proxy_ip_header)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        self._client_address.resolve(scope)
        if scope["type"] == "http" and scope["path"] == CAPTURE_PATH:
            await capture_timed(self.capture, self._timer, scope, receive, send)
        elif scope["type"] == "http" and compat_capture.handles(scope["path"]):
            route = compat_capture.route(scope["path"])
            await capture_timed(self.compat, self._timer, scope, receive, send, route)
        else:
            await self._other(scope, receive, send)

    async def _other(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Every path but capture (a capture worker passes them to the owner instead)."""
        if scope["type"] != "http":
            return
        if scope["path"] == "/health":
            await self._health(send)
        elif scope["path"] == "/metrics":
            self.worker.publish_metrics()
            await _answer(send, 200, self.worker.metrics.render(), CONTENT_TYPE_LATEST.encode())
        else:
            message = f"this process only captures events ({CAPTURE_PATH})"
            await _answer(send, 404, orjson.dumps({"error": {"code": "not_found", "message": message}}))

    async def _health(self, send: Any) -> None:
        stream = self.worker.stream
        assert stream is not None
        detail: dict[str, object]
        try:
            depth = await asyncio.to_thread(lambda: stream.depth_bytes)
            ok, detail = depth < stream.max_bytes, {"depth_bytes": depth, "max_bytes": stream.max_bytes}
        except Exception as exc:  # Redis unreachable
            ok, detail = False, {"error": f"{type(exc).__name__}: {exc}"}
        body = {"status": "ok" if ok else "unavailable", "role": "capture", "stream": detail}
        await _answer(send, 200 if ok else 503, orjson.dumps(body))

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        try:
            await asyncio.to_thread(self.worker.start)
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
            return
        heap.settle()
        upkeep = asyncio.create_task(self._upkeep())
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        upkeep.cancel()
        await asyncio.to_thread(self.worker.stop)
        await self._closed()
        await send({"type": "lifespan.shutdown.complete"})

    async def _closed(self) -> None:
        """After the worker stopped, before the process ends."""

    async def _upkeep(self) -> None:
        while True:
            await asyncio.sleep(MAINTAIN_SECONDS)
            try:
                await asyncio.to_thread(self.worker.maintain)
            except Exception:
                log.exception("capture.upkeep_failed")


async def _answer(send: Any, status: int, body: bytes, content_type: bytes = b"application/json") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
